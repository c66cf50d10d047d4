// Every reply the app posts in a thread, in one place: the words a maintainer reads, and the post
// itself (marked, so a reader of the thread can tell them apart). Replies are posted, never found
// again: a reply said twice after a crash is better than one never said.
import type { Handoff } from '../agents/worker.ts';
import { describeState, stateName } from '../mission/lifecycle.ts';
import type { LastAttempt, Mission } from '../store/missions.ts';
import type { GitHub, RepoRef } from './repository.ts';

const REPLY_MARKER = '<!-- missions:reply -->';

export async function reply(gh: GitHub, ref: RepoRef, issueNumber: number, body: string): Promise<void> {
  await gh.rest.issues.createComment({ owner: ref.owner, repo: ref.repo, issue_number: issueNumber, body: `${REPLY_MARKER}\n${body}` });
}

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
    `@${actor} \`/${command}\` needs write access to this repository; nothing changed. (Further commands from you on this mission get no answer.)`,
  notApprover: (actor: string, permission: string, approvers: string[]) =>
    `@${actor} \`/approve\` needs one of these permissions on this repository: ${approvers.join(', ')} (you have ${permission}). Nothing changed.`,
  unknown: (actor: string, command: string) =>
    `@${actor} \`/${command}\` is not a Missions command. The commands are:\n\n${COMMAND_HELP.map((l) => `- ${l}`).join('\n')}`,
  approved: (actor: string, revision: number, features: number, assertions: number, added: string[]) =>
    `@${actor} approved **revision ${revision}**: the contract (${assertions} assertions over ${features} features) is locked.` +
    (added.length ? ` Lines you added got ids ${added.join(', ')}.` : '') +
    ' Building starts now, one feature at a time; the mission comment shows where it stands.',
  approveRejectedEdits: (actor: string, problems: string[]) =>
    `@${actor} the contract in the mission comment cannot be approved as it stands:\n\n${problems.map((p) => `- ${p}`).join('\n')}\n\nFix the checklist (or reply with what should change), then \`/approve\` again.`,
  approveChangedPlan: (actor: string, revision: number) =>
    `@${actor} the mission comment changed after you wrote \`/approve\`${revision ? ` (it shows revision ${revision} now)` : ''}, so nothing was locked. Read it, then \`/approve\` again.`,
  nothingToApprove: (actor: string, mission: Mission) => `@${actor} there is nothing to approve: ${describeState(mission)}.`,
  cancelled: (actor: string) => `@${actor} cancelled the mission. Label the issue again to start a new one.`,
  alreadyOver: (actor: string, command: string, mission: Mission) =>
    `@${actor} \`/${command}\` changes nothing: ${describeState(mission)}.`,
  retrying: (actor: string) => `@${actor} retrying planning.`,
  retryingBuild: (actor: string, feature: string | undefined) =>
    feature ? `@${actor} going on: building **${feature}** from the last pushed commit.` : `@${actor} going on from the last pushed commit: its milestone is validated again.`,
  paused: (actor: string) => `@${actor} the mission will hold before its next step. \`/resume\` goes on.`,
  resumed: (actor: string, feature: string | undefined) => `@${actor} resuming: ${feature ? `**${feature}** is next` : 'validation is next'}.`,
  notPaused: (actor: string, command: string, mission: Mission) => `@${actor} \`/${command}\` changes nothing: ${describeState(mission)}.`,
  approveOnIssue: (actor: string) => `@${actor} \`/approve\` works on the mission's issue, while a plan awaits approval.`,
  workerStopped: (feature: string, title: string, handoff: Handoff, from: string) =>
    [
      `⏸️ **Mission paused.** The worker of **${feature}** ${title} handed off \`${handoff.status}\`. In its words:`,
      '',
      quote(handoff.summary),
      ...(handoff.left_undone.length ? ['', '**Left undone:**', ...handoff.left_undone.map((l) => `- ${oneLine(l)}`)] : []),
      ...(handoff.issues_found.length ? ['', '**Issues found:**', ...handoff.issues_found.map((i) => `- (${i.severity}) ${oneLine(i.description)}`)] : []),
      '',
      `Nothing of this attempt was committed. Reply \`/retry\` to build ${feature} again from ${from}, or \`/cancel\`.`,
    ].join('\n'),
  /** What the first of a feature's two attempts handed off, added to the pause after the second. */
  firstAttempt: (attempt: LastAttempt) =>
    [`The attempt before this one ${attempt.status === 'failed' ? 'stopped without a handoff' : `handed off \`${attempt.status}\``}:`, '', quote(attempt.summary), ...(attempt.left_undone.length ? ['', '**Left undone then:**', ...attempt.left_undone.map((l) => `- ${oneLine(l)}`)] : [])].join('\n'),
  workerGaveUp: (feature: string, title: string, why: string, from: string, hint: string) =>
    `⏸️ **Mission paused.** The worker of **${feature}** ${title} stopped without a handoff: ${why}. Nothing of this attempt was committed.${hint} Reply \`/retry\` to build ${feature} again from ${from}, or \`/cancel\`.`,
  validationStopped: (milestone: string, what: string, failing: string[], prUrl: string, failed: boolean) =>
    `⏸️ **Mission paused at milestone ${milestone}:** ${what}.${failing.length ? ` Not passed: ${failing.join(', ')}.` : ''} The findings are in the review on the [pull request](${prUrl}), which stays a draft. Reply \`/retry\` ${failed ? 'to validate the milestone again' : 'for one more round of fixes and validation'}, \`/fix <what to change>\` on the pull request to add a fix yourself, or \`/cancel\`.`,
  buildFailed: (what: string) => `⚠️ **Mission stopped.** ${what} Reply \`/retry\` to go on from the last pushed commit, or \`/cancel\`.`,
  budgetReached: (kind: 'usd' | 'hours', spent: number, hours: number, budget: { max_usd: number; max_hours: number }, next: string) =>
    `⏸️ **Mission paused: ${kind === 'usd' ? 'budget' : 'time budget'} reached.** It has spent $${spent.toFixed(2)} of its $${budget.max_usd} budget (\`budget.max_usd\`) and run ${hours.toFixed(1)} of ${budget.max_hours} hours (\`budget.max_hours\`). ${next} is next and was not started. To go on, raise \`${kind === 'usd' ? 'budget.max_usd' : 'budget.max_hours'}\` in \`.github/missions.yml\` on the default branch, then reply \`/retry\`.`,
  nothingToRetry: (actor: string, mission: Mission) => `@${actor} nothing has failed, so there is nothing to retry: ${describeState(mission)}.`,
  notWhilePlanning: (actor: string, command: string, mission: Mission) =>
    `@${actor} \`/${command}\` applies once a mission is building; ${describeState(mission)}.`,
  fixNeedsText: (actor: string) => `@${actor} \`/fix\` needs a description of what to fix, e.g. \`/fix the greeting must end with a newline\`. Nothing changed.`,
  fixAdded: (actor: string, featureId: string, building: boolean) =>
    `@${actor} added fix feature **${featureId}**. ${building ? 'It is built next, then its milestone is validated again.' : 'It is built once the mission goes on (`/resume` or `/retry`), then its milestone is validated again.'}`,
  fixOnPullRequest: (actor: string) => `@${actor} \`/fix\` works on the mission's pull request, once building has opened it.`,
  status: (actor: string, mission: Mission, now: string, elapsed: string, cost: string) =>
    `@${actor} **Mission status**\n\n- State: ${stateName(mission.state)}\n- Now: ${now}\n- Elapsed: ${elapsed}\n- Cost so far: ${cost}`,
  invalidConfig: (problems: string[]) =>
    `⚠️ Missions cannot start: \`.github/missions.yml\` is invalid.\n\n${problems.map((p) => `- ${p}`).join('\n')}\n\nFix the file on the default branch, then label the issue again (or reply \`/retry\` on a running mission). Nothing ran.`,
};

const quote = (text: string) => text.trim().split('\n').map((l) => `> ${l}`).join('\n');
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
