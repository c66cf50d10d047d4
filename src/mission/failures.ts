// What stopped a step, in one sentence a maintainer can act on: never a stack trace, never a secret.
import { AgentGaveUp, ModelCallFailed, ModelRefused } from '../agents/runtime.ts';
import { ROLES } from '../agents/roles.ts';
import { SecretInCommit } from '../workspace/branch.ts';
import { CheckoutError } from '../workspace/checkout.ts';

export class ConfigInvalid extends Error {
  constructor(problems: string[]) {
    super(`\`.github/missions.yml\` is invalid: ${problems.join('; ')}`);
  }
}

/** The repository's setup command failed; the message carries the end of its output. */
export class SetupFailed extends Error {
  constructor(command: string, exitCode: number | null, tail: string, network = true) {
    // Offline because the mission changed what setup reads, with `sandbox.network: false`: say so,
    // since that is the likely reason and the fix is the maintainer's choice.
    const offline = network ? '' : ' It ran without the network: this mission changed files setup reads (a manifest or lockfile), and `sandbox.network` is false. Set `sandbox.network: true` in `.github/missions.yml` if the mission may add dependencies.';
    super(`the setup command \`${command}\` ${exitCode === null ? 'was killed' : `exited ${exitCode}`}${tail ? `:\n\n\`\`\`\n${tail}\n\`\`\`` : ''}${offline}`);
  }
}

/** A validation step in which no run could give its word: every run's reason, as one failure. */
export class ValidationFailed extends Error {
  constructor(reasons: string[]) {
    super([...new Set(reasons)].join(' '));
  }
}

/**
 * A run worth running once more, in a fresh context: one that ended badly (gave up, refused), or one
 * the API failed for a passing reason the SDK's own retries did not outlast (no answer, 429, 5xx,
 * overloaded). A key the API refuses, a model that does not exist, a request it rejects, or a bug
 * would fail the same way again, so those stop the step at once.
 */
export function worthAnotherRun(error: unknown): error is AgentGaveUp | ModelRefused | ModelCallFailed {
  if (error instanceof AgentGaveUp || error instanceof ModelRefused) return true;
  return error instanceof ModelCallFailed && (error.connection || error.status === undefined || error.status === 429 || error.status >= 500);
}

export function describeFailure(error: unknown, during: 'planning' | 'building' | 'validating'): string {
  if (error instanceof ConfigInvalid) return `${error.message}. Fix the file on the default branch.`;
  if (error instanceof CheckoutError) return `${during === 'planning' ? 'The repository could not be read' : 'Git failed'}: ${error.message}.`;
  if (error instanceof SetupFailed) return `The repository could not be set up: ${error.message}`;
  if (error instanceof SecretInCommit) return `Stopped before committing: ${error.message}.`;
  if (error instanceof ValidationFailed) return error.message;
  if (error instanceof AgentGaveUp) return describeGaveUp(error);
  if (error instanceof ModelCallFailed) return describeModelFailure(error);
  if (error instanceof ModelRefused) return describeRefusal(error);
  const { status, request } = error as { status?: number; request?: { method?: string; url?: string } };
  if (typeof status === 'number') {
    const what = request?.url ? `${request.method} ${new URL(request.url).pathname}` : 'a request';
    return `GitHub answered ${status} to ${what}, even after retries.`;
  }
  const step = { planning: 'Planning', building: 'Building', validating: 'Validation' }[during];
  return `${step} stopped on an unexpected error: ${(error as Error)?.message ?? String(error)}.`;
}

function describeGaveUp(error: AgentGaveUp): string {
  const what = error.role === 'planner' ? 'The planner could not produce a valid plan' : `${capitalised(ROLES[error.role].name)} gave up`;
  return `${what}: ${error.message}.${turnCapHint(error)}`;
}

/** Where to raise a role's turn cap, for a run that used every turn; empty otherwise. */
export function turnCapHint(error: AgentGaveUp): string {
  return error.turnCap ? ` If the work needs more turns, raise \`${ROLES[error.role].turnVariable}\` where the app runs.` : '';
}

/** The API's own words, and the key that fixes it where there is one. */
function describeModelFailure(error: ModelCallFailed): string {
  const who = ROLES[error.role].name;
  const modelKey = `\`models.${ROLES[error.role].configKey}\` in \`.github/missions.yml\``;
  const words = code(error.apiMessage);
  const model = code(error.model);
  const said = `${error.status ?? 'no answer'} ${error.type}: ${words}`;
  if (error.connection) return `The model API could not be reached for ${who}, even after retries (${words}). Check \`ANTHROPIC_BASE_URL\` and the network where the app runs.`;
  if (error.status === 404) return `The model ${model} of ${who} was not found (${said}). Check ${modelKey}.`;
  if (error.status === 401) return `The model API refused the app's key for ${who} (${said}). Check \`ANTHROPIC_API_KEY\` where the app runs.`;
  if (error.status === 403) return `The model API did not let the app's key use ${model} for ${who} (${said}). Check \`ANTHROPIC_API_KEY\`, or ${modelKey}.`;
  if (error.status === 400) return `The model API refused the request of ${who} on ${model} (${said}). If the model does not support it, change ${modelKey}.`;
  return `The model API failed for ${who} on ${model} (${said}), even after retries.`;
}

/** A refusal is the role's own: named, with its model, never blamed on another role. */
function describeRefusal(error: ModelRefused): string {
  return `The model ${code(error.model)} of ${ROLES[error.role].name} refused to go on (stop reason \`refusal\`, twice). Reword what it was asked (the issue, the plan or a \`/fix\`), or change \`models.${ROLES[error.role].configKey}\` in \`.github/missions.yml\`.`;
}

const capitalised = (text: string) => text[0]!.toUpperCase() + text.slice(1);

/** Text from elsewhere (the API's words, a configured model id) as a one-line code span: in a comment it can mention nobody and link nowhere. */
const code = (text: string) => `\`${text.replace(/`/g, "'").replace(/\s+/g, ' ')}\``;
