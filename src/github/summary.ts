// The finish summary on the pull request (PRODUCT.md §1 step 7): what was built, the contract with
// its evidence, the rounds, the time and the cost by role. Posted once per finish; a step that died
// after posting finds it again, and only the app's own comment counts as posted.
import { writtenBy } from './authorship.ts';
import { fenceFor, unmention } from './untrusted.ts';
import type { GitHub, RepoRef } from './repository.ts';

export interface SummaryView {
  missionId: number;
  /** Rounds so far: a /fix after done finishes again, with more rounds, and says so once more. */
  rounds: number;
}

const markerOf = (view: SummaryView) => `<!-- missions:summary mission=${view.missionId} rounds=${view.rounds} -->`;

export async function findOrPostSummary(gh: GitHub, ref: RepoRef & { bot: string }, pullNumber: number, view: SummaryView, body: () => string): Promise<void> {
  const { bot, ...repo } = ref;
  const comments = await gh.paginate(gh.rest.issues.listComments, { ...repo, issue_number: pullNumber, per_page: 100 });
  if (comments.some((c) => writtenBy(bot)(c) && (c.body ?? '').startsWith(markerOf(view)))) return;
  await gh.rest.issues.createComment({ ...repo, issue_number: pullNumber, body: `${markerOf(view)}\n${body()}` });
}

export function renderSummary(summary: {
  plan: { title: string };
  features: { id: string; title: string; commit: string; fix: boolean }[];
  evidence: { id: string; statement: string; evidence: string; link?: string }[];
  rounds: number;
  /** Each round that had items: its label and the items with their dispositions (round-items.ts). */
  findings: { label: string; table: string[] }[];
  elapsed: string;
  costs: { role: string; model: string; usd: number; input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_write_tokens: number }[];
  /** The mission's page in Mission Control (when MISSIONS_PUBLIC_URL is set). */
  page?: string | undefined;
}): string {
  return [
    `✅ **Mission done: ${summary.plan.title}.** Every assertion of the contract passed; this pull request is ready for review.`,
    '',
    '#### What was built',
    '',
    // Fix features' titles are triage's or a maintainer's words: they ping nobody.
    ...summary.features.map((f) => `- ${f.commit.slice(0, 7)} **${f.id}** ${unmention(f.title)}${f.fix ? ' _(fix)_' : ''}`),
    '',
    '#### The contract',
    '',
    ...summary.evidence.map((e) => {
      // Fenced past any backticks the evidence holds, so nothing in it ends the block and renders.
      const evidence = e.evidence.trim().split(/\r\n?|\n/).slice(0, 12).join('\n  ');
      const fence = fenceFor(evidence, 3);
      return `- [x] **${e.id}** ${e.statement}${e.link ? ` ([review](${e.link}))` : ''}\n  <details><summary>evidence</summary>\n\n  ${fence}\n  ${evidence}\n  ${fence}\n  </details>`;
    }),
    '',
    ...(summary.findings.length ?
      [
        '#### What validation found, and what became of it',
        '',
        ...summary.findings.flatMap((f) => [`<details><summary>${f.label}</summary>`, '', ...f.table, '', '</details>', '']),
      ]
    : []),
    `Validation rounds: ${summary.rounds}. Time since approval: ${summary.elapsed}.`,
    '',
    '| Role | Model | Tokens (input / cache read / cache write / output) | USD |',
    '| --- | --- | --- | --- |',
    ...summary.costs.map((c) => `| ${c.role} | \`${c.model}\` | ${[c.input_tokens, c.cache_read_tokens, c.cache_write_tokens, c.output_tokens].map((n) => n.toLocaleString('en-US')).join(' / ')} | $${c.usd.toFixed(2)} |`),
    `| **total** | | | **$${summary.costs.reduce((s, c) => s + c.usd, 0).toFixed(2)}** |`,
    '',
    '_USD at list prices per model (`src/agents/pricing.ts`); an estimate, not an invoice._',
    ...(summary.page ? ['', `Every agent run with its transcript, the timeline and the rounds: [Mission Control](${summary.page}).`] : []),
  ].join('\n');
}
