// Runs mission jobs from the queue: intake jobs (labels, comments) and mission steps.
import type { MissionContext } from './context.ts';
import { intake } from './intake.ts';
import { buildStep } from './build.ts';
import { planningStep } from './planning.ts';
import { rateLimitWait } from '../github/economy.ts';
import { showBoard } from './board.ts';

export async function startMissionWorker(ctx: MissionContext): Promise<void> {
  // A mission that is building always has a step on its way; one lost to a crash between a state
  // change and its request is requested again here (requests for a waiting step merge).
  for (const missionId of await ctx.store.building()) await ctx.queue.requestStep({ missionId });
  await ctx.queue.work({
    intake: (job) => intake(ctx, job),
    // A mission with a locked contract builds; before that, it plans.
    step: async ({ missionId }) => {
      const mission = await ctx.store.get(missionId);
      // Little left of the installation's GitHub rate limit: the step is put off until the window
      // resets (its worker slot free meanwhile) rather than fail a write half way through.
      const wait = rateLimitWait(mission.installation_id);
      if (wait) {
        ctx.log.warn({ missionId, installationId: mission.installation_id, waitSeconds: Math.round(wait / 1000) }, 'GitHub rate limit nearly spent: the step is put off until it resets');
        // The previous step left the board to this one: it shows where the mission stands meanwhile.
        if (mission.contract) await showBoard(ctx, await ctx.github(mission.installation_id), missionId);
        return ctx.queue.requestStep({ missionId }, wait);
      }
      return mission.contract ? buildStep(ctx, missionId) : planningStep(ctx, missionId);
    },
  });
}
