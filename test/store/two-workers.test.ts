// Two workers on one database (two pg-boss workers with their own connections on a PostgreSQL
// server, as two worker processes would be) build one mission: its steps never run at once, every
// feature is built once, and either worker can take the next step because each starts from the
// pushed branch.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { bareRepository, createTestApp, expectCleanEdges, type TestApp } from '../helpers/harness.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { pushedCommits } from '../helpers/git.ts';
import { IssueThread } from '../helpers/issue-thread.ts';
import type { Script } from '../helpers/model-server.ts';
import { stackPlan } from '../helpers/plans.ts';
import { commentOn, missionReaches } from '../helpers/scenario.ts';
import { handoffTurn, taskOf, toolTurn } from '../helpers/workers.ts';
import { labeledPayload } from '../helpers/harness.ts';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A worker for `featureId` that takes a while (so a second step would overlap it) and writes one file. */
function slowWorker(featureId: string, order: string[]): Script[] {
  return [
    (request) => {
      expect(taskOf(request)).toContain(`# Your feature: ${featureId}`);
      order.push(`${featureId}:start`);
      return toolTurn({ name: 'bash', input: { command: `sleep 0.7 && echo ${featureId} > ${featureId}.txt` } });
    },
    () => {
      order.push(`${featureId}:end`);
      return handoffTurn(`Built ${featureId}.`);
    },
  ];
}

for (const target of databaseTargets()) {
  describe(target.name, () => {
    afterAll(() => target.drop());

    it('builds one mission with two workers: one step at a time, each feature once', async () => {
      const url = await target.create();
      const order: string[] = [];
      app = await createTestApp({
        ...(url ? { databaseUrl: url } : {}),
        turns: [toolTurn({ name: 'submit_plan', input: stackPlan }), ...slowWorker('F1', order), ...slowWorker('F2', order), ...slowWorker('F3', order)],
      });
      const second = await app.addWorker();
      const origin = bareRepository({ 'cli.js': '' });
      const thread = new IssueThread(app.github, { cloneUrl: origin });
      await app.receive('issues', labeledPayload());
      await missionReaches(app, 'awaiting_approval', 1);
      await commentOn({ app, thread }, '/approve');
      // Requests for a step arrive through both workers' queues while features are being built.
      const nudges = setInterval(() => {
        void app?.queue.requestStep({ missionId: 1 }).catch(() => {});
      }, 150);
      try {
        await missionReaches(app, 'built');
      } finally {
        clearInterval(nudges);
      }
      expect(order).toEqual(['F1:start', 'F1:end', 'F2:start', 'F2:end', 'F3:start', 'F3:end']);
      expect(pushedCommits(origin, 'missions/1-greeting-command').map((c) => c.files)).toEqual([['F1.txt'], ['F2.txt'], ['F3.txt']]);
      expect((await app.store.features(1)).map((f) => f.attempts)).toEqual([1, 1, 1]);
      expect(thread.pulls).toHaveLength(1);
      // Which worker took which step is the queue's choice; report it for the record.
      const firstRan = existsSync(join(app.dataDir, 'workspaces', 'missions', '1'));
      const secondRan = existsSync(join(second, 'missions', '1'));
      console.log(`${target.name}: steps ran on ${[firstRan && 'the first worker', secondRan && 'the second worker'].filter(Boolean).join(' and ')}`);
      expectCleanEdges(app);
    });
  });
}
