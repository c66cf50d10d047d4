// The two pictures of a mission, as numbers for the SVG templates: a Gantt-like timeline of every
// agent run (one row each, on a shared time axis) and the cost over time, cumulative, by role. Drawn
// on the server, so they read without JavaScript; each bar carries its own words (role, subject,
// times, turns, tokens, USD) for screen readers and tooltips, and links to its transcript.
import { formatDuration } from '../mission/lifecycle.ts';
import type { RunRow } from './mission-data.ts';

/** One colour per role, each at least 4.5:1 on white (text contrast, more than graphics need). */
export const ROLE_COLOURS: Record<string, string> = {
  planner: '#6639ba',
  worker: '#0550ae',
  scrutiny: '#a0111f',
  'user-testing': '#116329',
  triage: '#7d4e00',
};
const OTHER = '#57606a';

const WIDTH = 960;
const LABEL = 210;
const ROW = 22;
const TOP = 28;
const PLOT = WIDTH - LABEL - 20;

export interface Bar {
  id: number;
  y: number;
  x: number;
  width: number;
  colour: string;
  label: string;
  words: string;
  running: boolean;
}

export interface Tick {
  x: number;
  label: string;
}

export interface Timeline {
  width: number;
  height: number;
  label: number;
  bars: Bar[];
  ticks: Tick[];
  axisY: number;
  summary: string;
}

export function timeline(runs: RunRow[], now: Date): Timeline {
  const start = least(runs.map((r) => r.started_at.getTime()), now.getTime());
  const end = most(runs.map((r) => (r.ended_at ?? now).getTime()), start + 1_000);
  const x = (t: number) => LABEL + ((t - start) / (end - start)) * PLOT;
  const bars = runs.map((run, i): Bar => {
    const from = run.started_at.getTime();
    const to = (run.ended_at ?? now).getTime();
    const label = `${run.role}${run.subject ? ` · ${run.subject}` : ''}`;
    return {
      id: run.id,
      y: TOP + i * ROW,
      x: x(from),
      width: Math.max(2, x(to) - x(from)),
      colour: ROLE_COLOURS[run.role] ?? OTHER,
      label: label.length > 30 ? `${label.slice(0, 29)}…` : label,
      words: runWords(run, to - from),
      running: run.ended_at === null,
    };
  });
  const height = TOP + runs.length * ROW + 30;
  const ticks = Array.from({ length: 5 }, (_, i) => {
    const t = start + ((end - start) * i) / 4;
    return { x: x(t), label: clock(new Date(t)) };
  });
  const usd = runs.reduce((sum, r) => sum + r.usd, 0);
  return {
    width: WIDTH,
    height,
    label: LABEL,
    bars,
    ticks,
    axisY: height - 22,
    summary: `${runs.length} agent run${runs.length === 1 ? '' : 's'} from ${clock(new Date(start))} to ${clock(new Date(end))} (${formatDuration(end - start)}), $${usd.toFixed(2)} in all.`,
  };
}

export function runWords(run: RunRow, ms = (run.ended_at ?? new Date()).getTime() - run.started_at.getTime()): string {
  const subject = run.subject ? ` on ${run.subject}` : '';
  const when = run.ended_at ? `${clock(run.started_at)} to ${clock(run.ended_at)} (${formatDuration(ms)})` : `since ${clock(run.started_at)}, running`;
  return `${run.role}${subject}, ${run.model}: ${when}; ${run.turns} turn${run.turns === 1 ? '' : 's'}, ${Math.round(run.tokens).toLocaleString('en-US')} tokens, $${run.usd.toFixed(2)}; ${outcomeWords(run.outcome)}`;
}

export function outcomeWords(outcome: string): string {
  if (outcome.startsWith('finished:')) return `finished with ${outcome.slice('finished:'.length)}`;
  return (
    {
      running: 'still running',
      interrupted: 'interrupted (its process stopped; the step ran again)',
      'turn-cap': 'used all its turns without finishing',
      'no-finish': 'ended without its finish tool',
      stopped: 'stopped (the mission was cancelled or paused)',
      refused: 'the model refused',
      error: 'ended in an error',
    }[outcome] ?? outcome
  );
}

export interface CostCurve {
  width: number;
  height: number;
  lines: { role: string; colour: string; points: string; usd: number; endY: number }[];
  ticks: Tick[];
  top: string;
  left: number;
  summary: string;
}

/** Cumulative USD over time, one line per role, on the same time axis as the timeline. */
export function costCurve(spending: { at: Date; role: string; usd: number }[], runs: RunRow[], now: Date): CostCurve {
  const height = 180;
  const start = least([...runs.map((r) => r.started_at.getTime()), ...spending.map((s) => s.at.getTime())], now.getTime());
  const end = most([...runs.map((r) => (r.ended_at ?? now).getTime()), ...spending.map((s) => s.at.getTime())], start + 1_000);
  const totals = new Map<string, number>();
  for (const s of spending) totals.set(s.role, (totals.get(s.role) ?? 0) + s.usd);
  const top = most([...totals.values()], 0.01);
  const x = (t: number) => LABEL + ((t - start) / (end - start)) * PLOT;
  const y = (usd: number) => 20 + (1 - usd / top) * (height - 50);
  const lines = [...totals.keys()].sort().map((role) => {
    let sum = 0;
    const points = [`${x(start).toFixed(1)},${y(0).toFixed(1)}`];
    for (const s of spending.filter((s) => s.role === role)) {
      points.push(`${x(s.at.getTime()).toFixed(1)},${y(sum).toFixed(1)}`);
      sum += s.usd;
      points.push(`${x(s.at.getTime()).toFixed(1)},${y(sum).toFixed(1)}`);
    }
    points.push(`${x(end).toFixed(1)},${y(sum).toFixed(1)}`);
    return { role, colour: ROLE_COLOURS[role] ?? OTHER, points: points.join(' '), usd: sum, endY: y(sum) };
  });
  const ticks = Array.from({ length: 5 }, (_, i) => ({ x: x(start + ((end - start) * i) / 4), label: clock(new Date(start + ((end - start) * i) / 4)) }));
  return {
    width: WIDTH,
    height,
    lines,
    ticks,
    top: `$${top.toFixed(2)}`,
    left: LABEL,
    summary: lines.length ? `Cost so far by role: ${lines.map((l) => `${l.role} $${l.usd.toFixed(2)}`).join(', ')}.` : 'Nothing spent yet.',
  };
}

/** The least and greatest of many values (spreading 100k turns into Math.min overflows the stack). */
const least = (xs: number[], floor: number) => xs.reduce((a, b) => (b < a ? b : a), floor);
const most = (xs: number[], ceiling: number) => xs.reduce((a, b) => (b > a ? b : a), ceiling);

/** Times in UTC, as the server knows them; the page says so. */
export const clock = (d: Date) => d.toISOString().slice(11, 19);
export const stamp = (d: Date) => `${d.toISOString().slice(0, 10)} ${clock(d)} UTC`;
