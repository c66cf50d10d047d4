// The app's own environment (PRODUCT.md §5), validated at start. Probot and the Anthropic SDK read
// their own variables themselves.
import { resolve } from 'node:path';
import { z } from 'zod';

const settingsSchema = z.object({
  MISSIONS_DATA_DIR: z.string().min(1).default('./.data'),
  DATABASE_URL: z.string().min(1).optional(),
  MISSIONS_ROLE: z.enum(['all', 'web', 'worker']).default('all'),
  MISSIONS_PLANNER_TURNS: z.coerce.number().int().positive().default(60),
  MISSIONS_WORKER_TURNS: z.coerce.number().int().positive().default(200),
});

export interface Settings {
  dataDir: string;
  databaseUrl?: string;
  role: 'all' | 'web' | 'worker';
  plannerTurns: number;
  workerTurns: number;
}

export function readSettings(env: NodeJS.ProcessEnv): Settings {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const s = parsed.data;
  return {
    dataDir: resolve(s.MISSIONS_DATA_DIR),
    ...(s.DATABASE_URL ? { databaseUrl: s.DATABASE_URL } : {}),
    role: s.MISSIONS_ROLE,
    plannerTurns: s.MISSIONS_PLANNER_TURNS,
    workerTurns: s.MISSIONS_WORKER_TURNS,
  };
}

/** GitHub's API root: github.com, or GitHub Enterprise Server when GHE_HOST is set (as Probot reads it). */
export function githubBaseUrl(env: NodeJS.ProcessEnv): string | undefined {
  return env.GHE_HOST ? `${env.GHE_PROTOCOL || 'https'}://${env.GHE_HOST}/api/v3` : undefined;
}
