// Building under control: a worker that cannot finish pauses the mission in its own words, /retry
// goes on from the last pushed commit, the budget holds the mission before the next feature, and
// /pause /resume /cancel /status answer trusted users (on the issue or the PR) and no one else.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, afterAll, describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, type TestApp, waitFor } from '../helpers/harness.ts';
import { branchExists, pushedCommits } from '../helpers/git.ts';
import { firstFeatures, stackPlan } from '../helpers/plans.ts';
import { approvePlan, commentOn, commentOnPullRequest, missionReaches, startMission, type Scenario } from '../helpers/scenario.ts';
import { buildsFeature, handoffTurn, passingValidation, taskOf, toolTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

const BRANCH = 'missions/1-greeting-command';
const twoFeatures = firstFeatures(2);
const secret = 'whsec-build-control-never-in-a-tool';
beforeAll(() => {
  process.env.WEBHOOK_SECRET = secret;
});
afterAll(() => {
  delete process.env.WEBHOOK_SECRET;
});

async function approve(scenario: Scenario) {
  app = scenario.app;
  await approvePlan(scenario);
}

describe('building under control', () => {
  it('pauses on a blocked handoff with the worker’s words; /retry builds the feature again from a clean checkout', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: twoFeatures }),
        // F1, first attempt: leaves a file behind, checks its environment, and gives up.
        toolTurn({ name: 'write', input: { file_path: 'half-done.js', content: '// started\n' } }, { name: 'bash', input: { command: 'env' } }),
        (request) => {
          const env = JSON.stringify(request.messages.at(-1)!.content);
          expect(env).toContain('PATH=');
          expect(env).not.toContain(secret);
          expect(env).not.toContain('ghs_installation_token_for_tests');
          return handoffTurn('The CLI has no argument parser and the issue does not say which to use.', {
            status: 'blocked',
            left_undone: ['the hello command itself'],
            issues_found: [{ severity: 'blocking', description: 'no argument parser' }],
          });
        },
        // F1, second attempt: a fresh worker from the same commit, told how the first ended, without its file.
        (request) => {
          expect(request.messages).toHaveLength(1);
          expect(taskOf(request)).toContain('ended `blocked`');
          expect(taskOf(request)).toContain('The CLI has no argument parser');
          return toolTurn({ name: 'bash', input: { command: 'ls' } });
        },
        (request) => {
          expect(JSON.stringify(request.messages.at(-1)!.content)).not.toContain('half-done.js');
          return handoffTurn('The CLI has no argument parser and the issue does not say which to use.', {
            status: 'blocked',
            left_undone: ['the hello command itself'],
            issues_found: [{ severity: 'blocking', description: 'no argument parser' }],
          });
        },
      ],
    });
    const { thread } = scenario;
    await approve(scenario);

    const paused = await missionReaches(app, 'paused');
    expect(paused.pause_reason).toBe('worker');
    const words = await waitFor(() => thread.replies().find((r) => r.includes('Mission paused')), 'the pause reply');
    expect(words).toContain('The worker of **F1** hello command handed off `blocked`');
    expect(words).toContain('> The CLI has no argument parser and the issue does not say which to use.');
    expect(words).toContain('- the hello command itself');
    expect(words).toContain('- (blocking) no argument parser');
    expect(words).toContain('Reply `/retry` to build F1 again');
    await waitFor(() => thread.missionComment()!.body.includes('paused before **F1**'), 'the board to show the pause');
    // Nothing of the attempt was committed or pushed.
    expect(branchExists(origin, BRANCH)).toBe(false);
    expect(thread.pulls).toEqual([]);

    // /retry: a fresh worker, on a checkout without the abandoned file.
    app.model.enqueue(
      (request) => {
        expect(request.messages).toHaveLength(1);
        expect(taskOf(request)).toContain('# Your feature: F1');
        return toolTurn({ name: 'bash', input: { command: 'ls -a' } });
      },
      (request) => {
        expect(JSON.stringify(request.messages.at(-1)!.content)).not.toContain('half-done.js');
        return toolTurn({ name: 'write', input: { file_path: 'cli.js', content: 'console.log("Hello");\n' } });
      },
      handoffTurn('Added hello.'),
      ...buildsFeature('F2', { 'test.js': '// test\n' }),
      ...passingValidation('VAL-001', 'VAL-002'),
    );
    await commentOn(scenario, '/retry');
    await missionReaches(app, 'done');
    expect(pushedCommits(origin, BRANCH).map((c) => [c.message.split('\n')[0], c.files])).toEqual([
      ['feat(F1): hello command', ['cli.js']],
      ['feat(F2): tests for hello', ['test.js']],
    ]);
    // F1: two attempts that ended blocked, then the one after /retry.
    expect((await app.store.features(1)).map((f) => f.attempts)).toEqual([3, 1]);
    expect(thread.replies().some((r) => r.includes('going on: building **F1** from the last pushed commit'))).toBe(true);
  });

  it('holds before the next feature once the budget is spent, and says what was spent', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    // F1's worker writes a large file: its output tokens take the mission past $1.
    const big = 'x'.repeat(400_000);
    const scenario = await startMission({
      repo: { cloneUrl: origin, config: 'budget:\n  max_usd: 1\n' },
      turns: [toolTurn({ name: 'submit_plan', input: twoFeatures }), ...buildsFeature('F1', { 'big.txt': big })],
    });
    const { thread } = scenario;
    await approve(scenario);

    const paused = await missionReaches(app, 'paused');
    expect(paused.pause_reason).toBe('budget');
    const message = await waitFor(() => thread.replies().find((r) => r.includes('budget reached')), 'the budget reply');
    const spent = await app.store.spent(1);
    expect(spent).toBeGreaterThanOrEqual(1);
    expect(message).toContain(`It has spent $${spent.toFixed(2)} of its $1 budget`);
    expect(message).toContain('F2 is next and was not started');
    expect(message).toContain('raise `budget.max_usd` in `.github/missions.yml`');
    // F1 is committed and pushed; F2 never reached a worker.
    expect(pushedCommits(origin, BRANCH).map((c) => c.message.split('\n')[0])).toEqual(['feat(F1): hello command']);
    expect((await app.store.features(1)).map((f) => f.state)).toEqual(['committed', 'pending']);
    expect(app.model.pending()).toBe(0);
    expect(app.model.requests).toHaveLength(3);
  });

  it('answers /pause, /resume, /status and /cancel from trusted users on the issue and the PR, and refuses others', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: stackPlan }),
        // /pause arrives while F1's worker is at work: F1 still finishes, then the mission holds.
        (request) => {
          expect(taskOf(request)).toContain('# Your feature: F1');
          return toolTurn({ name: 'bash', input: { command: 'sleep 1' } });
        },
        toolTurn({ name: 'write', input: { file_path: 'cli.js', content: '// hello\n' } }),
        handoffTurn('F1 done.'),
      ],
    });
    const { thread } = scenario;
    await approve(scenario);
    await waitFor(() => app.model.requests.length >= 2, 'F1’s worker to start');
    await commentOn(scenario, '/pause', 'reader');
    await commentOn(scenario, '/pause');
    await missionReaches(app, 'paused');
    await waitFor(() => thread.missionComment()!.body.includes('paused before **F2**'), 'the board to show the pause before F2');
    expect(thread.replies()).toEqual(
      expect.arrayContaining([
        expect.stringContaining('@reader `/pause` needs write access to this repository; nothing changed.'),
        expect.stringContaining('@maintainer the mission will hold before its next step.'),
      ]),
    );
    expect((await app.store.features(1)).map((f) => f.state)).toEqual(['committed', 'pending', 'pending']);
    expect(app.model.pending()).toBe(0);

    // On the pull request: /status answers there; an untrusted /resume changes nothing, and the
    // reader, refused once on this mission already, gets no second answer.
    await commentOnPullRequest(scenario, '/status');
    await commentOnPullRequest(scenario, '/resume', 'reader');
    await commentOnPullRequest(scenario, '/status');
    const pr = thread.pulls[0]!;
    await waitFor(() => pr.comments.length === 2, 'two replies on the PR');
    expect(pr.comments[0]!.body).toContain('- State: paused');
    expect(pr.comments[0]!.body).toContain('paused before **F2** tests for hello (2 of 3): paused by @maintainer');
    expect(pr.comments[0]!.body).toMatch(/- Cost so far: \$\d+\.\d\d \([\d,]+ tokens; planner \(claude-opus-5-5\) \$\d+\.\d\d, worker \(claude-sonnet-5-5\) \$\d+\.\d\d\)/);
    expect(pr.comments[1]!.body).toContain('@maintainer **Mission status**');
    expect((await app.store.get(1)).state).toBe('paused');

    // /resume from the PR goes on with F2; /cancel on the issue stops the mission mid-F2.
    app.model.enqueue(
      (request) => {
        expect(taskOf(request)).toContain('# Your feature: F2');
        return toolTurn({ name: 'bash', input: { command: 'sleep 1' } });
      },
      toolTurn({ name: 'write', input: { file_path: 'test.js', content: '// t\n' } }),
      handoffTurn('F2 done.'),
    );
    await commentOnPullRequest(scenario, '/resume');
    await waitFor(() => pr.comments.some((c) => c.body.includes('resuming: **F2** is next')), 'the resume reply on the PR');
    await waitFor(() => app.model.requests.length >= 5, 'F2’s worker to start');
    await commentOn(scenario, '/cancel');
    await missionReaches(app, 'cancelled');
    await waitFor(() => thread.missionComment()!.body.includes('✋ cancelled'), 'the board to show the cancellation');
    // Give the interrupted worker time to notice; nothing more is committed.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(app.model.pending()).toBe(2);
    expect(pushedCommits(origin, BRANCH).map((c) => c.message.split('\n')[0])).toEqual(['feat(F1): hello command']);
    expect((await app.store.get(1)).state).toBe('cancelled');
    await commentOn(scenario, '/resume');
    await waitFor(() => thread.replies().some((r) => r.includes('`/resume` changes nothing: the mission was cancelled')), 'the reply to /resume after cancel');
  });

  it('stops when someone else pushed to the mission branch meanwhile, and /retry builds on top of their commit', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const human = () => {
      const work = mkdtempSync(join(tmpdir(), 'missions-human-'));
      const run = (...args: string[]) => execFileSync('git', args, { cwd: work, stdio: 'pipe' });
      run('clone', '-q', '-b', BRANCH, origin, '.');
      run('-c', 'user.name=Human', '-c', 'user.email=h@example.com', 'commit', '-q', '--allow-empty', '-m', 'a maintainer’s note');
      run('push', '-q', 'origin', BRANCH);
    };
    const scenario = await startMission({
      repo: { cloneUrl: origin },
      turns: [
        toolTurn({ name: 'submit_plan', input: twoFeatures }),
        ...buildsFeature('F1', { 'cli.js': '// 1\n' }),
        () => {
          // While F2's worker is at work, a maintainer pushes to the mission branch.
          human();
          return toolTurn({ name: 'write', input: { file_path: 'test.js', content: '// 2\n' } });
        },
        handoffTurn('F2 done.'),
      ],
    });
    const { thread } = scenario;
    await approve(scenario);
    const failed = await missionReaches(app, 'failed');
    expect(failed.error).toMatch(/Git failed: could not push missions\/1-greeting-command: \[rejected\].*\(fetch first\)/);
    await waitFor(() => thread.missionComment()!.body.includes('⚠️ stopped at **F2**'), 'the board to show the stop');
    expect((await app.store.features(1)).map((f) => f.state)).toEqual(['committed', 'building']);

    app.model.enqueue(...buildsFeature('F2', { 'test.js': '// 2\n' }), ...passingValidation('VAL-001', 'VAL-002'));
    await commentOn(scenario, '/retry');
    await missionReaches(app, 'done');
    expect(pushedCommits(origin, BRANCH).map((c) => c.message.split('\n')[0])).toEqual(['feat(F1): hello command', 'a maintainer’s note', 'feat(F2): tests for hello']);
  });

  it('runs the repository’s setup once per checkout, and pauses with the reason when a worker runs out of turns twice', async () => {
    const origin = bareRepository({ 'cli.js': '', '.gitignore': 'setup.log\n' });
    const scenario = await startMission({
      workerTurns: 2,
      repo: { cloneUrl: origin, config: 'commands:\n  setup: echo ran >> setup.log\n  test: node cli.js\n' },
      turns: [
        toolTurn({ name: 'submit_plan', input: twoFeatures }),
        (request) => {
          // The repository's commands are in the worker's task.
          expect(taskOf(request)).toContain('- setup: `echo ran >> setup.log`');
          expect(taskOf(request)).toContain('- test: `node cli.js`');
          return toolTurn({ name: 'write', input: { file_path: 'cli.js', content: '// 1\n' } });
        },
        handoffTurn('F1 done.'),
        // F2's worker explores and never hands off: two turns, then the cap.
        toolTurn({ name: 'bash', input: { command: 'cat setup.log' } }),
        (request) => {
          expect(JSON.stringify(request.messages.at(-1)!.content)).toContain('ran');
          expect(JSON.stringify(request.messages.at(-1)!.content)).not.toMatch(/ran\\nran/);
          return toolTurn({ name: 'read', input: { file_path: 'cli.js' } });
        },
        // A second worker tries F2 once more, told how the first attempt ended; it runs out of turns too.
        (request) => {
          expect(taskOf(request)).toContain('## An earlier attempt at this feature');
          expect(taskOf(request)).toContain('it used all 2 turns without a valid submit_handoff');
          return toolTurn({ name: 'bash', input: { command: 'true' } });
        },
        toolTurn({ name: 'read', input: { file_path: 'cli.js' } }),
      ],
    });
    const { thread } = scenario;
    await approve(scenario);
    const paused = await missionReaches(app, 'paused');
    expect(paused.pause_reason).toBe('worker');
    const words = await waitFor(() => thread.replies().find((r) => r.includes('Mission paused')), 'the pause reply');
    expect(words).toContain('The worker of **F2** tests for hello stopped without a handoff: it used all 2 turns without a valid submit_handoff. Nothing of this attempt was committed. If the work needs more turns, raise `MISSIONS_WORKER_TURNS` where the app runs.');
    expect(pushedCommits(origin, BRANCH).map((c) => c.files)).toEqual([['cli.js']]);
  });

  it('stops with the end of its output when the setup command fails', async () => {
    const origin = bareRepository({ 'cli.js': '' });
    const scenario = await startMission({
      repo: { cloneUrl: origin, config: 'commands:\n  setup: echo "cannot find lockfile" && exit 3\n' },
      turns: [toolTurn({ name: 'submit_plan', input: twoFeatures })],
    });
    const { thread } = scenario;
    await approve(scenario);
    const failed = await missionReaches(app, 'failed');
    expect(failed.error).toContain('The repository could not be set up: the setup command `echo "cannot find lockfile" && exit 3` exited 3');
    expect(failed.error).toContain('cannot find lockfile');
    await waitFor(() => thread.missionComment()!.body.includes('⚠️ stopped at **F1**'), 'the board to show the stop');
    expect(app.model.requests).toHaveLength(1);
  });
});
