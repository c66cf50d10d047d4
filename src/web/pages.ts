// Mission Control's pages: the store's data turned into what the templates print (eta, which
// escapes every value it prints; only our own templates are included unescaped). Markdown meant for
// GitHub (the status line's ** and backticks) is shown as plain text.
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { Handoff } from '../agents/worker.ts';
import { formatDuration, STATES, stateName } from '../mission/lifecycle.ts';
import type { Plan } from '../mission/plan.ts';
import type { Mission, RoundItem } from '../store/missions.ts';
import type { MissionData, RunRow } from './mission-data.ts';
import { costCurve, outcomeWords, runWords, stamp, timeline } from './timeline.ts';
import { transcriptItems } from './transcript.ts';

const eta = new Eta({ views: fileURLToPath(new URL('./views', import.meta.url)), cache: true, autoEscape: true });

export type Redact = (text: string) => string;

/** The Markdown GitHub reads, as words: emphasis and code marks dropped. */
const plain = (markdown: string) => markdown.replace(/\*\*/g, '').replace(/`/g, '');
/** The status line without its leading emoji: the state badge says it, and not every system has an emoji font. */
const statusWords = (markdown: string) => plain(markdown).replace(/^\p{Extended_Pictographic}\uFE0F?\s*/u, '');
const money = (usd: number) => usd.toFixed(2);
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const short = (sha: string | null) => (sha ? sha.slice(0, 7) : '');

export function layout(options: { title: string; body: string; login?: string; live?: boolean }): string {
  return eta.render('./layout', { title: options.title, body: options.body, login: options.login ?? null, live: options.live ?? false });
}

export const messagePage = (heading: string, text: string, login?: string, link?: { href: string; text: string }) =>
  layout({ title: heading, body: eta.render('./message', { heading, text, link: link ?? null }), ...(login ? { login } : {}) });

export interface ListedMission {
  mission: Mission;
  usd: number;
  now: string;
}

export function listPage(login: string, rows: ListedMission[], repos: string[], filters: { repo: string; state: string }, webBase: string): string {
  const missions = rows.map(({ mission: m, usd, now }) => ({
    id: m.id,
    repository: `${m.owner}/${m.repo}`,
    issue: m.issue_number,
    issueUrl: `${webBase}/${m.owner}/${m.repo}/issues/${m.issue_number}`,
    title: m.issue_title ?? '',
    state: m.state,
    stateName: stateName(m.state),
    now: statusWords(now),
    usd: money(usd),
    updated: stamp(new Date(m.updated_at)),
  }));
  const body = eta.render('./list', { missions, repos, repo: filters.repo, state: filters.state, states: STATES.map((s) => ({ value: s, name: stateName(s) })) });
  return layout({ title: 'Missions', body, login });
}

/** The live part of a mission page (also its own response, for the page's updates). */
export function liveView(data: MissionData, version: string, redact: Redact, webBase: string, plan: Plan | null, latestRevision: number) {
  const { mission: m } = data;
  const now = new Date();
  const running = !['done', 'cancelled'].includes(m.state);
  const usd = data.costs.reduce((sum, c) => sum + c.usd, 0);
  const tokens = data.costs.reduce((sum, c) => sum + c.tokens, 0);
  const cacheRead = data.costs.reduce((sum, c) => sum + c.cache_read_tokens, 0);
  const input = data.costs.reduce((sum, c) => sum + c.input_tokens, 0);
  const lastActivity = data.events.at(-1)?.created_at ?? m.created_at;
  const elapsedMs = (running ? now.getTime() : new Date(lastActivity).getTime()) - new Date(m.created_at).getTime();
  return {
    id: m.id,
    version,
    running,
    ended: data.runs.filter((r) => r.ended_at).map((r) => r.id),
    repository: `${m.owner}/${m.repo}`,
    title: redact(m.issue_title ?? plan?.title ?? `issue #${m.issue_number}`),
    issue: m.issue_number,
    issueUrl: `${webBase}/${m.owner}/${m.repo}/issues/${m.issue_number}`,
    state: m.state,
    stateName: data.stateName,
    now: redact(statusWords(data.now)),
    pr: m.pr_number && m.pr_url ? { number: m.pr_number, url: safeUrl(m.pr_url, webBase) } : null,
    branch: m.branch ?? '',
    approved: m.approved_revision ? { revision: m.approved_revision, by: `@${m.approved_by}`, at: m.approved_at ? stamp(new Date(m.approved_at)) : '' } : null,
    revision: latestRevision,
    started: stamp(new Date(m.created_at)),
    startedBy: `@${m.started_by}`,
    elapsed: formatDuration(elapsedMs),
    over: !running,
    usd: money(usd),
    tokens: count(tokens),
    cacheShare: input > 0 && cacheRead > 0 ? `${Math.round((cacheRead / input) * 100)} %` : '',
    costs: data.costs.map((c) => ({ role: c.role, model: c.model, tokens: count(c.tokens), usd: money(c.usd) })),
    timeline: timeline(data.runs, now),
    cost: costCurve(data.spending, data.runs, now),
    runs: data.runs.map((r) => ({
      id: r.id,
      role: r.role,
      subject: r.subject ?? '',
      start: stamp(r.started_at),
      end: r.ended_at ? stamp(r.ended_at) : 'running',
      turns: r.turns,
      tokens: count(r.tokens),
      usd: money(r.usd),
      outcome: outcomeWords(r.outcome),
    })),
    assertions: (plan?.assertions ?? []).map((a) => {
      const history = data.verdicts.get(a.id) ?? [];
      const last = history.at(-1);
      const milestone = plan!.features.find((f) => f.assertion_ids.includes(a.id))?.milestone ?? '';
      return {
        id: a.id,
        statement: redact(a.statement),
        verify: a.verify ? redact(a.verify) : '',
        milestone,
        status: last?.status ?? 'pending',
        statusWords: last?.status ?? 'not checked',
        history: history.map((v) => ({ status: v.status, milestone: v.milestone, round: v.round, commit: short(v.commit_sha), command: v.command ? redact(v.command) : '', evidence: redact(v.evidence) })),
      };
    }),
    features: data.features.map((f) => ({
      id: f.id,
      title: redact(f.title),
      milestone: f.milestone,
      fixFor: f.fix_for ? redact(f.fix_for) : '',
      state: f.state,
      stateWords: f.state === 'committed' ? 'committed' : f.state === 'building' ? (m.state === 'building' ? 'building now' : 'held') : 'pending',
      commit: short(f.commit_sha),
      handoff: handoffView(f.handoff, redact),
    })),
    rounds: data.rounds.map((r) => {
      const review = r.scrutiny as { verdict?: string; summary?: string } | null;
      const triage = r.triage as { decision?: string; rationale?: string; dispositions?: { item: string; action: string; reason: string }[] } | null;
      const dispositions = new Map((triage?.dispositions ?? []).map((d) => [d.item, d]));
      return {
        milestone: r.milestone,
        round: r.round,
        commit: short(r.commit_sha),
        outcome: r.outcome,
        review: review?.summary ? { verdict: String(review.verdict ?? ''), summary: redact(review.summary) } : null,
        triage: triage?.rationale ? { decision: String(triage.decision ?? ''), rationale: redact(triage.rationale) } : null,
        stop: r.stop_reason ? redact(r.stop_reason) : '',
        items: ((r.items ?? []) as RoundItem[]).map((i) => ({
          id: i.id,
          title: redact(i.title),
          evidence: redact(i.evidence),
          action: dispositions.get(i.id)?.action ?? '',
          reason: redact(dispositions.get(i.id)?.reason ?? ''),
        })),
      };
    }),
    events: data.events.map((e) => ({
      iso: new Date(e.created_at).toISOString(),
      at: stamp(new Date(e.created_at)),
      words: e.words,
      detail: redact(eventDetail(e.detail)),
      moved: e.from_state && e.from_state !== e.to_state ? `${stateName(e.from_state)} → ${stateName(e.to_state)}` : '',
    })),
    asOf: stamp(now),
  };
}

export type LiveView = ReturnType<typeof liveView>;

export const liveFragment = (view: LiveView) => eta.render('./livebox', view);

export function runView(run: RunRow, messages: unknown, redact: Redact) {
  const finish = run.outcome.startsWith('finished:') ? run.outcome.slice('finished:'.length) : null;
  return { id: run.id, words: runWords(run), items: transcriptItems(messages, redact, finish), outcome: outcomeWords(run.outcome), open: false };
}

export const runFragment = (view: ReturnType<typeof runView>) => eta.render('./run', view);

export function missionPage(login: string, view: LiveView, transcripts: ReturnType<typeof runView>[]): string {
  const body = eta.render('./mission', { ...view, transcripts });
  return layout({ title: `Mission #${view.id}`, body, login, live: view.running });
}

function handoffView(handoff: unknown, redact: Redact) {
  const h = handoff as Partial<Handoff> | null;
  if (!h || typeof h !== 'object' || typeof h.summary !== 'string') return null;
  return {
    status: String(h.status ?? ''),
    summary: redact(h.summary),
    commands: (h.commands_run ?? []).map((c) => ({ command: redact(String(c.command)), exit: c.exit_code, observation: c.observation ? redact(c.observation) : '' })),
    leftUndone: (h.left_undone ?? []).map((l) => redact(String(l))),
    issues: (h.issues_found ?? []).map((i) => ({ severity: String(i.severity), description: redact(String(i.description)) })),
  };
}

/** An event's detail in a few words: feature F2, M1 round 1, by @alice. */
function eventDetail(detail: Record<string, unknown> | null): string {
  if (!detail) return '';
  const parts: string[] = [];
  if (detail.feature) parts.push(String(detail.feature));
  if (detail.milestone) parts.push(`${detail.milestone} round ${detail.round}`);
  if (detail.revision) parts.push(`revision ${detail.revision}`);
  if (detail.attempt) parts.push(`attempt ${detail.attempt}`);
  if (detail.outcome) parts.push(String(detail.outcome));
  if (detail.by) parts.push(`by @${detail.by}`);
  if (detail.note) parts.push(plain(String(detail.note)));
  if (detail.error) parts.push(String(detail.error));
  return parts.join(', ');
}

/** A link GitHub gave us, only when it is on GitHub's own site (an href is never `javascript:`). */
function safeUrl(url: string, webBase: string): string {
  return url.startsWith(`${webBase}/`) ? url : '#';
}

