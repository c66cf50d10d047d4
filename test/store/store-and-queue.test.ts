// The store and the queue, on every database target: embedded PGlite always, a PostgreSQL server
// when MISSIONS_TEST_DATABASE_URL is set (.ci/run sets it).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { MissionStore } from '../../src/store/missions.ts';
import { JobQueue, type QueueOptions } from '../../src/store/queue.ts';
import { greetingPlan } from '../helpers/plans.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { waitFor } from '../helpers/harness.ts';

const log = pino({ level: 'silent' });
const key = { installationId: 1, repoId: 42, owner: 'o', repo: 'r', issueNumber: 7 };

for (const target of databaseTargets()) {
  describe(target.name, () => {
    afterAll(() => target.drop());

    it('migrates once, however often it is opened', async () => {
      const url = await target.create();
      const first = await openDatabase(url ? { databaseUrl: url } : {});
      if (!url) {
        // In memory there is nothing to reopen; migrating again must still be a no-op.
        const { migrate } = await import('../../src/store/migrations.ts');
        await migrate(first);
      } else {
        const second = await openDatabase({ databaseUrl: url });
        await second.close();
      }
      const versions = await first.query<{ version: number }>('SELECT version FROM missions_schema ORDER BY version');
      expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      await first.close();
    });

    it('finds a comment’s mission by its issue’s and its pull request’s number, and again after a restart', async () => {
      const url = await target.create();
      // On disk, so the embedded engine can be reopened as a restarted app would.
      const dataDir = url ? undefined : mkdtempSync(join(tmpdir(), 'missions-targets-'));
      const open = () => openDatabase(url ? { databaseUrl: url } : { dataDir });
      const db = await open();
      const store = new MissionStore(db);
      // Asked first about an issue no mission has (the embedded engine loads its numbers then), so
      // the mission created after it must still be found.
      expect(await store.commentTarget(42, 7)).toBeNull();
      const mission = (await store.create(key, 'alice', 'label:a'))!;
      expect(await store.commentTarget(42, 7)).toMatchObject({ id: mission.id });
      expect(await store.commentTarget(42, 8)).toBeNull();
      await store.setPullRequest(mission.id, 8, 'https://github.com/o/r/pull/8');
      expect(await store.commentTarget(42, 8)).toMatchObject({ id: mission.id });
      expect(await store.commentTarget(43, 7)).toBeNull(); // another repository's issue 7
      await db.close();
      const reopened = await open();
      const restarted = new MissionStore(reopened);
      expect(await restarted.commentTarget(42, 7)).toMatchObject({ id: mission.id });
      expect(await restarted.commentTarget(42, 8)).toMatchObject({ id: mission.id });
      expect(await restarted.commentTarget(42, 9)).toBeNull();
      await reopened.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    it('keeps one live mission per issue, takes each event once, and stores revisions', async () => {
      const url = await target.create();
      const db = await openDatabase(url ? { databaseUrl: url } : {});
      const store = new MissionStore(db);
      const mission = (await store.create(key, 'alice', 'label:a'))!;
      expect(mission.id).toBeTypeOf('number');
      expect(await store.create(key, 'bob', 'label:b')).toBeNull();
      expect(await store.markProcessed('delivery:1')).toBe(true);
      expect(await store.markProcessed('delivery:1')).toBe(false);

      const revision = await store.addRevision(mission.id, 0, { kind: 'plan', body: greetingPlan, change: 'first plan' });
      expect(revision!.number).toBe(1);
      expect((await store.get(mission.id)).state).toBe('awaiting_approval');
      // Feedback arriving while the planner ran leaves the mission planning.
      await store.requestPlanning(mission.id);
      await store.requestPlanning(mission.id);
      await store.addRevision(mission.id, 1, { kind: 'plan', body: greetingPlan, change: 'again' });
      expect((await store.get(mission.id)).state).toBe('planning');
      await store.addRevision(mission.id, 2, { kind: 'plan', body: greetingPlan, change: 'again' });
      expect((await store.get(mission.id)).state).toBe('awaiting_approval');

      expect(await store.approve(mission.id, 3, greetingPlan, 'alice')).toBe(true);
      expect(await store.approve(mission.id, 3, greetingPlan, 'alice')).toBe(false);
      // Approved: a late planner outcome is dropped.
      expect(await store.addRevision(mission.id, 3, { kind: 'plan', body: greetingPlan, change: 'late' })).toBeNull();
      expect((await store.get(mission.id)).contract).toEqual(greetingPlan);

      await store.recordUsage({ missionId: mission.id, role: 'planner', model: 'm', usage: { input_tokens: 10, output_tokens: 5, cache_read_tokens: 100, cache_write_tokens: 20, cache_write_1h_tokens: 15 }, usd: 0.5 });
      expect(await store.costByRole(mission.id)).toEqual([
        { role: 'planner', model: 'm', input_tokens: 10, output_tokens: 5, cache_read_tokens: 100, cache_write_tokens: 20, cache_write_1h_tokens: 15, usd: 0.5 },
      ]);
      await store.cancel(mission.id);
      expect(await store.create(key, 'bob', 'label:c')).not.toBeNull();
      await db.close();
    });

    it('keeps the features of an approved contract, their commits and handoffs, and the pauses', async () => {
      const url = await target.create();
      const db = await openDatabase(url ? { databaseUrl: url } : {});
      const store = new MissionStore(db);
      const mission = (await store.create({ ...key, issueNumber: 8 }, 'alice', 'label:f'))!;
      await store.addRevision(mission.id, 0, { kind: 'plan', body: greetingPlan, change: 'first plan' });
      expect(await store.approve(mission.id, 1, greetingPlan, 'alice')).toBe(true);
      expect((await store.get(mission.id)).state).toBe('building');
      expect((await store.features(mission.id)).map((f) => [f.id, f.position, f.assertion_ids, f.state])).toEqual([
        ['F1', 0, ['VAL-001', 'VAL-002'], 'pending'],
        ['F2', 1, ['VAL-003'], 'pending'],
      ]);
      // Comments are no longer plan feedback once the contract is locked.
      expect(await store.requestPlanning(mission.id)).toBe(false);

      await store.setBranch(mission.id, 'missions/8-greeting', 'abc');
      await store.setBranch(mission.id, 'missions/8-other', 'def');
      await store.setPullRequest(mission.id, 12, 'https://github.example/o/r/pull/12');
      expect((await store.byPullRequest(42, 12))!.id).toBe(mission.id);
      await store.startFeature(mission.id, 'F1');
      await store.commitFeature(mission.id, 'F1', 'sha1', { status: 'complete', summary: 'done' });
      // Found on the branch after a crash: the handoff already kept is not lost.
      await store.commitFeature(mission.id, 'F1', 'sha1', null);
      const [f1] = await store.features(mission.id);
      expect(f1).toMatchObject({ state: 'committed', commit_sha: 'sha1', attempts: 1, handoff: { status: 'complete', summary: 'done' } });
      const built = await store.get(mission.id);
      expect([built.branch, built.base_sha, built.pr_number]).toEqual(['missions/8-greeting', 'abc', 12]);

      expect(await store.pause(mission.id, 'budget', 'budget reached')).toBe(true);
      expect(await store.pause(mission.id, 'user', 'again')).toBe(false);
      expect(await store.get(mission.id)).toMatchObject({ state: 'paused', pause_reason: 'budget', stop_note: 'budget reached' });
      expect(await store.resume(mission.id)).toBe(true);
      expect(await store.resume(mission.id)).toBe(false);
      expect(await store.get(mission.id)).toMatchObject({ state: 'building', pause_reason: null, stop_note: null });
      await store.recordUsage({ missionId: mission.id, role: 'worker', model: 'm', usage: { input_tokens: 1, output_tokens: 1, cache_read_tokens: 0, cache_write_tokens: 0 }, usd: 0.25 });
      expect(await store.spent(mission.id)).toBe(0.25);
      expect(await store.markDone(mission.id)).toBe(false); // F2 is still to be built
      await db.close();
    });

    it('never runs two steps of one mission at once, even with two workers', async () => {
      const url = await target.create();
      // Two workers need two processes' worth of connections: only a server gives that.
      const dbs = url ? [await openDatabase({ databaseUrl: url }), await openDatabase({ databaseUrl: url })] : [await openDatabase({})];
      const queues = dbs.map((db) => new JobQueue(db, { log, pollingIntervalSeconds: 0.5 }));
      for (const q of queues) await q.start();
      let running = 0;
      let most = 0;
      let done = 0;
      for (const q of queues) {
        await q.work({
          intake: async () => {},
          step: async () => {
            running++;
            most = Math.max(most, running);
            await new Promise((r) => setTimeout(r, 300));
            running--;
            done++;
          },
        });
      }
      // Requests before the first step starts coalesce into it.
      await queues[0]!.requestStep({ missionId: 1 });
      await queues[queues.length - 1]!.requestStep({ missionId: 1 });
      await waitFor(() => running === 1, 'the first step to start');
      // Requests while it runs coalesce into one waiting step, which runs after it.
      for (let i = 0; i < 3; i++) await queues[i % queues.length]!.requestStep({ missionId: 1 });
      await waitFor(() => done === 2 && running === 0, 'the waiting step to run');
      await new Promise((r) => setTimeout(r, 1500));
      expect(most).toBe(1);
      expect(done).toBe(2);
      for (const q of queues) await q.stop();
      for (const db of dbs) await db.close().catch(() => {});
    });

    /**
     * Worker processes (`serverProcesses` on a server, one embedded) whose steps hold until `release()`; `busy` are
     * missions of one installation and `other` one of another. What ran, and how many of the busy
     * installation's at most at once. Steps hold until `release()`, or for `hold` ms; `isolation` is the
     * server database's default transaction isolation.
     */
    async function heldSteps(
      busyCount: number,
      queueOptions: (processes: number) => Partial<QueueOptions>,
      { hold = 'latch', serverProcesses = 2, isolation }: { hold?: 'latch' | number; serverProcesses?: number; isolation?: string } = {},
    ) {
      const url = await target.create();
      if (url && isolation) {
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        await admin.query(`ALTER DATABASE ${new URL(url).pathname.slice(1)} SET default_transaction_isolation = '${isolation}'`);
        await admin.end();
      }
      const dbs = url ? await Promise.all(Array.from({ length: serverProcesses }, () => openDatabase({ databaseUrl: url }))) : [await openDatabase({})];
      const store = new MissionStore(dbs[0]!);
      const installation = 1000 + Math.floor(Math.random() * 1e6);
      const busy: number[] = [];
      for (let n = 1; n <= busyCount; n++) busy.push((await store.create({ ...key, installationId: installation, issueNumber: n }, 'alice', `label:${n}`))!.id);
      const other = (await store.create({ ...key, installationId: installation + 1, repoId: 43, issueNumber: 1 }, 'bob', 'label:other'))!.id;
      const queues = dbs.map((db) => new JobQueue(db, { log, pollingIntervalSeconds: 0.5, ...queueOptions(dbs.length) }));
      for (const q of queues) await q.start();
      const state = { running: new Set<number>(), started: [] as number[], mostBusy: 0 };
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      for (const q of queues) {
        await q.work({
          intake: async () => {},
          step: async ({ missionId }) => {
            state.running.add(missionId);
            state.started.push(missionId);
            state.mostBusy = Math.max(state.mostBusy, busy.filter((id) => state.running.has(id)).length);
            await (hold === 'latch' ? released : new Promise((r) => setTimeout(r, hold)));
            state.running.delete(missionId);
          },
        });
      }
      const stop = async () => {
        release();
        for (const q of queues) await q.stop();
        for (const db of dbs) await db.close().catch(() => {});
      };
      return { dbs, installation, queues, processes: dbs.length, busy, other, state, release, stop };
    }

    it('with MISSIONS_STEPS_PER_INSTALLATION, runs one installation’s steps at most that many at once on all workers together, so a busy installation cannot keep another’s mission waiting', async () => {
      // Two slots in all (one per process on the server): without the cap the busy installation's
      // older requests take both.
      const run = await heldSteps(3, (processes) => ({ stepsPerProcess: 2 / processes, stepsPerInstallation: 1 }));
      try {
        for (const id of run.busy) await run.queues[0]!.requestStep({ missionId: id });
        await run.queues[0]!.requestStep({ missionId: run.other });
        // The other installation's mission takes the second slot beside the busy one's first step.
        await waitFor(() => run.state.running.has(run.other) && run.state.running.size === 2, 'the other installation’s step to start while the busy one runs');
        run.release();
        await waitFor(() => run.state.started.length === 4 && run.state.running.size === 0, 'every step to run');
        expect(run.state.mostBusy).toBe(1);
      } finally {
        await run.stop();
      }
    });

    it('keeps, by default, a slot of every worker for other installations, and gives one installation the rest of every worker', async () => {
      // Three slots per process, no cap: the busy installation may take two of each process's.
      const run = await heldSteps(8, () => ({ stepsPerProcess: 3 }));
      try {
        await Promise.all(run.busy.map((id, i) => run.queues[i % run.queues.length]!.requestStep({ missionId: id })));
        await waitFor(() => run.busy.filter((id) => run.state.running.has(id)).length === 2 * run.processes, 'the busy installation to take two slots of each worker');
        await run.queues[0]!.requestStep({ missionId: run.other });
        await waitFor(() => run.state.running.has(run.other), 'the other installation’s step to start in a kept slot');
        expect(run.state.mostBusy).toBe(2 * run.processes);
      } finally {
        await run.stop();
      }
    });

    it('never runs more of one installation’s steps than its limit, even when every slot of every worker fetches at once', async () => {
            // On a server whose default isolation is REPEATABLE READ, which must not hide from a step the
      // admissions made while it waited for the lock.
      const run = await heldSteps(18, () => ({ stepsPerProcess: 4, stepsPerInstallation: 3 }), { hold: 300, serverProcesses: 3, isolation: 'repeatable read' });
      try {
        // All at once, from three processes on a server: each of the 12 slots may fetch in the same instant.
        // (Counting running jobs instead of admissions let a 4th run about 1 time in 15 on a busy machine.)
        await Promise.all(run.busy.map((id, i) => run.queues[i % run.queues.length]!.requestStep({ missionId: id })));
        await waitFor(() => run.state.started.length >= 18 && run.state.running.size === 0, 'every step to run');
        expect(run.state.mostBusy).toBeLessThanOrEqual(3);
      } finally {
        await run.stop();
      }
    });

    it('counts against the limit a run the queue took back while it may still run, until its worker stops renewing it', async () => {
      const run = await heldSteps(1, () => ({ stepsPerProcess: 2, stepsPerInstallation: 1 }));
      const [db] = run.dbs;
      const mission = run.busy[0]!;
      try {
        // The admission of a run whose job pg-boss has taken back (its heartbeat lapsed) and which is still running.
        await db!.query(`INSERT INTO step_admissions (installation, job_id, held_until) VALUES ($1, gen_random_uuid(), now() + interval '1 hour')`, [String(run.installation)]);
        await run.queues[0]!.requestStep({ missionId: mission });
        const handedBack = async () =>
          (await db!.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'mission-step' AND state = 'completed' AND data->>'missionId' = $1`, [String(mission)]))[0]!.n;
        // A refused step is asked for again every 2 s: 20 s is plenty on a busy machine.
        await waitFor(async () => (await handedBack()) > 0, 'the step to be handed back beyond the limit', 20_000);
        expect(run.state.started).not.toContain(mission);
        // Its worker died: the lease lapses, and the slot is free.
        await db!.query(`UPDATE step_admissions SET held_until = now() - interval '1 second'`);
        await waitFor(() => run.state.running.has(mission), 'the step to start once the lease lapsed', 20_000);
      } finally {
        await run.stop();
      }
    });

    it('starts a requested step at once, and the step a running one asked for as soon as it ends, without waiting for a poll', async () => {
      const url = await target.create();
      // Two processes on a server: the step is requested in one and taken by whichever is free.
      const dbs = url ? [await openDatabase({ databaseUrl: url }), await openDatabase({ databaseUrl: url })] : [await openDatabase({})];
      // A poll far longer than the test waits: only a wake-up can start these steps in time.
      const queues = dbs.map((db) => new JobQueue(db, { log, pollingIntervalSeconds: 60 }));
      for (const q of queues) await q.start();
      const started: number[] = [];
      for (const q of queues) {
        await q.work({
          intake: async () => {},
          step: async ({ missionId }) => {
            started.push(missionId);
            // Mission 1's step asks for its next one, as a step that built a feature does.
            if (missionId === 1 && started.filter((m) => m === 1).length < 3) await q.requestStep({ missionId: 1 });
          },
        });
      }
      // Past the first fetch every worker makes when it starts: from here on they sleep for a minute.
      await waitFor(() => queues.every((q) => q.boss.getWipData().every((w) => w.lastFetchedOn !== null)), 'every worker to have fetched once');
      await queues[0]!.requestStep({ missionId: 1 });
      await waitFor(() => started.filter((m) => m === 1).length === 3, 'three chained steps of mission 1', 5_000);
      await queues[queues.length - 1]!.requestStep({ missionId: 2 });
      await waitFor(() => started.includes(2), 'the step of mission 2', 5_000);
      for (const q of queues) await q.stop();
      for (const db of dbs) await db.close().catch(() => {});
    });
  });
}
