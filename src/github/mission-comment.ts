// The mission comment on the issue: rendered here, and its contract checklist parsed back here
// (a maintainer may edit the checklist by hand before approving). PRODUCT.md §1 step 2 fixes the
// checklist line: `- [ ] **VAL-001** <statement> — _F1_`.
import { claimsOf, contractOrder, type Assertion, type Plan } from '../mission/plan.ts';
import { writtenBy } from './authorship.ts';
import { fenceFor, unmention, withoutHtmlComments } from './untrusted.ts';
import type { GitHub, RepoRef } from './repository.ts';

export const MISSION_MARKER = 'missions:mission-comment';

export type MissionView =
  | { kind: 'planning'; missionId: number; startedBy: string }
  | { kind: 'questions'; missionId: number; questionsUrl: string; revision: number }
  | { kind: 'plan'; missionId: number; revision: number; change: string; plan: Plan }
  | { kind: 'failed'; missionId: number; what: string; revision?: number; change?: string; plan?: Plan }
  | { kind: 'cancelled'; missionId: number; by: string; revision?: number; change?: string; plan?: Plan }
  | BoardView;

/** One feature of the stack as the board and the pull request show it. */
export interface StackEntry {
  id: string;
  title: string;
  milestone: string;
  /** `held`: it was being built when the mission stopped (paused, failed, cancelled). */
  state: 'pending' | 'building' | 'held' | 'committed';
  commit: string | null;
}

/** The status board a building mission's comment becomes (PRODUCT.md §1 step 5). */
export interface BoardView {
  kind: 'board';
  missionId: number;
  revision: number;
  plan: Plan;
  approvedBy: string;
  features: StackEntry[];
  /** One line on where the mission stands, and what to do about it when it is stopped. */
  status: string;
  pullRequest?: { number: number; url: string };
  branch?: string;
  results?: Map<string, AssertionResult>;
  /** The pull request is ready for review (the mission is done). */
  ready?: boolean;
  /** The mission's page in Mission Control (when MISSIONS_PUBLIC_URL is set). */
  page?: string | undefined;
}

export function renderMissionComment(view: MissionView): string {
  const revision = 'revision' in view ? (view.revision ?? 0) : 0;
  const lines = [`<!-- ${MISSION_MARKER} mission=${view.missionId} revision=${revision} -->`];
  switch (view.kind) {
    case 'planning':
      lines.push(
        '## Mission: planning',
        '',
        `👀 Planning started (requested by @${view.startedBy}). The orchestrator is reading this issue and the repository; the plan and its validation contract will appear here.`,
      );
      return lines.join('\n');
    case 'questions':
      lines.push(
        '## Mission: planning',
        '',
        `❓ The orchestrator needs answers before it can plan: see [its questions](${view.questionsUrl}). Reply in this issue; your answer continues the planning.`,
      );
      return lines.join('\n');
    case 'failed':
      lines.push(`> [!WARNING]\n> ${view.what}\n> Reply \`/retry\` (or add a comment) to try again.`, '');
      if (view.plan) lines.push(...planSection(view.plan, view.revision!, view.change!, false));
      else lines.push('## Mission: planning stopped');
      return lines.join('\n');
    case 'cancelled':
      lines.push(`> [!NOTE]\n> Mission cancelled by @${view.by}. Label the issue again to start a new mission.`, '');
      if (view.plan) lines.push(...planSection(view.plan, view.revision!, view.change!, false));
      return lines.join('\n');
    case 'plan':
      lines.push(...planSection(view.plan, view.revision, view.change, true));
      return lines.join('\n');
    case 'board':
      return [lines[0]!, ...boardSection(view)].join('\n');
  }
}

const STATE_ICON: Record<StackEntry['state'], string> = { pending: '⏳', building: '🔨', held: '⏸️', committed: '✅' };

function boardSection(view: BoardView): string[] {
  const lines: string[] = [];
  lines.push(`## Mission: ${view.plan.title}`, '', `**Status:** ${view.status}`, '');
  const where = [
    view.pullRequest ? `Pull request: [#${view.pullRequest.number}](${view.pullRequest.url})${view.ready ? '' : ' (draft)'}` : undefined,
    view.branch ? `branch \`${view.branch}\`` : undefined,
    `contract revision ${view.revision}, approved by @${view.approvedBy}`,
    view.page ? `[Mission Control](${view.page}): every agent run and transcript` : undefined,
  ].filter(Boolean);
  lines.push(where.join(' · '), '', '### Features', '', ...stackTable(view.features), '', '### Validation contract', '', ...contractChecklist(view.plan, view.results));
  return lines;
}

/** The stack as a table: feature → commit → state (fix features' titles are triage's or a maintainer's words: they ping nobody). */
export function stackTable(features: StackEntry[]): string[] {
  return [
    '| | Feature | Milestone | Commit |',
    '| --- | --- | --- | --- |',
    ...features.map((f) => `| ${STATE_ICON[f.state]} | **${f.id}** ${escapeCell(unmention(f.title))} | ${f.milestone} | ${f.commit ? f.commit.slice(0, 7) : '—'} |`),
  ];
}

/** A validator's word on an assertion, as the checklist shows it. */
export interface AssertionResult {
  status: 'pass' | 'fail' | 'blocked';
  reason: string;
}

/** The contract checklist: ticked where the user-testing validator passed it, with a short reason where it failed. */
export function contractChecklist(plan: Plan, results: Map<string, AssertionResult> = new Map()): string[] {
  const claims = claimsOf(plan);
  return contractOrder(plan).map((a) => {
    const line = contractLine(a, claims.get(a.id) ?? '?');
    const result = results.get(a.id);
    if (!result) return line;
    if (result.status === 'pass') return line.replace('- [ ]', '- [x]');
    return `${line} — ${result.status === 'fail' ? '❌ failed' : '⛔ blocked'}: ${shortReason(result.reason)}`;
  });
}

/** A verdict's first line, cut short; pinging nobody even when the cut opened a code span. */
const shortReason = (text: string) => {
  const first = text.trim().split('\n')[0] ?? '';
  return unmention(first.length > 140 ? `${first.slice(0, 139)}…` : first);
};

const escapeCell = (text: string) => text.replace(/\|/g, '\\|');

function planSection(plan: Plan, revision: number, change: string, awaitingApproval: boolean): string[] {
  const claims = claimsOf(plan);
  const lines = [`## Mission plan: ${plan.title}`, '', `**Revision ${revision}** — ${change}`, '', plan.summary.trim(), '', '### Features', ''];
  let milestone = '';
  for (const f of plan.features) {
    if (f.milestone !== milestone) {
      milestone = f.milestone;
      lines.push(`**Milestone ${milestone}**`, '');
    }
    const asserts = f.assertion_ids.length ? ` _(${f.assertion_ids.join(', ')})_` : '';
    lines.push(`- **${f.id}** ${f.title}${asserts}`);
    lines.push(...f.description.trim().split('\n').map((l) => `  ${l}`.trimEnd()));
  }
  // The notes come before the contract: the checklist parser reads the last contract heading, so
  // nothing in model-written text above it can stand in for the contract.
  if (plan.notes) lines.push('', '<details><summary>Mission notes (every worker and validator reads them)</summary>', '', plan.notes.trim(), '', '</details>');
  lines.push('', '### Validation contract', '');
  for (const a of contractOrder(plan)) {
    lines.push(contractLine(a, claims.get(a.id) ?? '?'));
    // Indented under its item, where the checklist parser does not look.
    if (a.verify) lines.push(`  _Verify:_ ${codeSpan(a.verify)}`);
  }
  if (awaitingApproval) lines.push('', 'Reply `/approve` to start, or reply with what should change.');
  return lines;
}

export function contractLine(a: Assertion, featureId: string): string {
  return `- [ ] **${a.id}** ${a.statement} — _${featureId}_`;
}

export interface MissionCommentState {
  missionId: number;
  revision: number;
}

/** The mission id and revision a mission comment shows, or null when the body is not one. */
export function readMissionMarker(body: string): MissionCommentState | null {
  // At the start only: the app's other comments may quote text that carries a marker.
  const m = new RegExp(`^<!-- ${MISSION_MARKER} mission=(\\d+) revision=(\\d+) -->`).exec(body);
  return m ? { missionId: Number(m[1]), revision: Number(m[2]) } : null;
}

export interface ContractLine {
  /** Absent for a line a maintainer added without an id. */
  id?: string;
  statement: string;
  featureId?: string;
}

const CHECKLIST_ITEM = /^\s*[-*]\s+\[[ xX]\]\s+(.*?)\s*$/;
const WITH_ID = /^\*\*(VAL-\d{3,})\*\*\s+(.*)$/;
const FEATURE_SUFFIX = /^(.*?)\s+[—–-]{1,2}\s+_(F\d+)_$/;

/**
 * The checklist under "Validation contract" as the comment now stands, hand edits included: what a
 * maintainer sees, so nothing inside an HTML comment, and under the last such heading (the app
 * renders the contract after everything a model wrote).
 */
export function parseContract(body: string): ContractLine[] {
  const lines = withoutHtmlComments(body).split(/\r?\n/);
  const start = lines.findLastIndex((l) => /^#{2,4}\s+Validation contract\s*$/.test(l.trim()));
  if (start < 0) return [];
  const out: ContractLine[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,4}\s/.test(line.trim())) break;
    const item = CHECKLIST_ITEM.exec(line);
    if (!item) continue;
    let text = item[1]!;
    let id: string | undefined;
    const withId = WITH_ID.exec(text);
    if (withId) [, id, text] = withId as unknown as [string, string, string];
    const suffix = FEATURE_SUFFIX.exec(text);
    const statement = (suffix ? suffix[1]! : text).trim();
    if (!statement) continue;
    out.push({ ...(id ? { id } : {}), statement, ...(suffix ? { featureId: suffix[2]! } : {}) });
  }
  return out;
}

/** Where a mission comment lives: the issue, and the app's bot that alone may have written it. */
export interface MissionThread extends RepoRef {
  issue_number: number;
  bot: string;
}

/** The app's own mission comment for `missionId`, if a run that died had posted it. */
export async function findMissionComment(gh: GitHub, thread: MissionThread, missionId: number): Promise<number | null> {
  const { bot, ...ref } = thread;
  const comments = await gh.paginate(gh.rest.issues.listComments, { ...ref, per_page: 100 });
  return comments.find((c) => writtenBy(bot)(c) && readMissionMarker(c.body ?? '')?.missionId === missionId)?.id ?? null;
}

/** Posts a new mission comment (with 👀 on the issue: the label was seen). */
export async function postMissionComment(gh: GitHub, thread: MissionThread, view: MissionView): Promise<number> {
  const { bot: _bot, ...ref } = thread;
  await gh.rest.reactions.createForIssue({ ...ref, content: 'eyes' });
  return (await gh.rest.issues.createComment({ ...ref, body: renderMissionComment(view) })).data.id;
}

/** Edits the mission comment in place; GitHub's 404 (someone deleted it) goes to the caller. */
export async function editMissionComment(gh: GitHub, ref: RepoRef, commentId: number, view: MissionView): Promise<void> {
  await gh.rest.issues.updateComment({ ...ref, comment_id: commentId, body: renderMissionComment(view) });
}

/**
 * The mission comment as GitHub shows it now, hand edits included, or null when that id is not the
 * app's own comment for this mission: a contract is only ever read from there.
 */
export async function readMissionComment(gh: GitHub, thread: MissionThread, commentId: number, missionId: number): Promise<{ body: string; updated_at: string } | null> {
  const { data } = await gh.rest.issues.getComment({ owner: thread.owner, repo: thread.repo, comment_id: commentId });
  if (!writtenBy(thread.bot)(data) || readMissionMarker(data.body ?? '')?.missionId !== missionId) return null;
  return { body: data.body ?? '', updated_at: data.updated_at };
}

/** One line as a code span (a command reads as one; nothing in it renders), fenced past any backticks it holds. */
function codeSpan(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const fence = fenceFor(line, 1);
  return /^`|`$/.test(line) ? `${fence} ${line} ${fence}` : `${fence}${line}${fence}`;
}
