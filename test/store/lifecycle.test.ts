// The lifecycle's transition table, as the store runs it: an event moves a mission only from the
// states the table names, and every move is recorded with its time (Mission Control's story).
import { afterAll, describe, expect, it } from 'vitest';
import { TRANSITIONS } from '../../src/mission/lifecycle.ts';
import { openDatabase } from '../../src/store/database.ts';
import { MissionStore } from '../../src/store/missions.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { greetingPlan } from '../helpers/plans.ts';

const key = { installationId: 1, repoId: 42, owner: 'o', repo: 'r', issueNumber: 7, issueTitle: 'Greet' };

for (const target of databaseTargets()) {
  describe(`${target.name}: lifecycle`, () => {
    afterAll(() => target.drop());

    it('moves a mission only as the table says, and records each event with its states', async () => {
      const url = await target.create();
      const db = await openDatabase(url ? { databaseUrl: url } : {});
      const store = new MissionStore(db);
      const mission = (await store.create(key, 'alice', 'delivery-1'))!;
      expect(mission.issue_title).toBe('Greet');
      // Not awaiting approval yet: /approve moves nothing and records nothing.
      expect(await store.approve(mission.id, 1, greetingPlan, 'alice')).toBe(false);
      await store.addRevision(mission.id, 0, { kind: 'plan', body: greetingPlan, change: 'first' });
      expect(await store.approve(mission.id, 1, greetingPlan, 'alice')).toBe(true);
      expect(await store.resume(mission.id)).toBe(false); // building already
      expect(await store.pause(mission.id, 'user', 'paused by @alice')).toBe(true);
      expect(await store.pause(mission.id, 'user', 'again')).toBe(false); // a user's pause only from building
      expect(await store.resume(mission.id)).toBe(true);
      expect(await store.cancel(mission.id)).toBe(true);
      expect(await store.cancel(mission.id)).toBe(false);
      expect(await store.requestPlanning(mission.id)).toBe(false);
      const events = await store.events(mission.id);
      expect(events.map((e) => [e.event, e.from_state, e.to_state])).toEqual([
        ['labelled', null, 'planning'],
        ['planned', 'planning', 'awaiting_approval'],
        ['approved', 'awaiting_approval', 'building'],
        ['paused_by_user', 'building', 'paused'],
        ['resumed', 'paused', 'building'],
        ['cancelled', 'building', 'cancelled'],
      ]);
      // Each recorded move is one the table allows.
      for (const e of events.slice(1)) {
        const move = TRANSITIONS[e.event];
        expect(move.from).toContain(e.from_state);
        expect(move.to).toBe(e.to_state);
      }
      expect((await store.get(mission.id)).state).toBe('cancelled');
      // Events that move nothing are recorded in any state (a late step's record is kept).
      await store.record(mission.id, 'round_started', { milestone: 'M1', round: 1 });
      expect((await store.events(mission.id)).at(-1)!.event).toBe('round_started');
      await db.close();
    });

    it('keeps a mission building while a feature is left, reopens a done one for a /fix, and lets no failure move it once done', async () => {
      const url = await target.create();
      const db = await openDatabase(url ? { databaseUrl: url } : {});
      const store = new MissionStore(db);
      const mission = (await store.create({ ...key, issueNumber: 8 }, 'alice', 'delivery-2'))!;
      await store.addRevision(mission.id, 0, { kind: 'plan', body: greetingPlan, change: 'first' });
      await store.approve(mission.id, 1, greetingPlan, 'alice');
      expect(await store.markDone(mission.id)).toBe(false); // features left to build
      for (const f of greetingPlan.features) {
        await store.startFeature(mission.id, f.id);
        await store.commitFeature(mission.id, f.id, 'a'.repeat(40), null);
        await store.commitFeature(mission.id, f.id, 'a'.repeat(40), null); // found again by a recovery
      }
      expect(await store.markDone(mission.id)).toBe(true);
      await store.fail(mission.id, 'too late'); // done is over: nothing moves
      expect((await store.get(mission.id)).state).toBe('done');
      expect(await store.addRequestedFix(mission.id, { title: 'Fix it', description: 'Fix it', assertion_ids: [] }, 'bob', 99)).toBeTruthy();
      const events = (await store.events(mission.id)).map((e) => `${e.event}:${e.to_state}`);
      expect(events.filter((e) => e.startsWith('feature_committed'))).toHaveLength(greetingPlan.features.length);
      expect(events.slice(-3)).toEqual(['done:done', 'fix_requested:done', 'reopened:building']);
      expect((await store.get(mission.id)).state).toBe('building');
      await db.close();
    });
  });
}
