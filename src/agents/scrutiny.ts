// The scrutiny validator: reviews the milestone's diff adversarially and runs the configured checks
// itself, finishing with submit_review. In a later round it is told the previous round's findings
// and what triage did with each, so it checks the fixes instead of starting over.
import { z } from 'zod';
import { commandsText, contractLines, missionSection, type Briefing } from './briefing.ts';
import { finishTool } from './finish-tool.ts';
import { runAgent } from './runtime.ts';
import { validatorSystem, validatorTools, type Runtime, type ValidationInput } from './validation.ts';

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

export type Finding = z.infer<typeof findingSchema>;
export type Review = z.infer<typeof reviewSchema>;

export const submitReview = finishTool({
  name: 'submit_review',
  description: 'Finish the review: the verdict, a summary, and every finding with the file and line it concerns.',
  schema: reviewSchema,
});

const MAX_DIFF = 60_000;

export function scrutinyBriefing(input: ValidationInput): Briefing {
  const diff = input.diff.length > MAX_DIFF ? `${input.diff.slice(0, MAX_DIFF)}\n[diff truncated: read the files for the rest]` : input.diff;
  const context = [
    ...missionSection(input.contract),
    "# The repository's checks: a hard gate (run each yourself, in full, and read its whole output)",
    commandsText(input.commands),
  ];
  const task = [
    `# Milestone ${input.milestone}`,
    '## What the milestone must satisfy',
    contractLines(input.contract, input.assertionIds),
    "## The repository's own CI on this commit",
    input.ci,
    ...(input.previousFindings?.length ?
      [
        "## The previous round's findings and what triage did with them",
        `${input.previousFindings.join('\n')}\n\nCheck that each one marked fix is fixed. Raise a dismissed or deferred one again only with new evidence.`,
      ]
    : []),
    '## The milestone diff',
    `\`\`\`diff\n${diff}\n\`\`\``,
    'Review it adversarially, run the checks, then call submit_review.',
  ];
  return { context: context.join('\n\n'), prompt: task.join('\n\n') };
}

export async function runScrutiny(input: ValidationInput, runtime: Runtime): Promise<Review> {
  const result = await runAgent({
    ...runtime,
    role: 'scrutiny',
    system: await validatorSystem('scrutiny', input),
    ...scrutinyBriefing(input),
    tools: validatorTools(input),
    finishTools: [submitReview],
  });
  return result.finish.value as Review;
}
