// Each role as a maintainer reads it in a message, and the keys that govern it: which model entry
// of `.github/missions.yml` it runs on and which variable caps its turns.
import type { Role } from './runtime.ts';

export const ROLE_NAMES: Record<Role, string> = {
  planner: 'the planner',
  worker: 'the worker',
  scrutiny: 'the scrutiny validator',
  'user-testing': 'the user-testing validator',
  triage: 'triage',
};

/** The `models.*` key of `.github/missions.yml` whose model the role runs on. */
export const MODEL_KEYS: Record<Role, 'orchestrator' | 'worker' | 'validator'> = {
  planner: 'orchestrator',
  triage: 'orchestrator',
  worker: 'worker',
  scrutiny: 'validator',
  'user-testing': 'validator',
};

/** The environment variable that caps the role's turns per run. */
export const TURN_VARIABLES: Record<Role, string> = {
  planner: 'MISSIONS_PLANNER_TURNS',
  triage: 'MISSIONS_PLANNER_TURNS',
  worker: 'MISSIONS_WORKER_TURNS',
  scrutiny: 'MISSIONS_WORKER_TURNS',
  'user-testing': 'MISSIONS_WORKER_TURNS',
};
