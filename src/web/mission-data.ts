// What Mission Control shows of a mission, read from the store in one go: the page, its live
// fragment and the ETag of both come from here. Everything a model or a user wrote is kept as text
// here; pages.ts redacts secrets from it again (they were when stored) and the templates escape it.
import { createHash } from 'node:crypto';
import type { Queryable } from '../store/database.ts';
import type { FeatureRow, Mission, MissionStore, ValidationRun, Verdict } from '../store/missions.ts';
import { TRANSITIONS, nowLine, stateName, type MissionEvent } from '../mission/lifecycle.ts';

export interface RunRow {
  id: number;
  role: string;
  model: string;
  subject: string | null;
  outcome: string;
  started_at: Date;
  ended_at: Date | null;
  turns: number;
  tokens: number;
  usd: number;
}

export interface CostRow {
  role: string;
  model: string;
  tokens: number;
  /** Every input token: uncached, read from the cache, written to it. */
  input_tokens: number;
  cache_read_tokens: number;
  usd: number;
}

export interface MissionData {
  mission: Mission;
  features: FeatureRow[];
  rounds: ValidationRun[];
  /** Every verdict, by assertion, oldest first. */
  verdicts: Map<string, Verdict[]>;
  events: (MissionEvent & { words: string })[];
  runs: RunRow[];
  costs: CostRow[];
  /** Each turn's cost in order: the cost-over-time picture. */
  spending: { at: Date; role: string; usd: number }[];
  now: string;
  stateName: string;
}

/** What the page shows of `mission`: the store's own reads where it has them, and the page's (all verdicts, runs, costs by turn). */
export async function loadMission(store: MissionStore, mission: Mission): Promise<MissionData> {
  const { db } = store;
  const id = mission.id;
  const [features, rounds, verdicts, events, runs, costs, spending] = await Promise.all([
    store.features(id),
    store.validationRuns(id),
    db.query<Verdict>('SELECT * FROM verdicts WHERE mission_id = $1 ORDER BY created_at, round', [id]),
    store.events(id),
    runRows(db, id),
    db.query<CostRow>(
      `SELECT role, model, sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens)::float8 AS tokens,
              sum(input_tokens + cache_read_tokens + cache_write_tokens)::float8 AS input_tokens,
              sum(cache_read_tokens)::float8 AS cache_read_tokens, sum(usd)::float8 AS usd
       FROM usage WHERE mission_id = $1 GROUP BY role, model ORDER BY sum(usd) DESC, role, model`,
      [id],
    ),
    db.query<{ at: Date; role: string; usd: number }>('SELECT created_at AS at, role, usd FROM usage WHERE mission_id = $1 ORDER BY id', [id]),
  ]);
  const byAssertion = new Map<string, Verdict[]>();
  for (const v of verdicts) byAssertion.set(v.assertion_id, [...(byAssertion.get(v.assertion_id) ?? []), v]);
  return {
    mission,
    features,
    rounds,
    verdicts: byAssertion,
    events: events.map((e) => ({ ...e, id: Number(e.id), words: TRANSITIONS[e.event]?.words ?? e.event })),
    runs,
    costs,
    spending,
    now: nowLine(mission, features),
    stateName: stateName(mission.state),
  };
}

/** The agent runs of a mission, without their transcripts, with the tokens and USD of their turns. */
export async function runRows(db: Queryable, id: number): Promise<RunRow[]> {
  const rows = await db.query<RunRow>(
    `SELECT t.id, t.role, t.model, t.subject, t.outcome, COALESCE(t.started_at, t.created_at) AS started_at, t.ended_at,
            GREATEST(t.turns, COALESCE(u.turns, 0))::int AS turns,
            COALESCE(u.tokens, 0)::float8 AS tokens, COALESCE(u.usd, 0)::float8 AS usd
     FROM transcripts t
     LEFT JOIN (SELECT run_id, count(*) AS turns, sum(input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) AS tokens, sum(usd) AS usd
                FROM usage WHERE mission_id = $1 GROUP BY run_id) u ON u.run_id = t.id
     WHERE t.mission_id = $1 ORDER BY t.id`,
    [id],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}

/** One run's transcript, or null when it is not this mission's. */
export async function transcriptOf(db: Queryable, missionId: number, runId: number): Promise<{ run: RunRow; messages: unknown } | null> {
  const [row] = await db.query<{ messages: unknown }>('SELECT messages FROM transcripts WHERE mission_id = $1 AND id = $2', [missionId, runId]);
  if (!row) return null;
  const run = (await runRows(db, missionId)).find((r) => r.id === runId)!;
  return { run, messages: row.messages };
}

/** Every ended run's transcript, by run id: the page holds them all. */
export async function transcripts(db: Queryable, missionId: number): Promise<Map<number, unknown>> {
  const rows = await db.query<{ id: number; messages: unknown }>(`SELECT id, messages FROM transcripts WHERE mission_id = $1 AND outcome <> 'running' ORDER BY id`, [missionId]);
  return new Map(rows.map((r) => [Number(r.id), r.messages]));
}

/**
 * A fingerprint of everything the live part of the page shows: the newest event, run, turn and
 * write. Cheap to ask (indexed maxima), so an unchanged page is a 304 without rendering anything.
 */
export async function missionVersion(db: Queryable, id: number): Promise<string | null> {
  const [row] = await db.query<Record<string, unknown>>(
    `SELECT m.updated_at,
            (SELECT max(id) FROM mission_events WHERE mission_id = $1) AS event,
            (SELECT max(id) FROM usage WHERE mission_id = $1) AS turn,
            (SELECT count(*) FROM transcripts WHERE mission_id = $1 AND ended_at IS NOT NULL) AS ended,
            (SELECT max(id) FROM transcripts WHERE mission_id = $1) AS run
     FROM missions m WHERE m.id = $1`,
    [id],
  );
  if (!row) return null;
  // Hashed: the raw ids are global counters, whose gaps would show activity in other missions.
  const raw = [id, row.updated_at instanceof Date ? row.updated_at.getTime() : String(row.updated_at), row.event, row.turn, row.ended, row.run].map(String).join('.');
  return createHash('sha256').update(raw).digest('base64url').slice(0, 22);
}

