// The job queue: pg-boss over the same database as the store (PGlite adapter when embedded).
// Two queues, keyed so a mission never runs two jobs of a kind at once, on any number of worker
// processes:
//   mission-step     `stately`: at most one running and one waiting per mission. A step re-reads the
//                    mission's state, so several requests for a step coalesce into one. Grouped by
//                    installation: by default one installation takes at most all but one of a
//                    worker's slots, so a busy one cannot take every slot from the others; an
//                    operator may cap it on all workers together instead (stepsPerInstallation),
//                    which is enforced here, in the store's table step_admissions: pg-boss's own
//                    group limit is counted without a lock, so workers fetching at once exceed it.
//   mission-intake   `key_strict_fifo`: labels and comments of one issue run one at a time, in order.
import { PgBoss, fromPglite } from 'pg-boss';
import type { Logger } from 'pino';
import type { Database, Queryable } from './database.ts';

export const STEP_QUEUE = 'mission-step';
export const INTAKE_QUEUE = 'mission-intake';

const RETRY_LIMIT = 3;
/** Steps one process runs at once, of different missions (MISSIONS_STEPS_PER_PROCESS). */
const STEPS_PER_PROCESS = 4;
/** Intake jobs one process runs at once, of different issues. */
const INTAKE_PER_PROCESS = 4;
/**
 * Without MISSIONS_STEPS_PER_INSTALLATION, the steps of one installation a process runs at once: one
 * fewer than its slots (at least one), so a worker busy with one installation keeps a slot for
 * another's mission, and an app installed once still uses every worker it is given.
 */
const installationShareOfProcess = (stepsPerProcess: number) => Math.max(1, stepsPerProcess - 1);
/** Seconds between a worker's polls for jobs; with NOTIFY a backstop (retries coming due, delayed steps). */
export const POLLING_SECONDS = 2;
/**
 * How long a step's admission under MISSIONS_STEPS_PER_INSTALLATION holds unless renewed, and how
 * often the running step renews it: a worker that died frees its slot within the lease.
 */
const ADMISSION_LEASE_SECONDS = 120;
const ADMISSION_RENEW_MS = 30_000;
/** A job running longer than this is taken back by pg-boss (a planning run is long; 4 hours). */
const EXPIRE_SECONDS = 4 * 60 * 60;
/** How soon a step refused admission (its installation at its cap) is asked for again. */
const BEYOND_LIMIT_RETRY_MS = 2_000;

/** A step's admission under MISSIONS_STEPS_PER_INSTALLATION, held for the lease; returns its id. */
async function insertAdmission(db: Queryable, installation: string, jobId: string): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO step_admissions (installation, job_id, held_until) VALUES ($1, $2::uuid, now() + $3 * interval '1 second') RETURNING id`,
    [installation, jobId, ADMISSION_LEASE_SECONDS],
  );
  return row!.id;
}

export interface StepJob {
  missionId: number;
}

/** What a webhook handler takes in: verified with GitHub and acted on by the intake job. */
export type IntakeJob = {
  installationId: number;
  repoId: number;
  owner: string;
  repo: string;
  issueNumber: number;
  actor: string;
} & (
  | { kind: 'label'; label: string; deliveryId: string; /** The issue's title when labelled (Mission Control shows it). */ issueTitle?: string }
  | {
      kind: 'comment';
      commentId: number;
      body: string;
      /** The newest revision whose edit was on its way when the comment arrived (`/approve` locks it, or the earlier plan GitHub still shows). */
      shownRevision: number;
      /** When the comment was written (GitHub's time): a mission comment changed after it was not what its author saw. */
      createdAt: string;
    }
);

export interface QueueOptions {
  /** Seconds between polls when LISTEN/NOTIFY is quiet; small in tests. */
  pollingIntervalSeconds?: number;
  /** Seconds before a failed job is tried again. */
  retryDelaySeconds?: number;
  /** How soon a job whose worker died is noticed on a server: its heartbeat interval (>= 10) and how often it is checked. */
  heartbeatSeconds?: number;
  superviseIntervalSeconds?: number;
  /**
   * Wake workers the moment a job is sent instead of at their next poll: pg-boss's LISTEN/NOTIFY
   * (in-process on the embedded engine). A step that asks for the mission's next step notifies its
   * own worker too, which then fetches again as soon as the running step ends (pg-boss skips the poll
   * delay of a worker notified while busy). Default true; false (the polling baseline
   * bench/handover.ts measures against) switches the queues' `notify` off for every process on the database.
   */
  wake?: boolean;
  /** Steps this process runs at once (MISSIONS_STEPS_PER_PROCESS). */
  stepsPerProcess?: number;
  /**
   * Steps of one installation running at once on all processes together (MISSIONS_STEPS_PER_INSTALLATION);
   * unset, each process keeps one of its slots for other installations instead.
   */
  stepsPerInstallation?: number;
  log: Logger;
}

export class JobQueue {
  readonly boss: PgBoss;
  readonly #db: Database;
  readonly #options: QueueOptions;
  readonly #wake: boolean;
  #running = false;

  constructor(db: Database, options: QueueOptions) {
    this.#db = db;
    this.#options = options;
    this.#wake = options.wake ?? true;
    this.boss =
      db.pglite ?
        new PgBoss({ db: fromPglite(db.pglite), backend: 'pglite', schedule: false, supervise: true, useListenNotify: this.#wake })
      : new PgBoss({
          connectionString: db.connectionString!,
          useListenNotify: this.#wake,
          schedule: false,
          max: 5,
          ...(options.superviseIntervalSeconds ?
            { superviseIntervalSeconds: options.superviseIntervalSeconds, monitorIntervalSeconds: options.superviseIntervalSeconds }
          : {}),
        });
    this.boss.on('error', (error: Error) => options.log.error({ err: error }, 'queue error'));
    // pg-boss's own notices: a LISTEN it could not set up (PgBouncer in transaction mode) among them,
    // after which steps start on the poll.
    this.boss.on('warning', (warning: unknown) => options.log.warn({ warning }, 'queue warning'));
  }

  async start(): Promise<void> {
    await this.boss.start();
    const common = {
      retryLimit: RETRY_LIMIT,
      retryDelay: this.#options.retryDelaySeconds ?? 30,
      retryBackoff: true,
      // A planning run is long; a dead worker's job is found by its missing heartbeat instead.
      expireInSeconds: EXPIRE_SECONDS,
      heartbeatSeconds: this.#options.heartbeatSeconds ?? 30,
      notify: this.#wake,
    };
    await this.#ensureQueue(STEP_QUEUE, { ...common, policy: 'stately' });
    await this.#ensureQueue(INTAKE_QUEUE, { ...common, policy: 'key_strict_fifo' });
    this.#running = true;
  }

  /** Started and not stopped: what `/readyz` reports. */
  get running(): boolean {
    return this.#running;
  }

  async #ensureQueue(name: string, options: NonNullable<Parameters<PgBoss['createQueue']>[1]>): Promise<void> {
    const queue = await this.boss.getQueue(name);
    if (!queue) await this.boss.createQueue(name, options);
    // A queue made before NOTIFY was used (or by the baseline) is switched over, not left polling.
    else if (Boolean(queue.notify) !== Boolean(options.notify)) await this.boss.updateQueue(name, { notify: options.notify });
  }

  /**
   * The embedded database belongs to this one process, so a job still marked active at start was
   * running when the process died: hand it back to the queue now rather than after heartbeats lapse.
   */
  async recoverInterrupted(): Promise<number> {
    if (this.#db.kind !== 'embedded') return 0;
    // Every admission is a dead run's: the slots are free now, not when their leases lapse.
    await this.#db.query('DELETE FROM step_admissions');
    let recovered = 0;
    for (const name of [STEP_QUEUE, INTAKE_QUEUE]) {
      const active = (await this.boss.findJobs(name)).filter((job) => job.state === 'active');
      if (active.length) {
        const ids = active.map((job) => job.id);
        await this.boss.fail(name, ids, { reason: 'process restarted' });
        // Due now, not after the retry delay: nothing is wrong with the job itself.
        for (const id of ids) await this.boss.update({ name, options: { id, startAfter: new Date() } });
        recovered += active.length;
      }
    }
    return recovered;
  }

  /** Asks for a step of the mission, now or after `delayMs` (a step waiting for GitHub's rate limit to reset). */
  async requestStep(job: StepJob, delayMs = 0): Promise<void> {
    // The installation is the step's group (its concurrency limit); read here, in one place, rather
    // than carried by every caller, which knows only the mission.
    const [mission] = await this.#db.query<{ installation_id: number }>('SELECT installation_id FROM missions WHERE id = $1', [job.missionId]);
    // null means a step for this mission is already waiting: it will see the newest state.
    await this.boss.send(STEP_QUEUE, job, {
      singletonKey: String(job.missionId),
      ...(mission ? { group: { id: String(mission.installation_id) } } : {}),
      ...(delayMs ? { startAfter: new Date(Date.now() + delayMs) } : {}),
    });
  }

  async enqueueIntake(job: IntakeJob): Promise<void> {
    await this.boss.send(INTAKE_QUEUE, job, { singletonKey: `${job.repoId}#${job.issueNumber}` });
  }

  async work(handlers: { step: (job: StepJob) => Promise<void>; intake: (job: IntakeJob) => Promise<void> }): Promise<void> {
    // Several jobs at once, so one mission's long step never holds back another's (a mission's own
    // steps stay one at a time: the step queue is `stately` per mission).
    const polling = this.#options.pollingIntervalSeconds ?? POLLING_SECONDS;
    // With NOTIFY the poll is a backstop (for retries coming due, a listener reconnecting); kept as
    // short as before, so nothing waits longer than it did without NOTIFY.
    const options = { pollingIntervalSeconds: polling, notifyPollingIntervalSeconds: polling, batchSize: 1 };
    const perProcess = this.#options.stepsPerProcess ?? STEPS_PER_PROCESS;
    const perInstallation = this.#options.stepsPerInstallation;
    const log = this.#options.log;
    // A job that throws is retried by pg-boss; the log says why. On its last attempt it is logged and
    // let go instead: a failed job would hold back every later job of its key in a strict-FIFO queue
    // (one bad comment would leave the issue deaf, /cancel included).
    const logged =
      <T>(name: string, run: (data: T, job: { id: string; groupId?: string | null }) => Promise<void>) =>
      async ([job]: { id: string; data: T; retryCount: number; groupId?: string | null }[]) => {
        try {
          await run(job!.data, job!);
        } catch (error) {
          if (job!.retryCount >= RETRY_LIMIT) {
            log.error({ err: error, queue: name, job: job!.id, data: job!.data }, 'job failed on its last attempt; giving it up');
            return;
          }
          log.error({ err: error, queue: name, job: job!.id }, 'job failed; the queue will retry it');
          throw error;
        }
      };
    // A cap on all processes: pg-boss's group concurrency keeps an installation's steps to it when it
    // fetches, but fetches running at once on a server each see room, so every step is also admitted
    // under a lock per installation (#admit), and one beyond the cap is asked for again shortly.
    // Without a cap, pg-boss's per-process group limit, which hands back a step fetched beyond it.
    const step = async (data: StepJob, { id, groupId }: { id: string; groupId?: string | null }) => {
      // A step without a group was asked for a mission the store does not have: it finds nothing to do.
      if (perInstallation === undefined || !groupId) return handlers.step(data);
      const admission = await this.#admit(id, groupId, perInstallation);
      if (admission === null) {
        log.debug({ missionId: data.missionId, limit: perInstallation }, 'step beyond its installation’s limit; asked for again shortly');
        return this.requestStep(data, BEYOND_LIMIT_RETRY_MS);
      }
      const held = this.#hold(admission, groupId, id);
      try {
        await handlers.step(data);
      } finally {
        await held.release();
      }
    };
    const groups = perInstallation === undefined ? { localGroupConcurrency: installationShareOfProcess(perProcess) } : { groupConcurrency: perInstallation };
    await this.boss.work<StepJob>(STEP_QUEUE, { ...options, localConcurrency: perProcess, ...groups }, logged(STEP_QUEUE, step));
    await this.boss.work<IntakeJob>(INTAKE_QUEUE, { ...options, localConcurrency: INTAKE_PER_PROCESS }, logged(INTAKE_QUEUE, handlers.intake));
  }

  /**
   * Admits a run of the job if fewer than `limit` steps of its installation hold an admission, and
   * returns the admission, or null beyond the limit. Admissions are
   * counted under a lock per installation: counting running jobs instead let two workers each miss
   * the other's step (a fetch commits after another worker has counted). They are held by a lease
   * the running step renews, not by the job's state: a run pg-boss has taken back (its heartbeat
   * lapsed) may still be running, and is counted until it ends or its process dies.
   */
  async #admit(jobId: string, installation: string, limit: number): Promise<number | null> {
    return this.#db.transaction(async (tx) => {
      // Admissions committed while this waited for the lock must be seen: a server whose default is
      // REPEATABLE READ would otherwise count from a snapshot taken before it.
      await tx.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`missions step admission ${installation}`]);
      await tx.query('DELETE FROM step_admissions WHERE installation = $1 AND held_until < now()', [installation]);
      const [row] = await tx.query<{ admitted: number }>('SELECT count(*)::int AS admitted FROM step_admissions WHERE installation = $1', [installation]);
      return (row?.admitted ?? 0) >= limit ? null : insertAdmission(tx, installation, jobId);
    });
  }

  /**
   * Keeps a running step's admission: renewed every ADMISSION_RENEW_MS up to the job's expiry (a step that never
   * ends must not hold its installation's slot for ever; pg-boss then takes the job back), and taken
   * again, over the cap if need be, if it lapsed meanwhile (the database out of reach longer than the
   * lease) rather than running uncounted. `release()` when the step ends.
   */
  #hold(admission: number, installation: string, jobId: string): { release: () => Promise<void> } {
    const log = this.#options.log;
    const renewUntil = Date.now() + EXPIRE_SECONDS * 1000;
    let held = admission;
    let ended = false;
    // One renewal at a time: ticks piling up after an outage would each take the admission again.
    let renewing: Promise<void> | null = null;
    const renewal = async () => {
      const rows = await this.#db.query(`UPDATE step_admissions SET held_until = now() + $2 * interval '1 second' WHERE id = $1 RETURNING id`, [held, ADMISSION_LEASE_SECONDS]);
      if (rows.length || ended) return;
      log.warn({ job: jobId }, 'a running step’s admission lapsed; it is taken again');
      held = await insertAdmission(this.#db, installation, jobId);
    };
    const timer = setInterval(() => {
      if (Date.now() > renewUntil) return clearInterval(timer);
      renewing ??= renewal()
        .catch((error: unknown) => log.warn({ err: error, job: jobId }, 'could not renew a step’s admission'))
        .finally(() => (renewing = null));
    }, ADMISSION_RENEW_MS);
    timer.unref();
    return {
      release: async () => {
        ended = true;
        clearInterval(timer);
        // After a renewal under way, which may have taken the admission again.
        await renewing;
        await this.#db
          .query('DELETE FROM step_admissions WHERE id = $1', [held])
          .catch((error: unknown) => log.warn({ err: error, job: jobId }, `could not release a step’s admission; it lapses with its lease (${ADMISSION_LEASE_SECONDS} s)`));
      },
    };
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.boss.stop({ graceful: true, timeout: 5_000, close: true });
  }
}
