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
import type { RepoFiles } from '../workspace/repo-files.ts';
import type { LastAttempt, RoundItem } from '../store/missions.ts';
import { commandsText, contextFiles, contractLines, itemLines, missionSection, type Briefing } from './briefing.ts';

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
    'Finish the feature with a structured handoff. The app commits whatever is in the checkout when the status is complete; partial or blocked commits nothing: the feature is tried once more by a fresh worker told what you handed off, then the mission pauses for a maintainer. Say honestly what is left.',
  schema: handoffSchema,
});

export interface WorkerInput {
  owner: string;
  repo: string;
  issueNumber: number;
  contract: Plan;
  /** The feature to build: one of the plan's, or a fix feature triage added. */
  feature: Feature & { fixFor?: string | null };
  /** For a fix feature: what its round found that it must repair, with the evidence. */
  fixing?: RoundItem[];
  /** A previous worker run of this feature that did not complete it. */
  lastAttempt?: LastAttempt | null;
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

export async function runWorker(
  input: WorkerInput,
  runtime: Omit<AgentRunOptions, 'role' | 'system' | 'context' | 'prompt' | 'tools' | 'finishTools'>,
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
    ...(await workerBriefing(input)),
    tools: [...files, sandboxedBash(input.sandbox, { network: input.network })],
    finishTools: [submitHandoff],
  });
  return { handoff: result.finish.value as Handoff, usd: result.usd, turns: result.turns };
}

export async function workerBriefing(input: WorkerInput): Promise<Briefing> {
  const { contract, feature } = input;
  // Told alike to every worker of the mission: the mission, the whole contract, the commands.
  const context = [
    ...missionSection(contract, input.issueNumber),
    '# The whole validation contract',
    contractLines(contract),
    "# The repository's commands",
    commandsText(input.commands, { setup: true }),
    ...(input.commands.setup ? ['`setup` has already run in this checkout.'] : []),
    ...(await contextFiles(input.sandbox.checkout)),
  ];
  const parts = [`# Your feature: ${feature.id} ${feature.title} (milestone ${feature.milestone})`, feature.description];
  const round = /^(M\d+)#(\d+)$/.exec(feature.fixFor ?? '');
  if (feature.fixFor && !round) parts.push(`This is a fix a maintainer asked for on the pull request (${feature.fixFor}): the description above is their request.`);
  if (round) {
    const [, milestone, number] = round;
    parts.push(
      `This is a fix feature: validators of milestone ${milestone}, round ${number}, found what it must repair. What they found, with their evidence (the validators will check it again):`,
      input.fixing?.length ? itemLines(input.fixing) : '(the description above says what failed)',
    );
  }
  parts.push('## The assertions it completes', feature.assertion_ids.length ? contractLines(contract, feature.assertion_ids) : '(none: it prepares later features)');
  if (input.lastAttempt) {
    const a = input.lastAttempt;
    parts.push(
      '## An earlier attempt at this feature',
      `A worker before you tried this feature and ended \`${a.status}\`; none of its changes were kept: you start from the last pushed commit. Learn from it, do not repeat it.\n\n${a.summary}${list('Left undone', a.left_undone)}${list('Issues found', a.issues_found.map((i) => `(${i.severity}) ${i.description}`))}`,
    );
  }
  parts.push('# The features, in build order', input.features.map((f) => `- ${f.id} ${f.title}${f.id === feature.id ? ' ← yours' : ''}`).join('\n'));
  if (input.previous.length) {
    parts.push('# Handoffs of the features already built (read `git log` for their commits)');
    for (const p of input.previous) {
      const h = p.handoff;
      parts.push(
        h ?
          `## ${p.featureId} ${p.title}\n\n${h.summary}${list('Commands run', h.commands_run.map((c) => `\`${c.command}\` → exit ${c.exit_code}${c.observation ? `: ${c.observation}` : ''}`))}${list('Left undone', h.left_undone)}${list('Issues found', h.issues_found.map((i) => `(${i.severity}) ${i.description}`))}`
        : `## ${p.featureId} ${p.title}\n\n(committed; no handoff was kept)`,
      );
    }
  }
  parts.push(`Build ${feature.id} now, then call submit_handoff.`);
  return { context: context.join('\n\n'), prompt: parts.join('\n\n') };
}

const list = (title: string, items: string[]) => (items.length ? `\n\n${title}:\n${items.map((l) => `- ${l}`).join('\n')}` : '');

