// The user-testing validator: verifies each assertion of the milestone behaviourally, through the
// repository's real entry points, finishing with submit_verdicts. Only its verdicts tick the contract.
import { z } from 'zod';
import { commandsText, contractLines, missionSection, type Briefing } from './briefing.ts';
import { finishTool } from './finish-tool.ts';
import { runAgent } from './runtime.ts';
import { validatorSystem, validatorTools, type Runtime, type ValidationInput } from './validation.ts';

export const verdictsSchema = z.object({
  results: z
    .array(
      z.object({
        assertion_id: z.string().trim().min(1),
        status: z.enum(['pass', 'fail', 'blocked']),
        evidence: z.string().trim().min(1, 'evidence must quote what you ran and saw'),
        // Replayed as one argument of a process: past a few kilobytes it is no command a user runs.
        command: z.string().min(1).max(4000).optional(),
      }),
    )
    .min(1),
});

export type Verdicts = z.infer<typeof verdictsSchema>;

/** `assertionIds`: the milestone's, each needing a verdict; `contractIds`: every assertion a verdict may be on. */
export function submitVerdicts(assertionIds: string[], contractIds: string[]) {
  const known = new Set(contractIds);
  return finishTool({
    name: 'submit_verdicts',
    description: 'Finish with a verdict for every assertion of the milestone, each with the evidence (the command you ran and what it printed). Verdicts only on assertion ids of the contract.',
    schema: verdictsSchema,
    // Every assertion of the round needs a verdict; verdicts on the contract's others are kept as
    // extra evidence. None on an id the contract lacks: it names nothing the board, the review or a
    // fix could point at, and what it found belongs in the evidence of the assertion it is near.
    check: (value) => {
      const ids = value.results.map((r) => r.assertion_id);
      const given = new Set(ids);
      const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
      return [
        ...assertionIds.filter((id) => !given.has(id)).map((id) => `${id} has no verdict: give it pass, fail or blocked with evidence`),
        ...[...new Set(twice)].map((id) => `${id} has more than one verdict: give one`),
        ...[...given].filter((id) => !known.has(id)).map((id) => `${JSON.stringify(id)} is not an assertion of the contract: give verdicts only on the contract's assertion ids (this round's: ${assertionIds.join(', ')}), and put nearby cases in their evidence`),
      ];
    },
  });
}

export function userTestingBriefing(input: ValidationInput): Briefing {
  const context = [...missionSection(input.contract), "# The repository's commands", commandsText(input.commands)];
  const task = [
    `# Milestone ${input.milestone}`,
    '## The assertions to verify (each with how the planner meant it to be checked)',
    contractLines(input.contract, input.assertionIds),
    "## The repository's own CI on this commit",
    input.ci,
    'Verify each assertion through the repository’s real entry points, then call submit_verdicts.',
  ];
  return { context: context.join('\n\n'), prompt: task.join('\n\n') };
}

export async function runUserTesting(input: ValidationInput, runtime: Runtime): Promise<Verdicts> {
  const result = await runAgent({
    ...runtime,
    role: 'user-testing',
    system: await validatorSystem('user-testing', input),
    ...userTestingBriefing(input),
    tools: validatorTools(input),
    finishTools: [submitVerdicts(input.assertionIds, input.contract.assertions.map((a) => a.id))],
  });
  return result.finish.value as Verdicts;
}
