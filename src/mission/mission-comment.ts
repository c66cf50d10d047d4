// Keeping the mission comment current. A job that died after posting but before recording the id
// finds its comment (the app's own, by author and marker) instead of posting twice.
import { editMissionComment, findMissionComment, postMissionComment, type MissionThread, type MissionView } from '../github/mission-comment.ts';
import type { GitHub } from '../github/repository.ts';
import type { Mission, MissionStore, Revision } from '../store/missions.ts';
import { appBot, type MissionContext } from './context.ts';
import type { Plan } from './plan.ts';

type Ctx = Pick<MissionContext, 'store' | 'appSlug'>;

export async function missionThread(ctx: Ctx, mission: Mission): Promise<MissionThread> {
  return { owner: mission.owner, repo: mission.repo, issue_number: mission.issue_number, bot: await appBot(ctx) };
}

export async function ensureMissionComment(ctx: Ctx, gh: GitHub, mission: Mission): Promise<number> {
  if (mission.comment_id) return mission.comment_id;
  const thread = await missionThread(ctx, mission);
  const id =
    (await findMissionComment(gh, thread, mission.id)) ??
    (await postMissionComment(gh, thread, { kind: 'planning', missionId: mission.id, startedBy: mission.started_by }));
  await ctx.store.setCommentId(mission.id, id);
  mission.comment_id = id;
  return id;
}

/** Shows `view` in the mission comment; a comment someone deleted is posted again. */
export async function showMission(ctx: Ctx, gh: GitHub, mission: Mission, view: MissionView): Promise<void> {
  const ref = { owner: mission.owner, repo: mission.repo };
  try {
    await editMissionComment(gh, ref, await ensureMissionComment(ctx, gh, mission), view);
  } catch (error) {
    if ((error as { status?: number }).status !== 404) throw error;
    await ctx.store.forgetComment(mission.id);
    mission.comment_id = null;
    await editMissionComment(gh, ref, await ensureMissionComment(ctx, gh, mission), view);
  }
}

/** The view of a mission's latest plan with a given status, for the failed and cancelled banners. */
export async function latestPlanView(store: MissionStore, mission: Mission): Promise<{ revision?: number; change?: string; plan?: Plan }> {
  const latest: Revision | null = await store.latestPlan(mission.id);
  return latest ? { revision: latest.number, change: latest.change, plan: latest.body as Plan } : {};
}
