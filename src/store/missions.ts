// Where a mission's state changes: every write to a mission goes through this module, and every
// change of state through `transition`, by the lifecycle's table (mission/lifecycle.ts); only
// `create` inserts a mission and its `labelled` event itself.
import type { TokenUsage } from '../agents/pricing.ts';
import type { Role, UsageRecorder } from '../agents/runtime.ts';
import type { Plan } from '../mission/plan.ts';
import type { Database, Queryable } from './database.ts';
import { missionNumbers, type MissionNumbers } from './mission-numbers.ts';
import { PLANNING_STATES, TRANSITIONS, type LifecycleEvent, type MissionEvent, type MissionState, type RecordedEvent } from '../mission/lifecycle.ts';


/** Why a building mission holds before its next step. */
export type PauseReason = 'user' | 'worker' | 'budget' | 'rounds' | 'error';

/** True while the plan is still open to feedback: never once a contract is locked. */
export const isPlanning = (mission: Mission) => PLANNING_STATES.includes(mission.state) && !mission.contract;

export interface Mission {
  id: number;
  installation_id: number;
  repo_id: number;
  owner: string;
  repo: string;
  issue_number: number;
  /** The issue's title when it was labelled (null for missions from before it was kept). */
  issue_title: string | null;
  state: MissionState;
  started_by: string;
  origin: string;
  comment_id: number | null;
  feedback_seq: number;
  planned_seq: number;
  revision: number;
  rendered_revision: number;
  /** The newest revision whose comment edit is on its way (it may be on the maintainer's screen already). */
  showing_revision: number;
  approved_revision: number | null;
  approved_by: string | null;
  approved_at: Date | null;
  contract: Plan | null;
  error: string | null;
  branch: string | null;
  base_sha: string | null;
  pr_number: number | null;
  pr_url: string | null;
  pause_reason: PauseReason | null;
  /** What stopped the mission, in words for the maintainer (a worker's handoff, the budget). */
  stop_note: string | null;
  /** What the current step does besides building a feature (validating a milestone). */
  activity: string | null;
  /** Validation rounds granted beyond `validation.max_fix_rounds` by /retry. */
  extra_rounds: number;
  created_at: Date;
  updated_at: Date;
}

export interface ValidationRun {
  mission_id: number;
  milestone: string;
  round: number;
  commit_sha: string;
  outcome: 'passed' | 'fixing' | 'stopped';
  scrutiny: unknown;
  triage: unknown;
  /** What stopped the mission at this round, in words (the mission's stop note), and why: its rounds or triage, or a run that failed. */
  stop_reason: string | null;
  stop_kind: Extract<PauseReason, 'rounds' | 'error'> | null;
  review_id: number | null;
  /** The items triage disposed of (null for rounds stored before they were kept). */
  items: RoundItem[] | null;
}

export interface Verdict {
  assertion_id: string;
  milestone: string;
  round: number;
  commit_sha: string;
  status: 'pass' | 'fail' | 'blocked';
  evidence: string;
  command: string | null;
}

export interface FixFeature {
  title: string;
  description: string;
  assertion_ids: string[];
  addresses?: string[] | undefined;
}

export type FeatureState = 'pending' | 'building' | 'committed';

export interface FeatureRow {
  mission_id: number;
  id: string;
  position: number;
  title: string;
  description: string;
  milestone: string;
  assertion_ids: string[];
  state: FeatureState;
  attempts: number;
  commit_sha: string | null;
  handoff: unknown;
  committed_at: Date | null;
  /** For a fix feature: `M1#2`, the milestone and round whose findings it repairs. */
  fix_for: string | null;
  /** Worker runs of this feature that failed since the last go-ahead (a /retry resets it). */
  failed_attempts: number;
  /** What the last failed attempt left: its handoff, or its last words. */
  last_attempt: LastAttempt | null;
  /** For a fix feature: the ids of the round's items it addresses. */
  addresses: string[] | null;
}

/** A worker run of a feature that did not end in a complete handoff, as the next attempt is told. */
export interface LastAttempt {
  status: 'partial' | 'blocked' | 'failed';
  summary: string;
  left_undone: string[];
  issues_found: { severity: string; description: string }[];
}

/** One thing a validation round found that triage must dispose of. */
export interface RoundItem {
  /** `S1` (a scrutiny finding), `W1` (a worker's report) or an assertion id (failed or blocked). */
  id: string;
  kind: 'finding' | 'worker' | 'assertion';
  /** One line: what it is. */
  title: string;
  /** What supports it: the finding's detail, the verdict's evidence, the worker's words. */
  evidence: string;
}

export interface Revision {
  mission_id: number;
  number: number;
  kind: 'plan' | 'questions';
  body: Plan | { questions: string[] };
  change: string;
  comment_id: number | null;
}

export interface MissionKey {
  installationId: number;
  repoId: number;
  owner: string;
  repo: string;
  issueNumber: number;
  issueTitle?: string;
}

/**
 * The one way a mission changes state: the event's row of the transition table says from which
 * states it may happen and where it leads; the change and its record are one statement. `set` and
 * `where` add to the update (their parameters start at $6; the mission's own columns as `m.`).
 * False when the mission was in none of the event's states (nothing changed, nothing recorded).
 */
export async function transition(
  db: Queryable,
  id: number,
  event: LifecycleEvent,
  change: { set?: string; where?: string; params?: unknown[]; detail?: Record<string, unknown> } = {},
): Promise<boolean> {
  const move = TRANSITIONS[event];
  if (move.to === null) {
    // Recorded only in the states the table names; the mission's last activity is now.
    const rows = await db.query(
      `WITH touched AS (UPDATE missions SET updated_at = now() WHERE id = $1 AND state = ANY($4) RETURNING id, state)
       INSERT INTO mission_events (mission_id, event, from_state, to_state, detail) SELECT id, $2, state, state, $3 FROM touched RETURNING id`,
      [id, event, change.detail ? JSON.stringify(change.detail) : null, move.from],
    );
    return rows.length > 0;
  }
  const rows = await db.query(
    `WITH moved AS (
       UPDATE missions m SET state = $2, updated_at = now()${change.set ? `, ${change.set}` : ''}
       FROM (SELECT id, state FROM missions WHERE id = $1) prior
       WHERE m.id = prior.id AND m.state = ANY($3)${change.where ? ` AND ${change.where}` : ''}
       RETURNING prior.state AS from_state, m.state AS to_state)
     INSERT INTO mission_events (mission_id, event, from_state, to_state, detail)
     SELECT $1, $4, from_state, to_state, $5 FROM moved RETURNING id`,
    [id, move.to, move.from, event, change.detail ? JSON.stringify(change.detail) : null, ...(change.params ?? [])],
  );
  return rows.length > 0;
}

/** The one way a mission is held, alone or inside a transaction. False when it was not building (or paused, for a reason that replaces a user's /pause). */
function pauseIn(db: Queryable, id: number, reason: PauseReason, note: string | null): Promise<boolean> {
  return transition(db, id, reason === 'user' ? 'paused_by_user' : 'paused', { set: 'pause_reason = $6, stop_note = $7', params: [reason, note], detail: { reason, note } });
}

export class MissionStore implements UsageRecorder {
  readonly db: Database;
  readonly #numbers: MissionNumbers | undefined;
  constructor(db: Database) {
    this.db = db;
    this.#numbers = missionNumbers(db);
  }

  async isProcessed(key: string): Promise<boolean> {
    return (await this.db.query('SELECT 1 FROM processed_events WHERE key = $1', [key])).length > 0;
  }

  /** True the first time `key` is marked; false when it was marked before (a redelivery). */
  async markProcessed(key: string): Promise<boolean> {
    const rows = await this.db.query('INSERT INTO processed_events (key) VALUES ($1) ON CONFLICT DO NOTHING RETURNING key', [key]);
    return rows.length > 0;
  }

  /** A new mission, or null when the issue already has a live one. */
  async create(key: MissionKey, startedBy: string, origin: string): Promise<Mission | null> {
    const rows = await this.db.query<Mission>(
      `WITH created AS (
         INSERT INTO missions (installation_id, repo_id, owner, repo, issue_number, state, started_by, origin, issue_title)
         VALUES ($1, $2, $3, $4, $5, '${TRANSITIONS.labelled.to}', $6, $7, $8)
         ON CONFLICT (repo_id, issue_number) WHERE state NOT IN ('cancelled', 'done') DO NOTHING
         RETURNING *),
       recorded AS (
         INSERT INTO mission_events (mission_id, event, from_state, to_state, detail)
         SELECT id, 'labelled', NULL, state, jsonb_build_object('by', started_by) FROM created)
       SELECT * FROM created`,
      [key.installationId, key.repoId, key.owner, key.repo, key.issueNumber, startedBy, origin, key.issueTitle ?? null],
    );
    // From now on a comment on the issue is looked up (mission-numbers.ts).
    if (rows[0]) this.#numbers?.add(key.repoId, key.issueNumber);
    return rows[0] ?? null;
  }

  async get(id: number): Promise<Mission> {
    const [row] = await this.db.query<Mission>('SELECT * FROM missions WHERE id = $1', [id]);
    if (!row) throw new Error(`mission ${id} does not exist`);
    return row;
  }

  /**
   * Only the state: what the cancellation checks read after every agent turn and every 2 s of a step,
   * and what a step or a command (/retry, /resume, /fix) asks before it requests the next step. The
   * whole row, its contract included, takes two to three times as long to read on the embedded engine.
   */
  async stateOf(id: number): Promise<MissionState> {
    const [row] = await this.db.query<{ state: MissionState }>('SELECT state FROM missions WHERE id = $1', [id]);
    if (!row) throw new Error(`mission ${id} does not exist`);
    return row.state;
  }

  async live(repoId: number, issueNumber: number): Promise<Mission | null> {
    const [row] = await this.db.query<Mission>(
      `SELECT * FROM missions WHERE repo_id = $1 AND issue_number = $2 AND state NOT IN ('cancelled', 'done')`,
      [repoId, issueNumber],
    );
    return row ?? null;
  }

  /** The latest mission of an issue, live or not. */
  async latest(repoId: number, issueNumber: number): Promise<Mission | null> {
    const [row] = await this.db.query<Mission>(
      'SELECT * FROM missions WHERE repo_id = $1 AND issue_number = $2 ORDER BY id DESC LIMIT 1',
      [repoId, issueNumber],
    );
    return row ?? null;
  }

  /** Trusted feedback or an answer arrived: the planner has work to do. False once past planning. */
  async requestPlanning(id: number): Promise<boolean> {
    return transition(this.db, id, 'feedback', { set: 'feedback_seq = m.feedback_seq + 1, error = NULL', where: 'm.contract IS NULL' });
  }

  async setCommentId(id: number, commentId: number): Promise<void> {
    await this.db.query('UPDATE missions SET comment_id = $2, updated_at = now() WHERE id = $1', [id, commentId]);
  }

  /**
   * Stores a planner outcome as the next revision, unless the mission left planning meanwhile
   * (approved or cancelled while the planner ran): then it returns null and nothing changes.
   */
  async addRevision(
    id: number,
    plannedSeq: number,
    revision: Omit<Revision, 'mission_id' | 'number' | 'comment_id'>,
  ): Promise<Revision | null> {
    return this.db.transaction(async (tx) => {
      const [mission] = await tx.query<Mission>('SELECT * FROM missions WHERE id = $1 FOR UPDATE', [id]);
      if (!mission || !PLANNING_STATES.includes(mission.state)) return null;
      const number = mission.revision + 1;
      const event: LifecycleEvent =
        mission.feedback_seq > plannedSeq ? 'superseded' // more feedback arrived while planning
        : revision.kind === 'questions' ? 'asked'
        : number === 1 ? 'planned'
        : 'revised';
      await tx.query(
        'INSERT INTO plan_revisions (mission_id, number, kind, body, change) VALUES ($1, $2, $3, $4, $5)',
        [id, number, revision.kind, JSON.stringify(revision.body), revision.change],
      );
      await transition(tx, id, event, { set: 'revision = $6, planned_seq = $7, error = NULL', params: [number, plannedSeq], detail: { revision: number } });
      return { mission_id: id, number, ...revision, comment_id: null };
    });
  }

  async revision(id: number, number: number): Promise<Revision | null> {
    const [row] = await this.db.query<Revision>('SELECT * FROM plan_revisions WHERE mission_id = $1 AND number = $2', [id, number]);
    return row ?? null;
  }

  /** The newest revision that is a plan (questions revisions carry no plan). */
  async latestPlan(id: number): Promise<Revision | null> {
    const [row] = await this.db.query<Revision>(
      `SELECT * FROM plan_revisions WHERE mission_id = $1 AND kind = 'plan' ORDER BY number DESC LIMIT 1`,
      [id],
    );
    return row ?? null;
  }

  async setRevisionComment(id: number, number: number, commentId: number): Promise<void> {
    await this.db.query('UPDATE plan_revisions SET comment_id = $3 WHERE mission_id = $1 AND number = $2', [id, number, commentId]);
  }

  /** About to edit the comment to show `revision`: from now on a maintainer may be looking at it. */
  async markShowing(id: number, revision: number): Promise<void> {
    await this.db.query('UPDATE missions SET showing_revision = GREATEST(showing_revision, $2) WHERE id = $1', [id, revision]);
  }

  async markRendered(id: number, revision: number): Promise<void> {
    await this.db.query('UPDATE missions SET rendered_revision = GREATEST(rendered_revision, $2) WHERE id = $1', [id, revision]);
  }

  /** Locks the contract and its features, ready to build. False when the mission was no longer awaiting approval. */
  async approve(id: number, revision: number, contract: Plan, by: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const approved = await transition(tx, id, 'approved', {
        set: 'approved_revision = $6, contract = $7, approved_by = $8, approved_at = now()',
        params: [revision, JSON.stringify(contract), by],
        detail: { revision, by },
      });
      if (!approved) return false;
      for (const [position, f] of contract.features.entries()) {
        await tx.query(
          `INSERT INTO features (mission_id, id, position, title, description, milestone, assertion_ids)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [id, f.id, position, f.title, f.description, f.milestone, JSON.stringify(f.assertion_ids)],
        );
      }
      return true;
    });
  }

  async features(id: number): Promise<FeatureRow[]> {
    return this.db.query<FeatureRow>('SELECT * FROM features WHERE mission_id = $1 ORDER BY position', [id]);
  }

  /** The branch and the commit it starts from, fixed by the first build step. */
  async setBranch(id: number, branch: string, baseSha: string): Promise<void> {
    await this.db.query('UPDATE missions SET branch = $2, base_sha = $3, updated_at = now() WHERE id = $1 AND branch IS NULL', [id, branch, baseSha]);
  }

  async setPullRequest(id: number, number: number, url: string): Promise<void> {
    const [row] = await this.db.query<{ repo_id: number }>('UPDATE missions SET pr_number = $2, pr_url = $3, updated_at = now() WHERE id = $1 RETURNING repo_id', [id, number, url]);
    // From now on a comment on the pull request is looked up (mission-numbers.ts).
    if (row) this.#numbers?.add(row.repo_id, number);
  }

  /** The mission comment is gone (deleted by someone): the next showing posts a new one. */
  async forgetComment(id: number): Promise<void> {
    await this.db.query('UPDATE missions SET comment_id = NULL, updated_at = now() WHERE id = $1', [id]);
  }

  /** Missions that should be building: each needs a step queued (after a restart, for instance). */
  async building(): Promise<number[]> {
    return (await this.db.query<{ id: number }>(`SELECT id FROM missions WHERE state = 'building' ORDER BY id`)).map((r) => r.id);
  }

  /**
   * The mission a comment on issue or pull request `number` belongs to (its issue's latest, else the
   * one whose pull request it is), with only what the webhook needs: one small read, since most
   * comments concern no mission, and on the embedded engine none for a number no mission has
   * (mission-numbers.ts).
   */
  async commentTarget(repoId: number, number: number): Promise<{ id: number; showing_revision: number } | null> {
    if (this.#numbers && !(await this.#numbers.mayHave(repoId, number))) return null;
    const [row] = await this.db.query<{ id: number; showing_revision: number }>(
      'SELECT id, showing_revision FROM missions WHERE repo_id = $1 AND (issue_number = $2 OR pr_number = $2) ORDER BY issue_number = $2 DESC, id DESC LIMIT 1',
      [repoId, number],
    );
    return row ?? null;
  }

  /** The mission whose draft pull request this is. */
  async byPullRequest(repoId: number, prNumber: number): Promise<Mission | null> {
    const [row] = await this.db.query<Mission>('SELECT * FROM missions WHERE repo_id = $1 AND pr_number = $2 ORDER BY id DESC LIMIT 1', [repoId, prNumber]);
    return row ?? null;
  }

  async startFeature(id: number, featureId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [row] = await tx.query<{ attempts: number }>(
        `UPDATE features SET state = 'building', attempts = attempts + 1 WHERE mission_id = $1 AND id = $2 RETURNING attempts`,
        [id, featureId],
      );
      await transition(tx, id, 'feature_started', { detail: { feature: featureId, attempt: row?.attempts ?? 0 } });
    });
  }

  /**
   * A worker run of the feature ended without a complete handoff: the feature waits to be built
   * again, with `attempt` for the next worker. Returns how many runs have failed since the last go-ahead.
   */
  async failAttempt(id: number, featureId: string, attempt: LastAttempt): Promise<number> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<{ failed_attempts: number }>(
        `UPDATE features SET state = 'pending', failed_attempts = failed_attempts + 1, last_attempt = $3
         WHERE mission_id = $1 AND id = $2 AND state <> 'committed' RETURNING failed_attempts`,
        [id, featureId, JSON.stringify(attempt)],
      );
      if (row) await transition(tx, id, 'feature_failed', { detail: { feature: featureId, status: attempt.status } });
      return row?.failed_attempts ?? 0;
    });
  }

  /** A feature's commit is on the pushed branch. The handoff is null when only the branch knew (a crash after the push). */
  async commitFeature(id: number, featureId: string, sha: string, handoff: unknown): Promise<void> {
    await this.db.transaction(async (tx) => {
      const [before] = await tx.query<{ state: string }>('SELECT state FROM features WHERE mission_id = $1 AND id = $2 FOR UPDATE', [id, featureId]);
      await tx.query(
        `UPDATE features SET state = 'committed', commit_sha = $3, handoff = COALESCE($4, handoff), committed_at = COALESCE(committed_at, now())
         WHERE mission_id = $1 AND id = $2`,
        [id, featureId, sha, handoff === null ? null : JSON.stringify(handoff)],
      );
      // Once per feature: a recovery that finds the commit on the branch again records nothing new.
      if (before && before.state !== 'committed') await transition(tx, id, 'feature_committed', { detail: { feature: featureId, sha } });
    });
  }

  /**
   * Holds a building mission before its next step. False when it was neither building nor (for a
   * reason other than a user's) paused: a worker's, the budget's or a round's reason replaces a
   * maintainer's /pause that came first, as it is the one to act on.
   */
  async pause(id: number, reason: PauseReason, note: string | null): Promise<boolean> {
    return pauseIn(this.db, id, reason, note);
  }

  /** Back to building from a pause or a failed build step. False when there was nothing to go on from. */
  async resume(id: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const resumed = await transition(tx, id, 'resumed', {
        set: `pause_reason = NULL, stop_note = NULL, error = NULL, extra_rounds = m.extra_rounds + CASE WHEN m.pause_reason = 'rounds' THEN 1 ELSE 0 END`,
        where: 'm.contract IS NOT NULL',
      });
      // A maintainer's go-ahead gives a failing feature its attempts again.
      if (resumed) await tx.query(`UPDATE features SET failed_attempts = 0 WHERE mission_id = $1 AND state <> 'committed'`, [id]);
      return resumed;
    });
  }

  async setActivity(id: number, activity: string | null): Promise<void> {
    await this.db.query('UPDATE missions SET activity = $2, updated_at = now() WHERE id = $1', [id, activity]);
  }

  async validationRuns(id: number): Promise<ValidationRun[]> {
    return this.db.query<ValidationRun>('SELECT * FROM validation_runs WHERE mission_id = $1 ORDER BY created_at, round', [id]);
  }

  async roundVerdicts(id: number, milestone: string, round: number): Promise<Verdict[]> {
    return this.db.query<Verdict>('SELECT * FROM verdicts WHERE mission_id = $1 AND milestone = $2 AND round = $3 ORDER BY assertion_id', [id, milestone, round]);
  }

  /** Each assertion's newest verdict. */
  async latestVerdicts(id: number): Promise<Map<string, Verdict>> {
    const rows = await this.db.query<Verdict>('SELECT * FROM verdicts WHERE mission_id = $1 ORDER BY created_at, round', [id]);
    return new Map(rows.map((v) => [v.assertion_id, v]));
  }

  /**
   * A milestone's validation round, its verdicts and the fix features triage asked for, in one
   * transaction: a step that dies before it leaves nothing, and one that ran it is never repeated.
   * Fix features take the next free F ids and go right after the milestone's last feature.
   */
  async recordValidation(
    id: number,
    run: Omit<ValidationRun, 'mission_id' | 'review_id'>,
    verdicts: Omit<Verdict, 'milestone' | 'round' | 'commit_sha'>[],
    fixes: FixFeature[],
  ): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO validation_runs (mission_id, milestone, round, commit_sha, outcome, scrutiny, triage, stop_reason, stop_kind, items) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [id, run.milestone, run.round, run.commit_sha, run.outcome, JSON.stringify(run.scrutiny), JSON.stringify(run.triage), run.stop_reason, run.stop_kind, JSON.stringify(run.items)],
      );
      for (const v of verdicts) {
        await tx.query(
          `INSERT INTO verdicts (mission_id, assertion_id, milestone, round, commit_sha, status, evidence, command) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [id, v.assertion_id, run.milestone, run.round, run.commit_sha, v.status, v.evidence, v.command],
        );
      }
      const features = await tx.query<FeatureRow>('SELECT * FROM features WHERE mission_id = $1 ORDER BY position', [id]);
      let nextNumber = Math.max(0, ...features.map((f) => Number(f.id.slice(1)))) + 1;
      const after = Math.max(...features.filter((f) => f.milestone === run.milestone).map((f) => f.position));
      if (fixes.length) {
        await tx.query('UPDATE features SET position = position + $3 WHERE mission_id = $1 AND position > $2', [id, after, fixes.length]);
      }
      if (run.triage) await transition(tx, id, 'triaged', { detail: { milestone: run.milestone, round: run.round, outcome: run.outcome, fixes: fixes.length } });
      const ids: string[] = [];
      for (const [i, fix] of fixes.entries()) {
        const featureId = `F${nextNumber++}`;
        ids.push(featureId);
        await tx.query(
          `INSERT INTO features (mission_id, id, position, title, description, milestone, assertion_ids, fix_for, addresses) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [id, featureId, after + 1 + i, fix.title, fix.description, run.milestone, JSON.stringify(fix.assertion_ids), `${run.milestone}#${run.round}`, JSON.stringify(fix.addresses ?? null)],
        );
      }
      // A stopped round holds the mission in the same transaction.
      if (run.stop_reason && run.stop_kind) await pauseIn(tx, id, run.stop_kind, run.stop_reason);
      return ids;
    });
  }

  async setReviewId(id: number, milestone: string, round: number, reviewId: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('UPDATE validation_runs SET review_id = $4 WHERE mission_id = $1 AND milestone = $2 AND round = $3', [id, milestone, round, reviewId]);
      await transition(tx, id, 'round_shown', { detail: { milestone, round } });
    });
  }

  /**
   * `/fix <text>`: a fix feature at the end of the last milestone, and the mission building again
   * (a done mission reopens, so the milestone is validated once more). Null when it cannot take one.
   */
  async addRequestedFix(id: number, fix: FixFeature, by: string, commentId: number): Promise<string | null> {
    return this.db.transaction(async (tx) => {
      const [mission] = await tx.query<Mission>('SELECT * FROM missions WHERE id = $1 FOR UPDATE', [id]);
      if (!mission?.contract || mission.state === 'cancelled') return null;
      const features = await tx.query<FeatureRow>('SELECT * FROM features WHERE mission_id = $1 ORDER BY position', [id]);
      // The same comment taken again (a retried job) adds nothing more.
      const source = `/fix by @${by} (comment ${commentId})`;
      const existing = features.find((f) => f.fix_for === source);
      if (existing) return existing.id;
      const last = features.at(-1)!;
      const featureId = `F${Math.max(...features.map((f) => Number(f.id.slice(1)))) + 1}`;
      await tx.query(
        `INSERT INTO features (mission_id, id, position, title, description, milestone, assertion_ids, fix_for) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [id, featureId, last.position + 1, fix.title, fix.description, last.milestone, JSON.stringify(fix.assertion_ids), source],
      );
      await transition(tx, id, 'fix_requested', { detail: { feature: featureId, by } });
      await transition(tx, id, 'reopened', { set: 'error = NULL', detail: { feature: featureId } });
      return featureId;
    });
  }

  /** Every assertion passed: the mission is done. */
  async markDone(id: number): Promise<boolean> {
    // Not while a feature (a /fix that arrived meanwhile) is still to be built.
    return transition(this.db, id, 'done', { set: 'activity = NULL', where: `NOT EXISTS (SELECT 1 FROM features f WHERE f.mission_id = $1 AND f.state <> 'committed')` });
  }

  /** USD spent so far on the mission, every role. */
  async spent(id: number): Promise<number> {
    const [row] = await this.db.query<{ usd: number }>('SELECT COALESCE(sum(usd), 0)::float8 AS usd FROM usage WHERE mission_id = $1', [id]);
    return row?.usd ?? 0;
  }

  /**
   * A step failed. A pause it interrupted keeps its reason: a round stopped by its rounds still gets
   * its extra round from the /retry that follows.
   */
  async fail(id: number, what: string): Promise<void> {
    await transition(this.db, id, 'failed', { set: 'error = $6', params: [what], detail: { error: what } });
  }

  async cancel(id: number): Promise<boolean> {
    return transition(this.db, id, 'cancelled');
  }

  async startRun(entry: { missionId: number; role: Role; model: string; subject: string | null }): Promise<number> {
    // A run of the same role on the same subject that never ended belonged to a process that died:
    // this one replaces it, so it is shown as interrupted rather than running for ever.
    await this.db.query(
      `UPDATE transcripts SET outcome = 'interrupted', ended_at = now() WHERE mission_id = $1 AND role = $2 AND subject IS NOT DISTINCT FROM $3 AND outcome = 'running'`,
      [entry.missionId, entry.role, entry.subject],
    );
    const [row] = await this.db.query<{ id: number }>(
      `INSERT INTO transcripts (mission_id, role, model, outcome, messages, subject, started_at) VALUES ($1, $2, $3, 'running', '[]', $4, now()) RETURNING id`,
      [entry.missionId, entry.role, entry.model, entry.subject],
    );
    return Number(row!.id);
  }

  async recordUsage(entry: { missionId: number; runId?: number | null; role: Role; model: string; usage: TokenUsage; usd: number }): Promise<void> {
    const u = entry.usage;
    await this.db.query(
      `INSERT INTO usage (mission_id, run_id, role, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, usd)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [entry.missionId, entry.runId ?? null, entry.role, entry.model, u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens, u.cache_write_1h_tokens ?? 0, entry.usd],
    );
  }

  /** A run ended: its row gets the transcript, the outcome and the end (a run whose start was not recorded gets a row now). */
  async saveTranscript(entry: { missionId: number; runId: number | null; role: Role; model: string; outcome: string; turns: number; messages: unknown }): Promise<void> {
    const messages = JSON.stringify(entry.messages);
    if (entry.runId !== null) {
      await this.db.query(`UPDATE transcripts SET outcome = $2, messages = $3, turns = $4, ended_at = now() WHERE id = $1`, [entry.runId, entry.outcome, messages, entry.turns]);
      return;
    }
    await this.db.query(
      `INSERT INTO transcripts (mission_id, role, model, outcome, messages, turns, started_at, ended_at) VALUES ($1, $2, $3, $4, $5, $6, now(), now())`,
      [entry.missionId, entry.role, entry.model, entry.outcome, messages, entry.turns],
    );
  }

  /** A mission's story: its lifecycle events in order. */
  async events(id: number): Promise<MissionEvent[]> {
    return this.db.query<MissionEvent>('SELECT id, event, from_state, to_state, detail, created_at FROM mission_events WHERE mission_id = $1 ORDER BY id', [id]);
  }

  /** Records an event that moves nothing (a validation round started). */
  async record(id: number, event: RecordedEvent, detail?: Record<string, unknown>): Promise<void> {
    await transition(this.db, id, event, detail ? { detail } : {});
  }

  /** Tokens and USD per role and model (a role's model may change between steps). */
  async costByRole(id: number): Promise<(TokenUsage & { role: Role; model: string; usd: number })[]> {
    return this.db.query(
      `SELECT role, model, sum(input_tokens)::float8 AS input_tokens, sum(output_tokens)::float8 AS output_tokens,
              sum(cache_read_tokens)::float8 AS cache_read_tokens, sum(cache_write_tokens)::float8 AS cache_write_tokens,
              sum(cache_write_1h_tokens)::float8 AS cache_write_1h_tokens, sum(usd)::float8 AS usd
       FROM usage WHERE mission_id = $1 GROUP BY role, model ORDER BY role, model`,
      [id],
    );
  }
}
