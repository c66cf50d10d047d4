// The schema, as an ordered list of migrations. Applied under an advisory lock so several processes
// starting against one server do not race; each migration runs once, in its own transaction.
import type { Database } from './database.ts';

const MIGRATIONS: string[] = [
  `
  CREATE TABLE missions (
    id               bigserial PRIMARY KEY,
    installation_id  bigint NOT NULL,
    repo_id          bigint NOT NULL,
    owner            text NOT NULL,
    repo             text NOT NULL,
    issue_number     integer NOT NULL,
    state            text NOT NULL,
    started_by       text NOT NULL,
    origin           text NOT NULL,           -- the event that started it (a label delivery)
    comment_id       bigint,
    feedback_seq     integer NOT NULL DEFAULT 0,
    planned_seq      integer NOT NULL DEFAULT -1,
    revision         integer NOT NULL DEFAULT 0,
    rendered_revision integer NOT NULL DEFAULT 0,
    approved_revision integer,
    approved_by      text,
    approved_at      timestamptz,
    contract         jsonb,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
  );
  -- One mission per issue at a time: a second label on a live mission starts nothing.
  CREATE UNIQUE INDEX missions_one_live_per_issue ON missions (repo_id, issue_number)
    WHERE state NOT IN ('cancelled', 'done');

  CREATE TABLE plan_revisions (
    mission_id  bigint NOT NULL REFERENCES missions(id),
    number      integer NOT NULL,
    kind        text NOT NULL,           -- 'plan' | 'questions'
    body        jsonb NOT NULL,          -- the plan, or { questions }
    change      text NOT NULL,           -- one line: what this revision changed
    comment_id  bigint,                  -- for questions: the comment that asked them
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mission_id, number)
  );

  -- Webhook deliveries and command comments already taken in: GitHub redelivers, we act once.
  CREATE TABLE processed_events (
    key         text PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now()
  );

  CREATE TABLE usage (
    id                  bigserial PRIMARY KEY,
    mission_id          bigint NOT NULL REFERENCES missions(id),
    role                text NOT NULL,
    model               text NOT NULL,
    input_tokens        bigint NOT NULL,
    output_tokens       bigint NOT NULL,
    cache_read_tokens   bigint NOT NULL,
    cache_write_tokens  bigint NOT NULL,
    usd                 double precision NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX usage_by_mission ON usage (mission_id);

  CREATE TABLE transcripts (
    id          bigserial PRIMARY KEY,
    mission_id  bigint NOT NULL REFERENCES missions(id),
    role        text NOT NULL,
    model       text NOT NULL,
    outcome     text NOT NULL,
    messages    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX transcripts_by_mission ON transcripts (mission_id);
  `,
  `
  -- Building: the branch, its base, the draft pull request, and why a mission is paused.
  ALTER TABLE missions ADD COLUMN branch text;
  ALTER TABLE missions ADD COLUMN base_sha text;
  ALTER TABLE missions ADD COLUMN pr_number integer;
  ALTER TABLE missions ADD COLUMN pr_url text;
  ALTER TABLE missions ADD COLUMN pause_reason text;
  ALTER TABLE missions ADD COLUMN stop_note text;
  CREATE INDEX missions_by_pr ON missions (repo_id, pr_number);

  -- The features of an approved contract, in build order. The pushed branch is the truth about
  -- which are committed (their trailers); this table mirrors it and keeps the handoffs.
  CREATE TABLE features (
    mission_id     bigint NOT NULL REFERENCES missions(id),
    id             text NOT NULL,              -- F1, F2, ...
    position       integer NOT NULL,
    title          text NOT NULL,
    description    text NOT NULL,
    milestone      text NOT NULL,
    assertion_ids  jsonb NOT NULL,
    state          text NOT NULL DEFAULT 'pending', -- pending | building | committed
    attempts       integer NOT NULL DEFAULT 0,
    commit_sha     text,
    handoff        jsonb,
    committed_at   timestamptz,
    PRIMARY KEY (mission_id, id)
  );
  `,
  `
  -- Validation: one run per milestone commit (a round), and the verdicts it recorded.
  ALTER TABLE features ADD COLUMN fix_for text;          -- a fix feature: the milestone round it repairs
  ALTER TABLE missions ADD COLUMN activity text;         -- what a step is doing besides building (validating M1)
  ALTER TABLE missions ADD COLUMN extra_rounds integer NOT NULL DEFAULT 0; -- rounds granted by /retry after the limit
  CREATE TABLE validation_runs (
    mission_id   bigint NOT NULL REFERENCES missions(id),
    milestone    text NOT NULL,
    round        integer NOT NULL,
    commit_sha   text NOT NULL,
    outcome      text NOT NULL,        -- passed | fixing | stopped
    scrutiny     jsonb,                -- the submit_review input
    triage       jsonb,                -- the submit_triage input
    review_id    bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mission_id, milestone, round)
  );
  CREATE TABLE verdicts (
    mission_id    bigint NOT NULL REFERENCES missions(id),
    assertion_id  text NOT NULL,
    milestone     text NOT NULL,
    round         integer NOT NULL,
    commit_sha    text NOT NULL,
    status        text NOT NULL,       -- pass | fail | blocked (after replay)
    evidence      text NOT NULL,
    command       text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mission_id, assertion_id, milestone, round)
  );
  `,
  `
  -- The newest revision whose comment edit is on its way: a maintainer may see it (and /approve
  -- it) before the edit has returned; rendered_revision counts it only afterwards.
  ALTER TABLE missions ADD COLUMN showing_revision integer NOT NULL DEFAULT 0;
  UPDATE missions SET showing_revision = rendered_revision;
  -- A round that stopped the mission says why (the stop note) and how: 'rounds' (its rounds or
  -- triage) or 'error' (a validator or triage failed).
  ALTER TABLE validation_runs ADD COLUMN stop_reason text;
  ALTER TABLE validation_runs ADD COLUMN stop_kind text;
  `,
  `
  -- Recovery and findings that reach the fix (issue 10). A feature's failed worker runs since the
  -- last go-ahead, and what the last one handed off (or its last words) for the next attempt.
  ALTER TABLE features ADD COLUMN failed_attempts integer NOT NULL DEFAULT 0;
  ALTER TABLE features ADD COLUMN last_attempt jsonb;
  -- A fix feature: the ids of the round's items it addresses (S1, W2, VAL-003).
  ALTER TABLE features ADD COLUMN addresses jsonb;
  -- Every item a round's triage had to dispose of, with its id, words and evidence.
  ALTER TABLE validation_runs ADD COLUMN items jsonb;
  `,
  `
  -- Mission Control (issue 11). Every lifecycle event with its time: which event moved the mission
  -- from which state to which (the same state for events that move nothing, a feature committed).
  CREATE TABLE mission_events (
    id          bigserial PRIMARY KEY,
    mission_id  bigint NOT NULL REFERENCES missions(id),
    event       text NOT NULL,
    from_state  text,
    to_state    text NOT NULL,
    detail      jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX mission_events_by_mission ON mission_events (mission_id, id);
  -- A transcript row is an agent run: stored when it starts (outcome 'running'), completed when it
  -- ends. Rows from before kept only the end.
  ALTER TABLE transcripts ADD COLUMN subject text;
  ALTER TABLE transcripts ADD COLUMN started_at timestamptz;
  ALTER TABLE transcripts ADD COLUMN ended_at timestamptz;
  ALTER TABLE transcripts ADD COLUMN turns integer NOT NULL DEFAULT 0;
  UPDATE transcripts SET started_at = created_at, ended_at = created_at;
  -- Which run a turn's usage belongs to (null for rows from before).
  ALTER TABLE usage ADD COLUMN run_id bigint;
  CREATE INDEX usage_by_run ON usage (run_id);
  ALTER TABLE missions ADD COLUMN issue_title text;
  -- Signed-in users of Mission Control. The cookie holds only the random id; the user's GitHub token
  -- never leaves the server.
  CREATE TABLE web_sessions (
    id          text PRIMARY KEY,
    login       text NOT NULL,
    token       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
  );
  `,
  `
  -- Of a turn's cache writes, those to the 1-hour cache (priced at 2x input, not 1.25x).
  ALTER TABLE usage ADD COLUMN cache_write_1h_tokens bigint NOT NULL DEFAULT 0;
  `,
  `
  -- Steps running under MISSIONS_STEPS_PER_INSTALLATION (src/store/queue.ts): a row per run of a step,
  -- taken under a lock per installation, so workers fetching at once cannot each see room beside the
  -- others' steps. The run renews held_until while it runs and deletes the row when it ends; the row
  -- of a run whose process died lapses. installation is the step's pg-boss group; job_id is for a
  -- reader (a retried job keeps its id, so two runs may share one).
  CREATE TABLE step_admissions (
    id            bigserial PRIMARY KEY,
    installation  text NOT NULL,
    job_id        uuid NOT NULL,
    held_until    timestamptz NOT NULL
  );
  CREATE INDEX step_admissions_by_installation ON step_admissions (installation);
  `,
];

export async function migrate(db: Database): Promise<void> {
  await db.transaction(async (tx) => {
    // Serialises concurrent starts on one server; harmless on the embedded engine. READ COMMITTED so
    // that a start that waited for the lock sees what the one before it made, whatever the server's
    // default isolation.
    await tx.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
    await tx.query('SELECT pg_advisory_xact_lock(727274)');
    await tx.query('CREATE TABLE IF NOT EXISTS missions_schema (version integer PRIMARY KEY)');
    const [row] = await tx.query<{ version: number | null }>('SELECT max(version) AS version FROM missions_schema');
    const applied = row?.version ?? 0;
    for (let i = applied; i < MIGRATIONS.length; i++) {
      for (const statement of splitStatements(MIGRATIONS[i]!)) await tx.query(statement);
      await tx.query('INSERT INTO missions_schema (version) VALUES ($1)', [i + 1]);
    }
  });
}

/** Our migrations hold no semicolons or `--` inside statements, so dropping comments, then splitting on `;` at line ends, is exact. */
function splitStatements(sql: string): string[] {
  return sql
    .replace(/--.*$/gm, '')
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter(Boolean);
}
