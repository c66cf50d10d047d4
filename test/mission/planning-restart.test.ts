// A planning job running when its process is killed (SIGKILL, mid model turn) finishes after the
// process restarts on the same embedded store: one mission comment, one plan.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { bareRepository, createTestApp, expectCleanEdges, waitFor, type TestApp } from '../helpers/harness.ts';
import { IssueThread } from '../helpers/issue-thread.ts';
import { startModelServer, type ModelServer } from '../helpers/model-server.ts';
import { greetingPlan } from '../helpers/plans.ts';
import { missionReaches } from '../helpers/scenario.ts';
import { killed, startNode } from '../helpers/processes.ts';

let app: TestApp | undefined;
let model: ModelServer;
const dir = mkdtempSync(join(tmpdir(), 'missions-planning-restart-'));
afterEach(async () => {
  await app?.close();
  await model.close();
  rmSync(dir, { recursive: true, force: true });
});

it('finishes a planning job after the process running it was killed', async () => {
  model = await startModelServer([{ hang: true }]);
  const cloneUrl = bareRepository({ 'cli.js': '' });
  const stateFile = join(dir, 'thread.json');
  const dataDir = join(dir, 'data');
  const child = startNode(new URL('../fixtures/planning-child.ts', import.meta.url), [dataDir, cloneUrl, stateFile, model.url]);
  // The planner's first turn is in flight: the job is mid-step.
  await waitFor(() => model.requests.length === 1, 'the planner to call the model', 120_000);
  await killed(child);

  model.enqueue({ content: [{ type: 'tool_use', name: 'submit_plan', input: greetingPlan }] });
  app = await createTestApp({ dataDir, modelUrl: model.url });
  const thread = new IssueThread(app.github, { cloneUrl, stateFile });
  // The child had already reacted and posted the mission comment.
  expect(thread.comments).toHaveLength(1);

  await missionReaches(app, 'awaiting_approval', 1);
  expect(thread.missionComment()!.body).toContain('## Mission plan: Greeting command');
  expect(thread.comments).toHaveLength(1);
  expect(thread.reactions).toEqual(['eyes']);
  expect(model.requests).toHaveLength(2);
  expect(model.scriptErrors).toEqual([]);
  expectCleanEdges(app);
});
