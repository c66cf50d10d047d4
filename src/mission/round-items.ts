// The items of a validation round (PRODUCT.md §4 "Triage dispositions"): what scrutiny found (S1…),
// what the milestone's workers reported (W1…: issues_found and left_undone, complete handoffs too),
// and the assertions that did not pass. They are stored with the round, so the fix worker, the next
// round's scrutiny, the review and the summary all read the same ids.
import type { Handoff } from '../agents/worker.ts';
import type { Review } from '../agents/scrutiny.ts';
import { PAST, type Triage } from '../agents/triage.ts';
import { inert } from '../github/untrusted.ts';
import type { FeatureRow, RoundItem, ValidationRun } from '../store/missions.ts';
import type { Plan } from './plan.ts';

/**
 * The milestone's features built since its last triaged round (all of them before one): whose reports
 * this round carries. A round that stopped untriaged (a validator or triage failed, or an assertion
 * failed with no fix round left) disposed of nothing, so its features' reports come again in the next.
 */
export function featuresOfRound(features: FeatureRow[], previousRuns: ValidationRun[]): FeatureRow[] {
  const previous = previousRuns.findLast((r) => r.triage);
  if (!previous) return features;
  const at = features.findIndex((f) => f.commit_sha === previous.commit_sha);
  return at < 0 ? features : features.slice(at + 1);
}

export function roundItems(options: {
  plan: Plan;
  review: Review;
  features: FeatureRow[];
  results: { assertion_id: string; status: string; evidence: string }[];
  failing: string[];
}): RoundItem[] {
  const statement = new Map(options.plan.assertions.map((a) => [a.id, a.statement]));
  const findings: RoundItem[] = options.review.findings.map((f, i) => ({
    id: `S${i + 1}`,
    kind: 'finding',
    title: `(${f.severity}) \`${f.path}${f.line ? `:${f.line}` : ''}\` ${f.title}`,
    evidence: f.detail,
  }));
  const reports = options.features.flatMap((f) => {
    const handoff = f.handoff as Handoff | null;
    if (!handoff) return [];
    return [
      ...handoff.issues_found.map((i) => ({ title: `${f.id}'s worker found (${i.severity}): ${firstLine(i.description)}`, evidence: rest(i.description) })),
      ...handoff.left_undone.map((l) => ({ title: `${f.id}'s worker left undone: ${firstLine(l)}`, evidence: rest(l) })),
    ];
  });
  const workers: RoundItem[] = reports.map((r, i) => ({ id: `W${i + 1}`, kind: 'worker', ...r }));
  const byId = new Map(options.results.map((r) => [r.assertion_id, r]));
  const assertions: RoundItem[] = options.failing.map((id) => ({
    id,
    kind: 'assertion',
    title: `${statement.get(id) ?? ''}: ${byId.get(id)?.status ?? 'no verdict'}`,
    evidence: byId.get(id)?.evidence ?? 'No verdict was given.',
  }));
  return [...findings, ...workers, ...assertions];
}

/**
 * What a fix feature must repair, with the evidence: the items it addresses and the verdicts of the
 * assertions it claims. A fix feature of triage's that names none gets every item triage marked fix.
 * (A `/fix` has no round: its worker is given the maintainer's words.)
 */
export function itemsToFix(run: ValidationRun | undefined, feature: Pick<FeatureRow, 'addresses' | 'assertion_ids'>): RoundItem[] {
  const items = run?.items ?? [];
  const triage = run?.triage as Triage | null;
  const named = new Set(feature.addresses?.length ? feature.addresses : (triage?.dispositions ?? []).filter((d) => d.action === 'fix').map((d) => d.item));
  for (const id of feature.assertion_ids) named.add(id);
  return items.filter((i) => named.has(i.id));
}

/** The previous round's findings as scrutiny reads them: each with what triage did about it. */
export function previousFindings(run: ValidationRun | undefined, features: FeatureRow[]): string[] {
  if (!run?.items) return [];
  const triage = run.triage as Triage | null;
  const fixes = features.filter((f) => f.fix_for === `${run.milestone}#${run.round}`);
  return run.items
    .filter((i) => i.kind === 'finding')
    .map((i) => {
      const d = triage?.dispositions?.find((x) => x.item === i.id);
      const by = fixes.filter((f) => f.addresses?.includes(i.id)).map((f) => f.id);
      const what = !d ? 'no disposition' : d.action === 'fix' ? `to be fixed${by.length ? ` by ${by.join(', ')}` : ''}` : `${PAST[d.action]}: ${d.reason}`;
      return `- ${i.id} ${i.title} — ${what}\n  ${i.evidence.replace(/\n/g, '\n  ')}`;
    });
}

/** For each item of `run`, the fix features that address it. */
export function fixesOf(features: FeatureRow[], run: ValidationRun): Map<string, string[]> {
  const fixes = features.filter((f) => f.fix_for === `${run.milestone}#${run.round}`);
  return new Map((run.items ?? []).map((i) => [i.id, fixes.filter((f) => f.addresses?.includes(i.id)).map((f) => f.id)]));
}

/** The round's items with their dispositions, as a table for the review and the summary. */
export function dispositionTable(items: RoundItem[], triage: Triage | null, fixIds: Map<string, string[]>, redact: (text: string) => string): string[] {
  if (!items.length) return [];
  // Titles and reasons are the models' words: one line each, inert in the comment.
  // Redacted first: inert() changes `@` `<` `>` in a secret like `postgres://u:p!@host`, which redaction would then miss.
  const cell = (text: string) => inert(redact(text)).replace(/\|/g, '\\|').replace(/\s*[\r\n]\s*/g, ' ');
  return [
    '| Item | What | Disposition |',
    '| --- | --- | --- |',
    ...items.map((i) => {
      const d = triage?.dispositions?.find((x) => x.item === i.id);
      const fix = fixIds.get(i.id)?.length ? ` (${fixIds.get(i.id)!.join(', ')})` : '';
      const disposition = !d ? '—' : d.action === 'fix' ? `🔧 fix${fix}` : `${d.action === 'defer' ? '⏭️' : '🚫'} ${PAST[d.action]}: ${cell(d.reason)}`;
      return `| ${i.id} | ${cell(i.title)} | ${disposition} |`;
    }),
  ];
}

const firstLine = (text: string) => text.trim().split('\n')[0]!;
const rest = (text: string) => text.trim().split('\n').slice(1).join('\n').trim();
