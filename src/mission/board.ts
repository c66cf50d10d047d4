// The live status of a building mission, shown in two places from the same data: the mission
// comment on the issue (the status board) and the body of the draft pull request. Both are edited
// in place; nothing is re-posted.
import type { StackEntry } from '../github/mission-comment.ts';
import { renderMissionComment } from '../github/mission-comment.ts';
import { pullRequestTitle, renderPullRequestBody } from '../github/pull-request.ts';
import type { GitHub } from '../github/repository.ts';
import type { FeatureRow, Mission, MissionStore } from '../store/missions.ts';
import { ensureMissionComment } from './mission-comment.ts';
import type { Plan } from './plan.ts';

export function stackOf(features: FeatureRow[]): StackEntry[] {
  return features.map((f) => ({ id: f.id, title: f.title, milestone: f.milestone, state: f.state, commit: f.commit_sha }));
}

/** One line on where a building mission stands, and the command that goes on when it is stopped. */
export function buildStatus(mission: Mission, features: FeatureRow[]): string {
  const next = features.find((f) => f.state !== 'committed');
  const position = next ? `${features.indexOf(next) + 1} of ${features.length}` : '';
  switch (mission.state) {
    case 'building':
      return next ?
          `🔨 building **${next.id}** ${next.title} (${position})`
        : `🔨 all ${features.length} features are committed`;
    case 'paused': {
      const before = next ? ` before **${next.id}** ${next.title} (${position})` : '';
      const how = mission.pause_reason === 'user' ? '`/resume` goes on' : '`/retry` goes on';
      return `⏸️ paused${before}: ${mission.stop_note ?? 'held'}. ${how}.`;
    }
    case 'built':
      return `✅ all ${features.length} features are built and pushed`;
    case 'failed':
      return `⚠️ stopped${next ? ` at **${next.id}**` : ''}: ${mission.error ?? 'an error'} \`/retry\` goes on.`;
    case 'cancelled':
      return '✋ cancelled; the branch and the pull request stay as they are';
    default:
      return mission.state;
  }
}

export function pullRequestUrl(mission: Mission): string {
  return `https://github.com/${mission.owner}/${mission.repo}/pull/${mission.pr_number}`;
}

/** Re-renders the mission comment and, once it exists, the pull request body from the store. */
export async function showBoard(gh: GitHub, store: MissionStore, missionId: number, options: { pullRequest?: boolean } = {}): Promise<void> {
  const mission = await store.get(missionId);
  const features = await store.features(missionId);
  const plan = mission.contract as Plan;
  const status = buildStatus(mission, features);
  const comment_id = await ensureMissionComment(gh, store, mission);
  await gh.rest.issues.updateComment({
    owner: mission.owner,
    repo: mission.repo,
    comment_id,
    body: renderMissionComment({
      kind: 'board',
      missionId,
      revision: mission.approved_revision ?? 0,
      plan,
      approvedBy: mission.approved_by ?? 'unknown',
      features: stackOf(features),
      status,
      ...(mission.pr_number ? { pullRequest: { number: mission.pr_number, url: pullRequestUrl(mission) } } : {}),
      ...(mission.branch ? { branch: mission.branch } : {}),
    }),
  });
  if (mission.pr_number && options.pullRequest !== false) {
    await gh.rest.pulls.update({
      owner: mission.owner,
      repo: mission.repo,
      pull_number: mission.pr_number,
      title: pullRequestTitle(mission.issue_number, plan.title),
      body: renderPullRequestBody({ missionId, issueNumber: mission.issue_number, plan, features: stackOf(features), status }),
    });
  }
}
