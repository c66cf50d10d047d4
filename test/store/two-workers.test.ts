// Two workers on one database (two pg-boss workers with their own connections on a PostgreSQL
// server, as two worker processes would be) build one mission: its steps never run at once, every
// feature is built once, and either worker can take the next step because each starts from the
// pushed branch.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { bareRepository, createTestApp, expectCleanEdges, type TestApp } from '../helpers/harness.ts';
import { databaseTargets } from '../helpers/databases.ts';
import { pushedCommits } from '../helpers/git.ts';
import { IssueThread } from '../helpers/issue-thread.ts';
import type { Script } from '../helpers/model-server.ts';
import { stackPlan } from '../helpers/plans.ts';
import { commentOn, missionReaches } from '../helpers/scenario.ts';
import { handoffTurn, passingValidation, taskOf, toolTurn } from '../helpers/workers.ts';
import { labeledPayload, waitFor } from '../helpers/harness.ts';
import { startGitHubProxy } from '../helpers/github-proxy.ts';
import { killed, startNode } from '../helpers/processes.ts';

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** A worker for `featureId` that writes one file, then takes a while (so a second step would overlap it). */
function slowWorker(featureId: string, order: string[], seconds = 0.7): Script[] {
  return [
    (request) => {
      expect(taskOf(request)).toContain(`# Your feature: ${featureId}`);
      order.push(`${featureId}:start`);
      return toolTurn({ name: 'bash', input: { command: `echo ${featureId} > ${featureId}.txt && sleep ${seconds}` } });
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
        turns: [
          toolTurn({ name: 'submit_plan', input: stackPlan }),
          ...slowWorker('F1', order),
          ...slowWorker('F2', order),
          ...passingValidation('VAL-001', 'VAL-002'),
          ...slowWorker('F3', order),
          ...passingValidation('VAL-003'),
        ],
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
        await missionReaches(app, 'done');
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

    if (target.name === 'PostgreSQL server') {
      it('builds one mission with two worker processes and a web process; when the one building dies, the other finishes', async () => {
        const url = (await target.create())!;
        const order: string[] = [];
        // This process is the web role: it takes the webhooks, and plays GitHub and the model for all.
        app = await createTestApp({
          databaseUrl: url,
          work: false,
          turns: [
          toolTurn({ name: 'submit_plan', input: stackPlan }),
          ...slowWorker('F1', order),
          // Long enough to be killed in the middle of, once it is known which process builds it.
          ...slowWorker('F2', order, 60),
          ...passingValidation('VAL-001', 'VAL-002'),
          ...slowWorker('F3', order),
          ...passingValidation('VAL-003'),
        ],
        });
        const proxy = await startGitHubProxy();
        const origin = bareRepository({ 'cli.js': '' });
        const thread = new IssueThread(app.github, { cloneUrl: origin });
        const dirs = [mkdtempSync(join(tmpdir(), 'missions-worker-a-')), mkdtempSync(join(tmpdir(), 'missions-worker-b-'))];
        const children = dirs.map((dir) =>
          startNode(new URL('../fixtures/worker-child.ts', import.meta.url), [url, dir, app!.model.url, proxy.url]),
        );
        try {
          await Promise.all(children.map((child) => new Promise((resolve) => child.once('message', resolve))));
          await app.receive('issues', labeledPayload());
          await missionReaches(app, 'awaiting_approval', 1);
          await commentOn({ app, thread }, '/approve');
          // F2 is in progress: the process building it dies. Its job is found by its missing heartbeat
          // and the other process builds F2 again, in a workspace of its own, from the pushed F1.
          // The process building F2 is the one whose checkout holds F2's file (either may have built F1).
          const building = await waitFor(() => {
            const found = dirs.findIndex((dir) => existsSync(join(dir, 'workspaces', 'missions', '1', 'checkout', 'F2.txt')));
            return found >= 0 ? found + 1 : 0;
          }, 'F2 to be under way').then((n) => n - 1);
          children[building]!.kill('SIGKILL');
          app.model.replace(...slowWorker('F2', order), ...passingValidation('VAL-001', 'VAL-002'), ...slowWorker('F3', order), ...passingValidation('VAL-003'));
          const started = Date.now();
          await waitFor(async () => (await app!.store.get(1)).state === 'done', 'the other worker to finish the mission', 150_000);
          console.log(`the surviving worker finished the mission ${((Date.now() - started) / 1000).toFixed(1)} s after the kill`);
          expect(order).toEqual(['F1:start', 'F1:end', 'F2:start', 'F2:start', 'F2:end', 'F3:start', 'F3:end']);
          expect(pushedCommits(origin, 'missions/1-greeting-command').map((c) => c.files)).toEqual([['F1.txt'], ['F2.txt'], ['F3.txt']]);
          expect((await app.store.features(1)).map((f) => f.attempts)).toEqual([1, 2, 1]);
          expect(existsSync(join(dirs[1 - building]!, 'workspaces', 'missions', '1', 'git'))).toBe(true);
          expect(thread.pulls).toHaveLength(1);
          expectCleanEdges(app);
        } finally {
          await Promise.all(children.map((child) => killed(child)));
          await proxy.close();
          for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });
}
