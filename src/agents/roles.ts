// What every role shares, defined once per role: how a maintainer reads its name, which entry of
// `.github/missions.yml` gives its model and effort, which variable caps its turns, and how many
// tokens a turn may hold. Each role's own module (planner, worker, scrutiny, user-testing, triage)
// adds its tools, finish tool and prompt.
import type { MissionsConfig } from '../config.ts';
import type { Role } from './runtime.ts';

export interface RoleLimits {
  /** How a maintainer reads the role in a message. */
  name: string;
  /** The `models.*` and `effort.*` key of `.github/missions.yml`. */
  configKey: 'orchestrator' | 'worker' | 'validator';
  /** The environment variable that caps the role's turns per run. */
  turnVariable: 'MISSIONS_PLANNER_TURNS' | 'MISSIONS_WORKER_TURNS';
  /**
   * max_tokens per turn. Adaptive thinking shares it with the reply, so it is sized for both: a
   * worker writing a whole file after thinking, a planner writing the whole plan.
   */
  maxTokens: number;
}

export const ROLES: Record<Role, RoleLimits> = {
  planner: { name: 'the planner', configKey: 'orchestrator', turnVariable: 'MISSIONS_PLANNER_TURNS', maxTokens: 64_000 },
  worker: { name: 'the worker', configKey: 'worker', turnVariable: 'MISSIONS_WORKER_TURNS', maxTokens: 64_000 },
  scrutiny: { name: 'the scrutiny validator', configKey: 'validator', turnVariable: 'MISSIONS_WORKER_TURNS', maxTokens: 32_000 },
  'user-testing': { name: 'the user-testing validator', configKey: 'validator', turnVariable: 'MISSIONS_WORKER_TURNS', maxTokens: 32_000 },
  triage: { name: 'triage', configKey: 'orchestrator', turnVariable: 'MISSIONS_PLANNER_TURNS', maxTokens: 32_000 },
};

/** The model and effort a role runs with under `config`. */
export function modelOf(role: Role, config: Pick<MissionsConfig, 'models' | 'effort'>): { model: string; effort: MissionsConfig['effort']['worker'] } {
  const key = ROLES[role].configKey;
  return { model: config.models[key], effort: config.effort[key] };
}
