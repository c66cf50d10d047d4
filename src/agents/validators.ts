// The validators: fresh contexts that never saw the implementation, each on a throwaway checkout of
// the milestone's commit, with read-only file tools and bash in the sandbox. Scrutiny reviews the
// milestone's diff and runs the checks; user-testing verifies each assertion behaviourally.
import { fileTools } from './file-tools.ts';
import { z } from 'zod';
import type { Plan } from '../mission/plan.ts';
import type { RepoFiles } from '../workspace/repo-files.ts';
import type { RepoCommands } from '../workspace/repo-commands.ts';
import type { Sandbox } from '../workspace/sandbox.ts';
import { sandboxedBash } from './bash-tool.ts';
import { finishTool } from './finish-tool.ts';
import { runAgent, type AgentRunOptions } from './runtime.ts';
import { loadSkills, renderSkills } from './skills.ts';

export const findingSchema = z.object({
  severity: z.enum(['blocker', 'major', 'minor']),
  path: z.string().min(1),
  line: z.number().int().positive().optional(),
  title: z.string().trim().min(1),
  detail: z.string().trim().min(1),
});

export const reviewSchema = z.object({
  verdict: z.enum(['approve', 'request_changes']),
  summary: z.string().trim().min(1),
  findings: z.array(findingSchema),
});

export const verdictsSchema = z.object({
  results: z
    .array(
      z.object({
        assertion_id: z.string().min(1),
        status: z.enum(['pass', 'fail', 'blocked']),
        evidence: z.string().trim().min(1, 'evidence must quote what you ran and saw'),
        command: z.string().min(1).optional(),
      }),
    )
    .min(1),
});

export type Finding = z.infer<typeof findingSchema>;
export type Review = z.infer<typeof reviewSchema>;
export type Verdicts = z.infer<typeof verdictsSchema>;

export const submitReview = finishTool({
  name: 'submit_review',
  description: 'Finish the review: the verdict, a summary, and every finding with the file and line it concerns.',
  schema: reviewSchema,
});

export function submitVerdicts(assertionIds: string[]) {
  return finishTool({
    name: 'submit_verdicts',
    description: 'Finish with a verdict for every assertion of the milestone, each with the evidence (the command you ran and what it printed).',
    schema: verdictsSchema,
    // Every assertion of the milestone needs a verdict; verdicts on others are kept as extra evidence.
    check: (value) => {
      const given = new Set(value.results.map((r) => r.assertion_id));
      const twice = value.results.map((r) => r.assertion_id).filter((id, i, all) => all.indexOf(id) !== i);
      return [
        ...assertionIds.filter((id) => !given.has(id)).map((id) => `${id} has no verdict: give it pass, fail or blocked with evidence`),
        ...[...new Set(twice)].map((id) => `${id} has more than one verdict: give one`),
      ];
    },
  });
}

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
}

type Runtime = Omit<AgentRunOptions, 'role' | 'system' | 'prompt' | 'tools' | 'finishTools'>;

const READ_TOOLS = ['read', 'glob', 'grep'];
const MAX_DIFF = 60_000;

function tools(input: ValidationInput) {
  return [...fileTools(input.sandbox.checkout, READ_TOOLS), sandboxedBash(input.sandbox, { network: input.network })];
}

async function system(role: 'scrutiny' | 'user-testing', input: ValidationInput): Promise<string> {
  return [
    `You are the ${role} validator of Missions, a GitHub App that runs long autonomous coding missions from issues.`,
    `The repository ${input.owner}/${input.repo} is checked out at your working directory at the milestone's commit; paths are relative to it. Nothing you change there is kept.`,
    renderSkills(await loadSkills(role, input.base)),
  ].join('\n\n');
}

function contractText(input: ValidationInput): string {
  const statement = new Map(input.contract.assertions.map((a) => [a.id, a.statement]));
  return input.assertionIds.map((id) => `- **${id}** ${statement.get(id) ?? ''}`).join('\n');
}

function commandsText(commands: RepoCommands): string {
  const entries = Object.entries(commands).filter(([k]) => k !== 'setup');
  return entries.length ? entries.map(([k, v]) => `- ${k}: \`${v}\``).join('\n') : '(none configured or detected)';
}

export async function runScrutiny(input: ValidationInput, runtime: Runtime): Promise<Review> {
  const diff = input.diff.length > MAX_DIFF ? `${input.diff.slice(0, MAX_DIFF)}\n[diff truncated: read the files for the rest]` : input.diff;
  const prompt = [
    `# Milestone ${input.milestone} of "${input.contract.title}"`,
    input.contract.summary,
    '## What the milestone must satisfy',
    contractText(input),
    "## The repository's checks (run them yourself)",
    commandsText(input.commands),
    "## The repository's own CI on this commit",
    input.ci,
    '## The milestone diff',
    `\`\`\`diff\n${diff}\n\`\`\``,
    'Review it adversarially, run the checks, then call submit_review.',
  ].join('\n\n');
  const result = await runAgent({ ...runtime, role: 'scrutiny', system: await system('scrutiny', input), prompt, tools: tools(input), finishTools: [submitReview] });
  return result.finish.value as Review;
}

export async function runUserTesting(input: ValidationInput, runtime: Runtime): Promise<Verdicts> {
  const prompt = [
    `# Milestone ${input.milestone} of "${input.contract.title}"`,
    input.contract.summary,
    '## The assertions to verify',
    contractText(input),
    "## The repository's commands",
    commandsText(input.commands),
    "## The repository's own CI on this commit",
    input.ci,
    'Verify each assertion through the repository’s real entry points, then call submit_verdicts.',
  ].join('\n\n');
  const result = await runAgent({
    ...runtime,
    role: 'user-testing',
    system: await system('user-testing', input),
    prompt,
    tools: tools(input),
    finishTools: [submitVerdicts(input.assertionIds)],
  });
  return result.finish.value as Verdicts;
}
