// What both validators share: fresh contexts that never saw the implementation, each on a throwaway
// checkout of the milestone's commit, with read-only file tools and bash in the sandbox. Each role's
// own module (scrutiny.ts, user-testing.ts) adds its finish tool and prompt.
import type { Plan } from '../mission/plan.ts';
import type { RepoFiles } from '../workspace/repo-files.ts';
import type { RepoCommands } from '../workspace/repo-commands.ts';
import type { Sandbox } from '../workspace/sandbox.ts';
import { sandboxedBash } from './bash-tool.ts';
import { fileTools } from './file-tools.ts';
import type { AgentRunOptions } from './runtime.ts';
import { loadSkills, renderSkills } from './skills.ts';

export interface ValidationInput {
  owner: string;
  repo: string;
  contract: Plan;
  milestone: string;
  /** The assertions to verify this round. */
  assertionIds: string[];
  /** The milestone's diff (base..commit), for scrutiny. */
  diff: string;
  commands: RepoCommands;
  /** The repository's own CI on the commit, in words. */
  ci: string;
  network: boolean;
  sandbox: Sandbox;
  base: RepoFiles;
  /** For scrutiny in a later round: the previous round's findings and what triage did with each. */
  previousFindings?: string[];
}

export type Runtime = Omit<AgentRunOptions, 'role' | 'system' | 'context' | 'prompt' | 'tools' | 'finishTools'>;

const READ_TOOLS = ['read', 'glob', 'grep'];

export function validatorTools(input: ValidationInput) {
  return [...fileTools(input.sandbox.checkout, READ_TOOLS), sandboxedBash(input.sandbox, { network: input.network })];
}

export async function validatorSystem(role: 'scrutiny' | 'user-testing', input: ValidationInput): Promise<string> {
  return [
    `You are the ${role} validator of Missions, a GitHub App that runs long autonomous coding missions from issues.`,
    `The repository ${input.owner}/${input.repo} is checked out at your working directory at the milestone's commit; paths are relative to it. Nothing you change there is kept.`,
    renderSkills(await loadSkills(role, input.base)),
  ].join('\n\n');
}
