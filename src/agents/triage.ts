// Triage (orchestrator role): every item of a validation round in, each with an id — scrutiny
// findings S1…, what the milestone's workers reported W1…, failed or blocked assertions by their VAL
// id — and a decision out: proceed, fix (fix features naming the items they address), or stop. Every
// item gets exactly one disposition (PRODUCT.md §4 "Triage dispositions"); the app checks them.
import { z } from 'zod';
import type { Plan } from '../mission/plan.ts';
import type { RoundItem } from '../store/missions.ts';
import type { RepoFiles } from '../workspace/repo-files.ts';
import { contractLines, itemLines, missionSection, type Briefing } from './briefing.ts';
import { fileTools } from './file-tools.ts';
import { finishTool } from './finish-tool.ts';
import { runAgent, type AgentRunOptions } from './runtime.ts';
import { loadSkills, renderSkills } from './skills.ts';

export const dispositionSchema = z.object({
  item: z.string().min(1).describe('an item id: S1, W1, VAL-001'),
  action: z.enum(['fix', 'defer', 'dismiss']),
  reason: z.string().trim().min(1).describe('why: for defer and dismiss, a reason a maintainer can check'),
});

export const triageSchema = z.object({
  decision: z.enum(['proceed', 'fix', 'stop']),
  rationale: z.string().trim().min(1),
  fix_features: z.array(
    z.object({
      title: z.string().trim().min(1).refine((s) => !/[\r\n]/.test(s), 'a fix feature title must be a single line'),
      description: z.string().trim().min(1),
      assertion_ids: z.array(z.string()),
      addresses: z.array(z.string()).optional().describe('the ids of the items this fix feature repairs'),
    }),
  ),
  dispositions: z.array(dispositionSchema).optional().describe('exactly one per item of the round'),
});

export type Triage = z.infer<typeof triageSchema>;
export type Disposition = z.infer<typeof dispositionSchema>;

/** How a disposition reads in a sentence. */
export const PAST: Record<Disposition['action'], string> = { fix: 'fixed', defer: 'deferred', dismiss: 'dismissed' };

export interface TriageInput {
  owner: string;
  repo: string;
  contract: Plan;
  milestone: string;
  round: number;
  maxRounds: number;
  /** False once `validation.max_fix_rounds` (plus `/retry`s) are spent: the app then runs triage only when every assertion passed, and refuses `fix`. */
  fixRoundLeft: boolean;
  /** Every item of the round, each to be disposed of. */
  items: RoundItem[];
  /** The scrutiny verdict and summary (its findings are among the items). */
  review: { verdict: string; summary: string };
  /** Assertions of this milestone or an earlier one that have not passed: `proceed` is refused while there are any. */
  failing: string[];
  /** The assertions a fix feature may name: this milestone's and earlier ones'. */
  repairable: string[];
  checkout: string;
  base: RepoFiles;
}

/**
 * What rates an item or puts it off without saying why ("low priority", "minor nit", "out of scope",
 * "follow-up", "can be done later"): a reason needs two different words besides these, one of them
 * not an item id, once invisible characters are gone ("not in the contract", "duplicate of S2",
 * "passes VAL-002", "pre-existing"). A heuristic: it turns away the empty answers models give, and
 * a reason that passes it is still shown to the maintainer.
 */
const RATING_PHRASES = /\b(?:out of scope|not in scope|(?:beyond|outside) (?:the |this )?scope|nice to have|no need|not needed now|right now|for now|at this time|as is|follow up|future work|tech debt|edge case|no impact|scope creep)\b/g;
const RATING_WORDS = new Set(
  "a an the it its it's this that is are was just only very really quite low lower minor small trivial cosmetic priority importance important unimportant issue issues item items nit nits nitpick nitpicks concern thing needed necessary later now for and or can could should will be done do to we fine ok okay skip wontfix won't fix fixing worth urgent matter matters doesn't don't na non blocking noted defer deferred deferring dismiss dismissed here relevant acceptable scope of in on at pr time".split(' '),
);
const ITEM_ID = /\b(?:val-\d+|[swf]\d+)\b/g;

function saysWhy(reason: string): boolean {
  const text = reason
    .normalize('NFKC')
    .replace(/[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu, '')
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc]/g, "'") // won’t is won't
    .replace(ITEM_ID, ' #id ')
    .replace(/[-_/]+/g, ' ') // out-of-scope is out of scope
    .replace(RATING_PHRASES, ' ');
  const words = new Set((text.match(/#id|[\p{L}\p{N}']+/gu) ?? []).filter((w) => (w.length > 1 || w === '#id') && !RATING_WORDS.has(w)));
  return words.size >= 2 && [...words].some((w) => w !== '#id');
}

/** Every way `triage` breaks the disposition rules for `items`, one sentence each. */
export function dispositionProblems(triage: Triage, items: RoundItem[]): string[] {
  const problems: string[] = [];
  const byId = new Map(items.map((i) => [i.id, i]));
  const given = triage.dispositions ?? [];
  const counts = new Map<string, number>();
  for (const d of given) counts.set(d.item, (counts.get(d.item) ?? 0) + 1);
  const missing = items.filter((i) => !counts.has(i.id)).map((i) => i.id);
  if (missing.length) problems.push(`${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no disposition: give every item exactly one (fix, defer or dismiss)`);
  for (const [id, n] of counts) {
    if (!byId.has(id)) problems.push(`${id} is not an item of this round (the items are ${items.map((i) => i.id).join(', ') || 'none'})`);
    else if (n > 1) problems.push(`${id} has ${n} dispositions: give it one`);
  }
  const addressed = new Set(triage.fix_features.flatMap((f) => f.addresses ?? []));
  for (const f of triage.fix_features) {
    for (const id of f.addresses ?? []) if (!byId.has(id)) problems.push(`fix feature "${f.title}" addresses ${id}, which is not an item of this round`);
  }
  for (const d of given) {
    const item = byId.get(d.item);
    if (!item) continue;
    if (d.action === 'fix') {
      if (triage.decision !== 'fix') problems.push(`${d.item} is marked fix, but the decision is ${triage.decision}: fix items need fix features`);
      else if (!addressed.has(d.item)) problems.push(`${d.item} is marked fix, but no fix feature names it in addresses`);
    } else {
      if (item.kind === 'assertion' && triage.decision !== 'stop') problems.push(`${d.item} did not pass: a failed assertion can only be fixed (or the mission stopped), not ${PAST[d.action]}`);
      if (!saysWhy(d.reason)) problems.push(`${d.item}: "${d.reason}" is not a reason; say why it needs no change now, in words a maintainer can check`);
    }
  }
  for (const id of addressed) {
    const d = given.find((x) => x.item === id);
    if (byId.has(id) && d && d.action !== 'fix') problems.push(`${id} is addressed by a fix feature but marked ${d.action}`);
  }
  return problems;
}

/** What triage is told, and told again when it tries `fix`, once the fix rounds are spent. */
const NO_FIX_ROUND = (maxRounds: number) => `No fix round is left (${maxRounds} used): decide proceed or stop, and defer or dismiss each item with a reason.`;

export function submitTriage(input: Pick<TriageInput, 'failing' | 'repairable' | 'items' | 'fixRoundLeft' | 'maxRounds'>) {
  const known = new Set(input.repairable);
  return finishTool({
    name: 'submit_triage',
    description:
      'Decide what happens to the round: proceed, fix (fix features, each naming the items it addresses), or stop; and give every item exactly one disposition (fix, defer or dismiss, with a reason).',
    schema: triageSchema,
    check: (value) => {
      const problems: string[] = [];
      if (value.decision === 'proceed' && input.failing.length) {
        problems.push(`${input.failing.join(', ')} did not pass: proceed is only for findings that need no change; add fix features or stop`);
      }
      if (value.decision === 'fix' && !input.fixRoundLeft) problems.push(NO_FIX_ROUND(input.maxRounds));
      else if (value.decision === 'fix' && !value.fix_features.length) problems.push('fix needs at least one fix feature');
      for (const f of value.fix_features) {
        for (const id of f.assertion_ids) if (!known.has(id)) problems.push(`${id} is not an assertion of this milestone or an earlier one; a fix feature cannot claim it`);
      }
      return [...problems, ...dispositionProblems(value, input.items)];
    },
  });
}

export function triageBriefing(input: TriageInput): Briefing {
  const task = [
    input.fixRoundLeft ?
      `# Milestone ${input.milestone}: fix round ${input.round} of at most ${input.maxRounds}`
    : `# Milestone ${input.milestone}: the last round\n\n${NO_FIX_ROUND(input.maxRounds)}`,
    "## The milestone's assertions",
    contractLines(input.contract, [...new Set([...input.contract.features.filter((f) => f.milestone === input.milestone).flatMap((f) => f.assertion_ids), ...input.failing])]),
    `## Scrutiny: ${input.review.verdict}`,
    input.review.summary,
    '## The items of this round (dispose of each exactly once)',
    input.items.length ?
      itemLines(input.items)
    : '(none)',
    input.failing.length ? `Not passed: ${input.failing.join(', ')}.` : 'Every assertion of the milestone passed.',
    'Decide, then call submit_triage.',
  ];
  return { context: missionSection(input.contract).join('\n\n'), prompt: task.join('\n\n') };
}

export async function runTriage(input: TriageInput, runtime: Omit<AgentRunOptions, 'role' | 'system' | 'context' | 'prompt' | 'tools' | 'finishTools'>): Promise<Triage> {
  const system = [
    'You are the orchestrator of Missions, triaging what the validators found in a milestone.',
    `The repository ${input.owner}/${input.repo} is checked out at your working directory at the milestone's commit.`,
    renderSkills(await loadSkills('triage', input.base)),
  ].join('\n\n');
  const result = await runAgent({
    ...runtime,
    role: 'triage',
    system,
    ...triageBriefing(input),
    tools: fileTools(input.checkout, ['read', 'glob', 'grep']),
    finishTools: [submitTriage(input)],
  });
  return result.finish.value as Triage;
}
