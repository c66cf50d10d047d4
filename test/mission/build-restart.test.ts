// Durability: the process is killed (SIGKILL) in the middle of a feature, and the restarted app
// finishes the mission from the last pushed commit, with exactly one commit per feature. And a step
// that died between its push and its record finds the commit on the branch instead of building again.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { bareRepository, createTestApp, expectCleanEdges, waitFor, type TestApp } from '../helpers/harness.ts';
import { git, pushedCommits } from '../helpers/git.ts';
import { IssueThread } from '../helpers/issue-thread.ts';
import { startModelServer, type ModelServer } from '../helpers/model-server.ts';
import { stackPlan } from '../helpers/plans.ts';
import { approvePlan, missionReaches, startMission } from '../helpers/scenario.ts';
import { buildsFeature, passingValidation, toolTurn } from '../helpers/workers.ts';
import { killed, startNode } from '../helpers/processes.ts';

const BRANCH = 'missions/1-greeting-command';
let app: TestApp | undefined;
let model: ModelServer | undefined;
const dir = mkdtempSync(join(tmpdir(), 'missions-build-restart-'));
afterEach(async () => {
  await app?.close();
  await model?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('resumes a mission whose process was killed mid-feature, without duplicate commits', async () => {
  model = await startModelServer([
    toolTurn({ name: 'submit_plan', input: stackPlan }),
    ...buildsFeature('F1', { 'cli.js': '// hello\n' }),
    // F2's first worker leaves a file, then its process dies while the model is thinking.
    toolTurn({ name: 'write', input: { file_path: 'abandoned.js', content: '// half\n' } }),
    { hang: true },
  ]);
  const origin = bareRepository({ 'cli.js': '' });
  const stateFile = join(dir, 'thread.json');
  const dataDir = join(dir, 'data');
  const child = startNode(new URL('../fixtures/build-child.ts', import.meta.url), [dataDir, origin, stateFile, model.url]);
  await waitFor(() => model!.requests.length === 5, 'F2’s worker to be mid-turn', 120_000);
  await killed(child);
  const f1 = pushedCommits(origin, BRANCH);
  expect(f1.map((c) => c.message.split('\n')[0])).toEqual(['feat(F1): hello command']);

  model.enqueue(
    ...buildsFeature('F2', { 'test.js': '// t\n' }),
    ...passingValidation('VAL-001', 'VAL-002'),
    ...buildsFeature('F3', { 'shout.js': '// s\n' }),
    ...passingValidation('VAL-003'),
  );
  app = await createTestApp({ dataDir, modelUrl: model.url });
  const thread = new IssueThread(app.github, { cloneUrl: origin, stateFile });
  await missionReaches(app, 'done');

  const commits = pushedCommits(origin, BRANCH);
  expect(commits.map((c) => [c.message.split('\n')[0], c.files])).toEqual([
    ['feat(F1): hello command', ['cli.js']],
    ['feat(F2): tests for hello', ['test.js']],
    ['feat(F3): shout flag', ['shout.js']],
  ]);
  expect(commits[0]!.sha).toBe(f1[0]!.sha);
  expect((await app.store.features(1)).map((f) => f.attempts)).toEqual([1, 2, 1]);
  // One mission comment, one pull request, opened by the killed process and kept current by the new one.
  expect(thread.comments.filter((c) => c.body.includes('missions:mission-comment'))).toHaveLength(1);
  expect(thread.pulls).toHaveLength(1);
  await waitFor(() => thread.pulls[0]!.body.includes(commits[2]!.sha.slice(0, 7)), 'the PR to show F3');
  expect(model.requests).toHaveLength(13);
  expect(model.scriptErrors).toEqual([]);
  expectCleanEdges(app);
});

it('finds a feature already on the branch after a step died between its push and its record', async () => {
  const origin = bareRepository({ 'cli.js': '' });
  const scenario = await startMission({
    repo: { cloneUrl: origin },
    turns: [
      toolTurn({ name: 'submit_plan', input: stackPlan }),
      ...buildsFeature('F1', { 'a.js': '1\n' }),
      ...buildsFeature('F2', { 'b.js': '2\n' }),
      ...passingValidation('VAL-001', 'VAL-002'),
      ...buildsFeature('F3', { 'c.js': '3\n' }),
      ...passingValidation('VAL-003'),
    ],
  });
  app = scenario.app;
  model = undefined;
  await approvePlan(scenario);
  await missionReaches(app, 'done');
  const tip = git(origin, 'rev-parse', BRANCH);
  // The store as a step that died right after pushing F3 left it.
  await app.db.query(`UPDATE features SET state = 'building', commit_sha = NULL WHERE mission_id = 1 AND id = 'F3'`);
  await app.db.query(`UPDATE missions SET state = 'building' WHERE id = 1`);
  const requests = app.model.requests.length;
  await app.queue.requestStep({ missionId: 1 });

  await missionReaches(app, 'done');
  expect(git(origin, 'rev-parse', BRANCH)).toBe(tip);
  expect(pushedCommits(origin, BRANCH)).toHaveLength(3);
  expect((await app.store.features(1)).find((f) => f.id === 'F3')!.commit_sha).toBe(tip);
  expect(app.model.requests.length).toBe(requests);
  expectCleanEdges(app);
});
