// The live status of a building mission, shown in two places from the same data: the mission
// comment on the issue (the status board) and the body of the draft pull request. Both are edited
// in place; nothing is re-posted.
import type { AssertionResult, MissionView, StackEntry } from '../github/mission-comment.ts';
import { editPullRequestBody } from '../github/pull-request.ts';
import type { GitHub } from '../github/repository.ts';
import type { FeatureRow, Mission, MissionStore } from '../store/missions.ts';
import { missionPageUrl, type MissionContext } from './context.ts';
import { buildStatus } from './lifecycle.ts';
import { showMission } from './mission-comment.ts';
import type { Plan } from './plan.ts';

type Ctx = Pick<MissionContext, 'store' | 'appSlug' | 'publicUrl'>;

export function stackOf(features: FeatureRow[], mission: Pick<Mission, 'state'>): StackEntry[] {
  return features.map((f) => ({
    id: f.id,
    title: f.title,
    milestone: f.milestone,
    state: f.state === 'building' && mission.state !== 'building' ? 'held' : f.state,
    commit: f.commit_sha,
  }));
}

/**
 * Re-renders the mission comment and, once it exists, the pull request body from the store. The
 * intake job (commands) and the build step both call this; when the mission changed while it was
 * being shown, it is shown again, so the last write is never a stale picture.
 */
export async function showBoard(ctx: Ctx, gh: GitHub, missionId: number, options: { pullRequest?: boolean; board?: boolean } = {}): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const shown = await snapshot(ctx.store, missionId);
    await render(ctx, gh, shown.mission, shown.features, shown.results, options);
    if ((await snapshot(ctx.store, missionId)).key === shown.key) return;
  }
}

async function snapshot(store: MissionStore, missionId: number) {
  const mission = await store.get(missionId);
  const features = await store.features(missionId);
  const results = await assertionResults(store, missionId);
  const key = JSON.stringify([
    mission.state,
    mission.pause_reason,
    mission.stop_note,
    mission.error,
    mission.activity,
    mission.pr_number,
    features.map((f) => [f.id, f.state, f.commit_sha]),
    [...results],
  ]);
  return { mission, features, results, key };
}

/** Each assertion's newest verdict, as the checklists show it (a validator's words, redacted when stored). */
export async function assertionResults(store: MissionStore, missionId: number): Promise<Map<string, AssertionResult>> {
  const verdicts = await store.latestVerdicts(missionId);
  return new Map([...verdicts].map(([id, v]) => [id, { status: v.status, reason: v.evidence }]));
}

async function render(
  ctx: Ctx,
  gh: GitHub,
  mission: Mission,
  features: FeatureRow[],
  results: Map<string, AssertionResult>,
  options: { pullRequest?: boolean; board?: boolean },
): Promise<void> {
  const plan = mission.contract as Plan;
  const status = buildStatus(mission, features);
  const view: MissionView = {
    kind: 'board',
    missionId: mission.id,
    revision: mission.approved_revision ?? 0,
    plan,
    approvedBy: mission.approved_by ?? 'unknown',
    features: stackOf(features, mission),
    status,
    ...(mission.pr_number && mission.pr_url ? { pullRequest: { number: mission.pr_number, url: mission.pr_url } } : {}),
    ...(mission.branch ? { branch: mission.branch } : {}),
    results,
    ready: mission.state === 'done',
    page: missionPageUrl(ctx, mission.id),
  };
  if (options.board !== false) await showMission(ctx, gh, mission, view);
  if (mission.pr_number && options.pullRequest !== false) {
    await editPullRequestBody(gh, { owner: mission.owner, repo: mission.repo }, mission.pr_number, {
      missionId: mission.id,
      issueNumber: mission.issue_number,
      plan,
      features: stackOf(features, mission),
      status,
      results,
      page: missionPageUrl(ctx, mission.id),
    });
  }
}
