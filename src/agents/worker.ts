// The worker role: a fresh context per feature with the repository tools (file tools confined to
// the checkout, bash in the sandbox), finishing with submit_handoff.
import { fileTools } from './file-tools.ts';
import { z } from 'zod';
import type { Feature, Plan } from '../mission/plan.ts';
import type { Sandbox } from '../workspace/sandbox.ts';
import type { RepoCommands } from '../workspace/repo-commands.ts';
import { sandboxedBash } from './bash-tool.ts';
import { finishTool } from './finish-tool.ts';
import { runAgent, type AgentRunOptions } from './runtime.ts';
import { loadSkills, renderSkills } from './skills.ts';
import { checkoutFiles, type RepoFiles } from '../workspace/repo-files.ts';

export const handoffSchema = z.object({
  status: z.enum(['complete', 'partial', 'blocked']),
  summary: z.string().trim().min(1, 'summary must say what was done'),
  commands_run: z.array(z.object({ command: z.string().min(1), exit_code: z.number().int(), observation: z.string().optional() })),
  left_undone: z.array(z.string()),
  issues_found: z.array(z.object({ severity: z.enum(['blocking', 'non_blocking']), description: z.string().min(1) })),
});

export type Handoff = z.infer<typeof handoffSchema>;

export const submitHandoff = finishTool({
  name: 'submit_handoff',
  description:
    'Finish the feature with a structured handoff. The app commits whatever is in the checkout when the status is complete; partial or blocked pauses the mission.',
  schema: handoffSchema,
});

export interface WorkerInput {
  owner: string;
  repo: string;
  issueNumber: number;
  contract: Plan;
  /** The feature to build: one of the plan's, or a fix feature triage added. */
  feature: Feature & { fixFor?: string | null };
  /** Every feature in build order, fix features included. */
  features: Pick<Feature, 'id' | 'title'>[];
  previous: { featureId: string; title: string; handoff: Handoff | null }[];
  commands: RepoCommands;
  network: boolean;
  sandbox: Sandbox;
  /** The repository as the mission branch started (skills come from there, not from the checkout). */
  base: RepoFiles;
}

const FILE_TOOLS = ['read', 'write', 'edit', 'glob', 'grep'];
const CONTEXT_FILES = ['AGENTS.md', 'CLAUDE.md'];
const MAX_CONTEXT_FILE = 20_000;

export async function runWorker(
  input: WorkerInput,
  runtime: Omit<AgentRunOptions, 'role' | 'system' | 'prompt' | 'tools' | 'finishTools'>,
): Promise<{ handoff: Handoff; usd: number; turns: number }> {
  const checkout = input.sandbox.checkout;
  // File tools confined to the checkout by the SDK; an empty env for anything they spawn.
  const files = fileTools(checkout, FILE_TOOLS);
  const system = [
    'You are a worker of Missions, a GitHub App that runs long autonomous coding missions from issues.',
    `The repository ${input.owner}/${input.repo} is checked out at your working directory; paths are relative to it.`,
    renderSkills(await loadSkills('worker', input.base)),
  ].join('\n\n');
  const result = await runAgent({
    ...runtime,
    role: 'worker',
    system,
    prompt: await workerPrompt(input),
    tools: [...files, sandboxedBash(input.sandbox, { network: input.network })],
    finishTools: [submitHandoff],
  });
  return { handoff: result.finish.value as Handoff, usd: result.usd, turns: result.turns };
}

export async function workerPrompt(input: WorkerInput): Promise<string> {
  const { contract } = input;
  const { feature } = input;
  const statement = new Map(contract.assertions.map((a) => [a.id, a.statement]));
  const parts = [
    `# Mission for issue #${input.issueNumber}: ${contract.title}`,
    contract.summary,
    `# Your feature: ${feature.id} ${feature.title} (milestone ${feature.milestone})`,
    feature.description,
    ...(feature.fixFor ? [`This is a fix feature: the validators of milestone ${feature.fixFor.replace('#', ', round ')} found what it must repair. Their reviews are on the pull request; the description above says what failed.`] : []),
    '## The assertions it completes',
    feature.assertion_ids.length ? feature.assertion_ids.map((id) => `- **${id}** ${statement.get(id) ?? '(unknown)'}`).join('\n') : '(none: it prepares later features)',
    '# The whole validation contract',
    contract.features.flatMap((f) => f.assertion_ids.map((id) => `- **${id}** ${statement.get(id) ?? ''} — ${f.id}`)).join('\n'),
    '# The features, in build order',
    input.features.map((f) => `- ${f.id} ${f.title}${f.id === feature.id ? ' ← yours' : ''}`).join('\n'),
  ];
  if (input.previous.length) {
    parts.push('# Handoffs of the features already built');
    for (const p of input.previous) {
      parts.push(
        p.handoff ?
          `## ${p.featureId} ${p.title}\n\n${p.handoff.summary}${p.handoff.left_undone.length ? `\n\nLeft undone:\n${p.handoff.left_undone.map((l) => `- ${l}`).join('\n')}` : ''}${p.handoff.issues_found.length ? `\n\nIssues found:\n${p.handoff.issues_found.map((i) => `- (${i.severity}) ${i.description}`).join('\n')}` : ''}`
        : `## ${p.featureId} ${p.title}\n\n(committed; no handoff was kept)`,
      );
    }
  }
  const commands = Object.entries(input.commands);
  parts.push('# The repository\'s commands', commands.length ? commands.map(([k, v]) => `- ${k}: \`${v}\``).join('\n') : '(none configured or detected)');
  if (input.commands.setup) parts.push('`setup` has already run in this checkout.');
  for (const name of CONTEXT_FILES) {
    const text = await checkoutFiles(input.sandbox.checkout).read(name);
    if (text !== null) parts.push(`# ${name} (from the repository)\n\n${text.slice(0, MAX_CONTEXT_FILE)}`);
  }
  parts.push(`Build ${feature.id} now, then call submit_handoff.`);
  return parts.join('\n\n');
}
