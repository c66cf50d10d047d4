// Keeping the mission comment current. Posting is guarded by the marker in the comment itself, so a
// job that died after posting but before recording the id finds its comment instead of posting twice.
import { MISSION_MARKER, readMissionMarker, renderMissionComment, type MissionView } from '../github/mission-comment.ts';
import type { GitHub } from '../github/repository.ts';
import type { Mission, MissionStore, Revision } from '../store/missions.ts';
import type { Plan } from './plan.ts';

export async function ensureMissionComment(gh: GitHub, store: MissionStore, mission: Mission): Promise<number> {
  if (mission.comment_id) return mission.comment_id;
  const ref = { owner: mission.owner, repo: mission.repo, issue_number: mission.issue_number };
  const comments = await gh.paginate(gh.rest.issues.listComments, { ...ref, per_page: 100 });
  const existing = comments.find((c) => c.body?.includes(MISSION_MARKER) && readMissionMarker(c.body)?.missionId === mission.id);
  let id = existing?.id;
  if (!id) {
    await gh.rest.reactions.createForIssue({ ...ref, content: 'eyes' });
    const body = renderMissionComment({ kind: 'planning', missionId: mission.id, startedBy: mission.started_by });
    id = (await gh.rest.issues.createComment({ ...ref, body })).data.id;
  }
  await store.setCommentId(mission.id, id);
  mission.comment_id = id;
  return id;
}

export async function showMission(gh: GitHub, store: MissionStore, mission: Mission, view: MissionView): Promise<void> {
  const comment_id = await ensureMissionComment(gh, store, mission);
  await gh.rest.issues.updateComment({ owner: mission.owner, repo: mission.repo, comment_id, body: renderMissionComment(view) });
}

/** The view of a mission's latest plan with a given status, for the failed and cancelled banners. */
export async function latestPlanView(store: MissionStore, mission: Mission): Promise<{ revision?: number; change?: string; plan?: Plan }> {
  const latest: Revision | null = await store.latestPlan(mission.id);
  return latest ? { revision: latest.number, change: latest.change, plan: latest.body as Plan } : {};
}

/** Marks the app's replies so the planner leaves them out of the thread it reads. */
export const REPLY_MARKER = '<!-- missions:reply -->';

export async function reply(gh: GitHub, mission: { owner: string; repo: string }, issueNumber: number, body: string): Promise<void> {
  await gh.rest.issues.createComment({ owner: mission.owner, repo: mission.repo, issue_number: issueNumber, body: `${REPLY_MARKER}\n${body}` });
}
