// What a mission job needs from the outside world, passed in so tests can give local servers.
import type Anthropic from '@anthropic-ai/sdk';
import type { Logger } from 'pino';
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
}

/** The app's bot login, the only author whose comments, reviews and pull requests are the app's. */
export const appBot = async (ctx: Pick<MissionContext, 'appSlug'>): Promise<string> => botLogin(await ctx.appSlug());
