// Triage (orchestrator role): the validators' findings and failed verdicts in, a decision out:
// proceed (every finding dismissed with a reason), fix (fix features), or stop. The app refuses a
// `proceed` while an assertion of the milestone has not passed.
import { betaAgentToolset20260401 } from '@anthropic-ai/sdk/tools/agent-toolset/node';
import { z } from 'zod';
import type { Plan } from '../mission/plan.ts';
import type { RepoFiles } from '../workspace/repo-files.ts';
import { finishTool } from './finish-tool.ts';
import { runAgent, type AgentRunOptions } from './runtime.ts';
import { loadSkills, renderSkills } from './skills.ts';
import type { Review } from './validators.ts';

export const triageSchema = z.object({
  decision: z.enum(['proceed', 'fix', 'stop']),
  rationale: z.string().trim().min(1),
  fix_features: z.array(
    z.object({
      title: z.string().trim().min(1).refine((s) => !/[\r\n]/.test(s), 'a fix feature title must be a single line'),
      description: z.string().trim().min(1),
      assertion_ids: z.array(z.string()),
    }),
  ),
});

export type Triage = z.infer<typeof triageSchema>;

export interface TriageInput {
  owner: string;
  repo: string;
  contract: Plan;
  milestone: string;
  round: number;
  maxRounds: number;
  review: Review;
  verdicts: { assertion_id: string; status: string; evidence: string }[];
  /** Assertions of the milestone that have not passed: `proceed` is refused while there are any. */
  failing: string[];
  /** The assertions a fix feature may name: this milestone's and earlier ones'. */
  repairable: string[];
  checkout: string;
  base: RepoFiles;
}

export async function runTriage(input: TriageInput, runtime: Omit<AgentRunOptions, 'role' | 'system' | 'prompt' | 'tools' | 'finishTools'>): Promise<Triage> {
  const known = new Set(input.repairable);
  const submitTriage = finishTool({
    name: 'submit_triage',
    description: 'Decide what happens to the findings: proceed (dismiss them, each with a reason), fix (fix features), or stop.',
    schema: triageSchema,
    check: (value) => {
      const problems: string[] = [];
      if (value.decision === 'proceed' && input.failing.length) {
        problems.push(`${input.failing.join(', ')} did not pass: proceed is only for findings that need no change; add fix features or stop`);
      }
      if (value.decision === 'fix' && !value.fix_features.length) problems.push('fix needs at least one fix feature');
      for (const f of value.fix_features) {
        for (const id of f.assertion_ids) if (!known.has(id)) problems.push(`${id} is not an assertion of this milestone or an earlier one; a fix feature cannot claim it`);
      }
      return problems;
    },
  });
  const tools = betaAgentToolset20260401({ workdir: input.checkout, env: {} }).filter((t) => ['read', 'glob', 'grep'].includes(t.name));
  const system = [
    'You are the orchestrator of Missions, triaging what the validators found in a milestone.',
    `The repository ${input.owner}/${input.repo} is checked out at your working directory at the milestone's commit.`,
    renderSkills(await loadSkills('triage', input.base)),
  ].join('\n\n');
  const statement = new Map(input.contract.assertions.map((a) => [a.id, a.statement]));
  const prompt = [
    `# Milestone ${input.milestone}: fix round ${input.round} of at most ${input.maxRounds}`,
    '## User-testing verdicts',
    input.verdicts.map((v) => `- **${v.assertion_id}** ${statement.get(v.assertion_id) ?? ''}: **${v.status}**\n  ${v.evidence.replace(/\n/g, '\n  ')}`).join('\n'),
    `## Scrutiny review: ${input.review.verdict}`,
    input.review.summary,
    input.review.findings.map((f) => `- (${f.severity}) ${f.path}${f.line ? `:${f.line}` : ''} ${f.title}: ${f.detail}`).join('\n') || '(no findings)',
    input.failing.length ? `Not passed: ${input.failing.join(', ')}.` : 'Every assertion of the milestone passed.',
    'Decide, then call submit_triage.',
  ].join('\n\n');
  const result = await runAgent({ ...runtime, role: 'triage', system, prompt, tools, finishTools: [submitTriage] });
  return result.finish.value as Triage;
}
