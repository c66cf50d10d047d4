// GitHub economy (issue 12): an installation's GETs are conditional, so an unchanged config file or
// repository costs a 304 (which GitHub does not count against the rate limit) and is answered from
// what was stored; a changed one is read anew. A step waits for the window to reset when little is left.
import { describe, expect, it } from 'vitest';
import { rateLimitWait } from '../../src/github/economy.ts';
import { loadConfig, loadConfigAt } from '../../src/github/repository.ts';
import { bareRepository, checkAndCloseAfterEach, createTestApp, waitFor, type TestApp } from '../helpers/harness.ts';
import { IssueThread } from '../helpers/issue-thread.ts';
import type { Script } from '../helpers/model-server.ts';
import { firstFeatures } from '../helpers/plans.ts';
import { commentOn, missionReaches, startMission } from '../helpers/scenario.ts';
import { buildsFeature, passingValidation, toolTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);
const ref = { owner: 'Codertocat', repo: 'Hello-World' };

describe('GitHub economy', () => {
  it('reads an unchanged config file and repository with a 304 and the stored answer, and a changed file anew', async () => {
    app = await createTestApp({ work: false });
    const setup = { cloneUrl: bareRepository({ 'cli.js': '' }), config: 'budget:\n  max_usd: 3\n' };
    new IssueThread(app.github, setup);
    const gh = await app.ctx.github(1);
    const first = await loadConfig(gh, ref);
    expect(first.ok && first.config.budget.max_usd).toBe(3);
    expect(await loadConfig(gh, ref)).toEqual(first);
    expect(app.github.notModified).toBe(1);
    // The maintainer raises the budget: the next read sees it.
    setup.config = 'budget:\n  max_usd: 7\n';
    const changed = await loadConfig(gh, ref);
    expect(changed.ok && changed.config.budget.max_usd).toBe(7);
    expect(app.github.notModified).toBe(1);
    // The next step's client (a new one for the same installation) shares what was stored.
    const next = await app.ctx.github(1);
    const repo = (await next.rest.repos.get(ref)).data;
    expect((await next.rest.repos.get(ref)).data).toEqual(repo);
    expect(await loadConfig(next, ref)).toEqual(changed);
    expect(app.github.notModified).toBe(3);
    // Sent conditionally: the stored ETag rode on the repeated reads.
    const repeated = app.github.requests.filter((r) => r.method === 'GET' && r.path === '/repos/Codertocat/Hello-World');
    expect(repeated.map((r) => !!r.headers['if-none-match'])).toEqual([false, true]);
    // A caller that changes what it got (Octokit's paginate does) does not change what is stored.
    (repo as { name: string }).name = 'changed by a caller';
    expect((await next.rest.repos.get(ref)).data.name).toBe('Hello-World');
  });

  it('costs a build step no GitHub call for a config file on the default branch, and one call per ten minutes without one', async () => {
    app = await createTestApp({ work: false });
    new IssueThread(app.github, { cloneUrl: bareRepository({ 'cli.js': '' }) });
    const gh = await app.ctx.github(1);
    const configReads = () => app.github.requests.filter((r) => r.path.includes('missions.yml')).map((r) => r.path.split('/contents/')[0]);
    // The file on the default branch: read from the clone, no request.
    const inClone = await loadConfigAt(gh, ref, async () => ({ kind: 'file', text: 'budget:\n  max_usd: 3\n' }));
    expect(inClone.ok && inClone.config.budget.max_usd).toBe(3);
    expect(configReads()).toEqual([]);
    // No file: the owner's .github repository, as Probot's loader would ask; its 404 is remembered.
    for (let i = 0; i < 3; i++) expect((await loadConfigAt(gh, ref, async () => ({ kind: 'absent' }))).ok).toBe(true);
    expect(configReads()).toEqual(['/repos/Codertocat/.github']);
    // What the clone cannot settle goes to the loader: `_extends`, or a directory at the path.
    await loadConfigAt(gh, ref, async () => ({ kind: 'file', text: '_extends: other\n' }));
    await loadConfigAt(gh, ref, async () => ({ kind: 'other' }));
    expect(configReads().filter((p) => p === '/repos/Codertocat/Hello-World')).toHaveLength(2);
  });

  it('keeps no list: comments (which outsiders write) are read in full every time', async () => {
    app = await createTestApp({ work: false });
    new IssueThread(app.github, { cloneUrl: bareRepository({ 'cli.js': '' }) });
    const gh = await app.ctx.github(1);
    for (let i = 0; i < 2; i++) await gh.rest.issues.listComments({ ...ref, issue_number: 1, per_page: 100 });
    const reads = app.github.requests.filter((r) => r.path.startsWith('/repos/Codertocat/Hello-World/issues/1/comments'));
    expect(reads.map((r) => r.headers['if-none-match'] ?? null)).toEqual([null, null]);
  });

  it('has a step wait for the reset when the installation has little of its rate limit left, and not otherwise', async () => {
    app = await createTestApp({ work: false });
    const reset = Math.ceil(Date.now() / 1000) + 120;
    const headers = (remaining: number) => ({ 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': String(remaining), 'x-ratelimit-reset': String(reset) });
    let remaining = 4000;
    app.github
      .get('/rate_limit')
      .reply(() => [200, { resources: {} }, headers(remaining)])
      .persist();
    const gh = await app.ctx.github(1);
    await gh.rest.rateLimit.get();
    expect(rateLimitWait(1)).toBe(0);
    remaining = 40;
    await gh.rest.rateLimit.get();
    const wait = rateLimitWait(1);
    expect(wait).toBeGreaterThan(100_000);
    expect(wait).toBeLessThanOrEqual(121_000);
    // Another installation's limit is its own.
    expect(rateLimitWait(2)).toBe(0);
  });

  it('puts a mission’s step off while its installation’s rate limit is nearly spent, and builds once the window resets', async () => {
    let firstWorkerTurn: number | undefined;
    const scenario = await startMission({
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        (request, index) => {
          firstWorkerTurn ??= Date.now();
          return (buildsFeature('F1', { 'cli.js': '// hello\n' })[0] as Script)(request, index);
        },
        ...buildsFeature('F1', { 'cli.js': '// hello\n' }).slice(1),
        ...passingValidation('VAL-001'),
      ],
    });
    app = scenario.app;
    await missionReaches(app, 'awaiting_approval', 1);
    // GitHub says 10 calls are left until a reset a few seconds away.
    const reset = Math.ceil(Date.now() / 1000) + 4;
    app.github.get('/rate_limit').reply(200, { resources: {} }, { 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '10', 'x-ratelimit-reset': String(reset) });
    await (await app.ctx.github(1)).rest.rateLimit.get();
    await commentOn(scenario, '/approve');
    // The step waits in the queue until the reset, its worker free, and no agent has started.
    await waitFor(
      async () => (await app.db.query<{ start_after: Date }>(`SELECT start_after FROM pgboss.job WHERE name = 'mission-step' AND state = 'created'`)).some((j) => new Date(j.start_after).getTime() >= reset * 1000 - 1_000),
      'the step put off until the reset',
    );
    expect(firstWorkerTurn).toBeUndefined();
    await missionReaches(app, 'done');
    expect(firstWorkerTurn).toBeGreaterThanOrEqual(reset * 1000 - 1_000);
  });
});
