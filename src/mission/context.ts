// What a mission job needs from the outside world, passed in so tests can give local servers.
import type Anthropic from '@anthropic-ai/sdk';
import type { Logger } from 'pino';
import { modelOf, ROLES } from '../agents/roles.ts';
import type { AgentRunOptions, Role } from '../agents/runtime.ts';
import type { MissionsConfig } from '../config.ts';
import { cancelledNow } from './cancellation.ts';
import { botLogin } from '../github/authorship.ts';
import type { GitHub } from '../github/repository.ts';
import type { JobQueue } from '../store/queue.ts';
import type { MissionStore } from '../store/missions.ts';
import type { Workspaces } from '../workspace/checkout.ts';

export interface MissionContext {
  store: MissionStore;
  queue: JobQueue;
  /** An Octokit authenticated as the installation. */
  github(installationId: number): Promise<GitHub>;
  /** The app's slug (from GET /app), which names its bot account and so its commits' author. */
  appSlug(): Promise<string>;
  model: Anthropic;
  workspaces: Workspaces;
  log: Logger;
  /** Turn caps per run; how long a file tool may take (tests shorten it). */
  limits: { plannerTurns: number; workerTurns: number; toolTimeoutMs?: number };
  /** Paths agent commands must never see (the data directory with the database). */
  hiddenPaths: string[];
  /** Prompt caching on (default) or off, for measuring what it saves. */
  caching?: boolean;
  /** Where users reach the app (MISSIONS_PUBLIC_URL): the board, the pull request and the summary link to Mission Control. */
  publicUrl?: string | undefined;
}

/** The mission's page in Mission Control, when users can reach the app. */
export const missionPageUrl = (ctx: Pick<MissionContext, 'publicUrl'>, id: number): string | undefined => (ctx.publicUrl ? `${ctx.publicUrl.replace(/\/$/, '')}/missions/${id}` : undefined);

/** The app's bot login, the only author whose comments, reviews and pull requests are the app's. */
export const appBot = async (ctx: Pick<MissionContext, 'appSlug'>): Promise<string> => botLogin(await ctx.appSlug());

/**
 * What a role's run takes from the mission, defined once: the client, the store that records the run
 * (what it works on: `subject`), its usage and transcript, its model and effort, its turn cap (by ROLES), and, once the mission is
 * building, the watch that stops it when the mission is cancelled. Planning is not watched: its
 * step checks the state itself before showing anything.
 */
export function agentRuntime(ctx: MissionContext, missionId: number, role: Role, config: Pick<MissionsConfig, 'models' | 'effort'>, subject: string, log: Logger = ctx.log) {
  return {
    client: ctx.model,
    recorder: ctx.store,
    log,
    missionId,
    subject,
    ...modelOf(role, config),
    maxTurns: ROLES[role].turnVariable === 'MISSIONS_PLANNER_TURNS' ? ctx.limits.plannerTurns : ctx.limits.workerTurns,
    ...(ctx.limits.toolTimeoutMs ? { toolTimeoutMs: ctx.limits.toolTimeoutMs } : {}),
    ...(ctx.caching === undefined ? {} : { caching: ctx.caching }),
    ...(role === 'planner' ? {} : { interrupted: async () => (await cancelledNow(ctx.store, missionId))?.message ?? null }),
  } satisfies Omit<AgentRunOptions, 'role' | 'system' | 'context' | 'prompt' | 'tools' | 'finishTools'>;
}
