// A remote that takes the connection and never answers (a wedged proxy, GitHub having a bad minute):
// a fetch, a first clone and a push give up once the transfer has stalled for the limit, saying why,
// rather than holding the step until its job expires hours later; a push so given up is tried again.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { MissionBranch } from '../../src/workspace/branch.ts';
import { Workspaces } from '../../src/workspace/checkout.ts';
import { serveGitHttp } from '../helpers/git-http.ts';
import { bareRepository } from '../helpers/harness.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(options: Parameters<typeof serveGitHttp>[0] = {}) {
  const server = await serveGitHttp(options);
  cleanups.push(() => server.close());
  const origin = bareRepository({ 'cli.js': '' });
  const root = mkdtempSync(join(tmpdir(), 'missions-stall-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  // Two seconds rather than a minute, so the test waits little.
  const workspaces = new Workspaces(root, undefined, { stallSeconds: 2 });
  const url = server.urlOf(origin);
  const branch = (repoId: number) => new MissionBranch(workspaces, { repoId, missionId: repoId, cloneUrl: url, token: 'ghs_test', defaultBranch: 'main' }, 'missions/1-x');
  return { server, origin, branch };
}

async function timed<T>(work: Promise<T>): Promise<{ seconds: number; outcome: PromiseSettledResult<T> }> {
  const start = performance.now();
  const [outcome] = await Promise.allSettled([work]);
  return { seconds: (performance.now() - start) / 1000, outcome: outcome! };
}

const reason = (outcome: PromiseSettledResult<unknown>) => (outcome.status === 'rejected' ? String(outcome.reason) : 'it succeeded');

it('gives up a fetch and a first clone from a remote that never answers, and says why', { timeout: 60_000 }, async () => {
  const { server, branch } = await setUp();
  await branch(1).refresh(); // the remote answers: the cache is cloned
  server.stalled = true;
  const fetch = await timed(branch(1).refresh());
  expect(reason(fetch.outcome)).toMatch(/could not fetch http:\/\/127\.0\.0\.1:\d+\/.*: .*Operation too slow/);
  const clone = await timed(branch(2).refresh());
  expect(reason(clone.outcome)).toMatch(/could not clone http:.*: .*Operation too slow/);
  expect(server.stalledRequests).toBe(2);
  // Each gave up after its 2 s stall, with room for a busy machine; without the limit, never.
  expect(fetch.seconds).toBeLessThan(20);
  expect(clone.seconds).toBeLessThan(20);
});

it('pushes again after pushes the remote took and never answered, at their first request or at their pack', { timeout: 90_000 }, async () => {
  // The first push stalls at the ref advertisement, the second at its pack, the third goes through.
  const { server, origin, branch } = await setUp({ stallPushes: { advertisement: 1, pack: 1 } });
  const b = branch(1);
  const base = await b.refresh();
  const identity = { name: 'Missions', email: 'missions@example.com' };
  const { dir } = await b.checkoutTip(base, identity);
  writeFileSync(join(dir, 'cli.js'), 'console.log("Hello, Ada!");\n');
  const sha = await b.commit(base, { featureId: 'F1', title: 'hello', summary: '', assertionIds: [] }, identity, []);
  const push = await timed(b.push(sha));
  expect(reason(push.outcome)).toBe('it succeeded');
  expect(server.stalledRequests).toBe(2);
  expect(execFileSync('git', ['--git-dir', origin, 'rev-parse', 'refs/heads/missions/1-x']).toString().trim()).toBe(sha);
  // Two 2 s stalls and the waits of 1 s and 4 s between attempts, with room for a busy machine.
  expect(push.seconds).toBeLessThan(45);
});
