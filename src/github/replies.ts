// Every reply the app posts in a thread, in one place: the words a maintainer reads.
import type { Mission } from '../store/missions.ts';

export const COMMAND_HELP = [
  '`/approve` (issue, while a plan awaits approval): lock the contract and start building',
  '`/cancel`: stop the mission; the branch and PR stay as they are',
  '`/pause`, `/resume`: hold before the next step; go on from where it stopped',
  '`/retry`: retry the step that failed',
  '`/status`: the state, the current step, elapsed time and cost so far',
  '`/fix <text>` (PR): add a fix feature, build it, validate again',
];

export const replies = {
  untrusted: (actor: string, command: string) =>
    `@${actor} \`/${command}\` needs write access to this repository; nothing changed.`,
  notApprover: (actor: string, permission: string, approvers: string[]) =>
    `@${actor} \`/approve\` needs one of these permissions on this repository: ${approvers.join(', ')} (you have ${permission}). Nothing changed.`,
  unknown: (actor: string, command: string) =>
    `@${actor} \`/${command}\` is not a Missions command. The commands are:\n\n${COMMAND_HELP.map((l) => `- ${l}`).join('\n')}`,
  approved: (actor: string, revision: number, features: number, assertions: number, added: string[]) =>
    `@${actor} approved **revision ${revision}**: the contract (${assertions} assertions over ${features} features) is locked.` +
    (added.length ? ` Lines you added got ids ${added.join(', ')}.` : ''),
  approveRejectedEdits: (actor: string, problems: string[]) =>
    `@${actor} the contract in the mission comment cannot be approved as it stands:\n\n${problems.map((p) => `- ${p}`).join('\n')}\n\nFix the checklist (or reply with what should change), then \`/approve\` again.`,
  nothingToApprove: (actor: string, mission: Mission) => `@${actor} there is nothing to approve: ${describeState(mission)}.`,
  cancelled: (actor: string) => `@${actor} cancelled the mission. Label the issue again to start a new one.`,
  alreadyOver: (actor: string, command: string, mission: Mission) =>
    `@${actor} \`/${command}\` changes nothing: ${describeState(mission)}.`,
  retrying: (actor: string) => `@${actor} retrying planning.`,
  nothingToRetry: (actor: string, mission: Mission) => `@${actor} nothing has failed, so there is nothing to retry: ${describeState(mission)}.`,
  notWhilePlanning: (actor: string, command: string, mission: Mission) =>
    `@${actor} \`/${command}\` applies once a mission is building; ${describeState(mission)}.`,
  fixOnPullRequest: (actor: string) => `@${actor} \`/fix\` works on the mission's pull request, once building has opened it.`,
  status: (actor: string, mission: Mission, elapsed: string, cost: string) =>
    `@${actor} **Mission status**\n\n- State: ${mission.state}\n- Now: ${describeState(mission)}\n- Elapsed: ${elapsed}\n- Cost so far: ${cost}`,
  invalidConfig: (problems: string[]) =>
    `⚠️ Missions cannot start: \`.github/missions.yml\` is invalid.\n\n${problems.map((p) => `- ${p}`).join('\n')}\n\nFix the file on the default branch, then label the issue again (or reply \`/retry\` on a running mission). Nothing ran.`,
  questions: (questions: string[]) =>
    `**Before I plan this mission, a few questions:**\n\n${questions.map((q, i) => `${i + 1}. ${q}`).join('\n')}\n\nReply in this issue; your answers continue the planning.`,
};

export function describeState(mission: Mission): string {
  switch (mission.state) {
    case 'planning':
      return mission.revision ? `the planner is preparing revision ${mission.revision + 1}` : 'the planner is preparing the first plan';
    case 'questions':
      return 'the planner is waiting for answers to its questions';
    case 'awaiting_approval':
      return `revision ${mission.rendered_revision} of the plan awaits \`/approve\``;
    case 'approved':
      return `revision ${mission.approved_revision} was approved by @${mission.approved_by}; the contract is locked`;
    case 'failed':
      return `the last step failed (${mission.error ?? 'unknown error'}); \`/retry\` tries again`;
    case 'cancelled':
      return 'the mission was cancelled';
    case 'done':
      return 'the mission is done';
  }
}

export function formatDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return `${Math.round(ms / 1000)}s`;
  const h = Math.floor(minutes / 60);
  return h ? `${h}h ${minutes % 60}m` : `${minutes}m`;
}
