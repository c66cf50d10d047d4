// What stopped a step, in one sentence a maintainer can act on: never a stack trace, never a secret.
import Anthropic from '@anthropic-ai/sdk';
import { AgentGaveUp } from '../agents/runtime.ts';
import { SecretInCommit } from '../workspace/branch.ts';
import { CheckoutError } from '../workspace/checkout.ts';

export class ConfigInvalid extends Error {
  constructor(problems: string[]) {
    super(`\`.github/missions.yml\` is invalid: ${problems.join('; ')}`);
  }
}

/** The repository's setup command failed; the message carries the end of its output. */
export class SetupFailed extends Error {
  constructor(command: string, exitCode: number | null, tail: string) {
    super(`the setup command \`${command}\` ${exitCode === null ? 'was killed' : `exited ${exitCode}`}${tail ? `:\n\n\`\`\`\n${tail}\n\`\`\`` : ''}`);
  }
}

export function describeFailure(error: unknown, during: 'planning' | 'building'): string {
  if (error instanceof ConfigInvalid) return `${error.message}. Fix the file on the default branch.`;
  if (error instanceof CheckoutError) return `${during === 'planning' ? 'The repository could not be cloned' : 'Git failed'}: ${error.message}.`;
  if (error instanceof SetupFailed) return `The repository could not be set up: ${error.message}`;
  if (error instanceof SecretInCommit) return `Stopped before committing: ${error.message}.`;
  if (error instanceof AgentGaveUp) return `The planner could not produce a valid plan: ${error.message}.`;
  if (error instanceof Anthropic.APIConnectionError) return 'The model API could not be reached, even after retries.';
  if (error instanceof Anthropic.APIError) {
    const type = (error.error as { error?: { type?: string } } | undefined)?.error?.type ?? 'error';
    return `The model API failed with ${error.status ?? 'no status'} (${type}), even after retries.`;
  }
  const { status, request } = error as { status?: number; request?: { method?: string; url?: string } };
  if (typeof status === 'number') {
    const what = request?.url ? `${request.method} ${new URL(request.url).pathname}` : 'a request';
    return `GitHub answered ${status} to ${what}, even after retries.`;
  }
  return `${during === 'planning' ? 'Planning' : 'Building'} stopped on an unexpected error: ${(error as Error)?.message ?? String(error)}.`;
}
