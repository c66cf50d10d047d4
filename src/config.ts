// `.github/missions.yml`: every key optional, every key described, validated with zod. The schema
// is the documentation: missions.schema.json (for editors) is generated from it, and a test holds
// the README's configuration section to the same keys, defaults and descriptions.
import { z } from 'zod';

const permission = z.enum(['admin', 'maintain', 'write', 'triage', 'read']);
const effort = z.enum(['low', 'medium', 'high', 'xhigh', 'max']);

export const DEFAULT_LABEL = 'mission';

export const DEFAULT_MODELS = {
  orchestrator: 'claude-opus-5-5',
  worker: 'claude-sonnet-5-5',
  validator: 'claude-opus-5-5',
} as const;

export const missionsConfigSchema = z
  .object({
    label: z.string().min(1).default(DEFAULT_LABEL).describe('the issue label that starts a mission'),
    approvers: z
      .array(permission)
      .min(1)
      .default(['admin', 'maintain', 'write'])
      .describe('repository permissions whose holders may /approve'),
    models: z
      .object({
        orchestrator: z.string().min(1).default(DEFAULT_MODELS.orchestrator).describe('plans and triages'),
        worker: z.string().min(1).default(DEFAULT_MODELS.worker).describe('builds features'),
        validator: z.string().min(1).default(DEFAULT_MODELS.validator).describe('checks milestones'),
      })
      .strict()
      .prefault({})
      .describe('the Claude model of each role'),
    effort: z
      .object({
        orchestrator: effort.default('high').describe('the planner and triage think hard: the contract and the fix decisions steer everything after'),
        worker: effort.default('medium').describe('workers build one feature at a time, from a plan'),
        validator: effort.default('high').describe('validators look for what is wrong'),
      })
      .strict()
      .prefault({})
      .describe("the API's output_config.effort of each role (low, medium, high, xhigh, max)"),
    commands: z
      .object({
        setup: z.string().min(1).optional().describe('installs dependencies, once per mission and dependency state; with the network, unless sandbox.network is false and the mission changed a file it reads (a manifest, a lockfile, a script it names)'),
        test: z.string().min(1).optional().describe('runs the tests'),
        lint: z.string().min(1).optional().describe('runs the linter'),
        typecheck: z.string().min(1).optional().describe('checks the types'),
      })
      .strict()
      .prefault({})
      .describe('what workers and validators run; detected from the repository when absent'),
    budget: z
      .object({
        max_usd: z.number().positive().default(25).describe('estimated USD per mission; at the limit the mission pauses and says so'),
        max_hours: z.number().positive().default(48).describe('wall-clock hours since approval, pauses included'),
      })
      .strict()
      .prefault({})
      .describe('limits per mission, checked before each feature and each validation'),
    validation: z
      .object({
        max_fix_rounds: z.number().int().min(0).max(20).default(3).describe('rounds of fix features per milestone before the mission stops'),
        ci_timeout_minutes: z.number().int().min(0).default(30).describe("how long validators wait for the repository's own CI"),
      })
      .strict()
      .prefault({})
      .describe('how each milestone is validated'),
    sandbox: z
      .object({
        network: z.boolean().default(false).describe('may agent commands reach the network (setup may while the mission has not changed what it reads)'),
      })
      .strict()
      .prefault({})
      .describe('what agent commands may do'),
  })
  .strict();

export type MissionsConfig = z.infer<typeof missionsConfigSchema>;

/** The file's JSON Schema for editors (missions.schema.json): the keys as written, defaults included. */
export function configJsonSchema(): object {
  return { title: 'Missions configuration (.github/missions.yml)', ...z.toJSONSchema(missionsConfigSchema, { io: 'input', target: 'draft-7' }) };
}

export const CONFIG_PATH = '.github/missions.yml';

/** An invalid file still names its label when it can: only that label, by a trusted user, is answered. */
export type ConfigResult = { ok: true; config: MissionsConfig } | { ok: false; problems: string[]; label: string };

/** Validates what the config loader read (null when the file is absent) into a config or named problems. */
export function parseConfig(raw: unknown): ConfigResult {
  const result = missionsConfigSchema.safeParse(raw ?? {});
  if (result.success) return { ok: true, config: result.data };
  const label = (raw as { label?: unknown } | null)?.label;
  return { ok: false, problems: result.error.issues.map(describeIssue), label: typeof label === 'string' && label ? label : DEFAULT_LABEL };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length ? issue.path.join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${issue.path.join('.')}.` : '';
    return `\`${issue.keys.map((k) => where + k).join('`, `')}\`: unknown key; allowed here: ${allowedKeysAt(issue.path)}`;
  }
  if (issue.code === 'invalid_value') {
    return `\`${key}\`: must be one of ${issue.values.map((v) => `\`${String(v)}\``).join(', ')}`;
  }
  return `\`${key}\`: ${issue.message}`;
}

function allowedKeysAt(path: PropertyKey[]): string {
  let schema: z.ZodType = missionsConfigSchema;
  for (const part of path) {
    const shape = shapeOf(schema);
    if (!shape || typeof part !== 'string' || !shape[part]) return 'see the README';
    schema = shape[part];
  }
  const shape = shapeOf(schema);
  return shape ? Object.keys(shape).map((k) => `\`${k}\``).join(', ') : 'see the README';
}

function shapeOf(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let s: any = schema;
  // Unwrap defaults and optionals down to the object.
  while (s && !s.shape && s.def?.innerType) s = s.def.innerType;
  return s?.shape;
}
