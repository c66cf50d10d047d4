// Runs mission jobs from the queue: intake jobs (labels, comments) and mission steps.
import type { MissionContext } from './context.ts';
import { intake } from './intake.ts';
import { planningStep } from './planning.ts';

export async function startMissionWorker(ctx: MissionContext): Promise<void> {
  await ctx.queue.work({
    intake: (job) => intake(ctx, job),
    step: ({ missionId }) => planningStep(ctx, missionId),
  });
}
