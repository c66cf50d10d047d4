// Attack 4 of issue 9: a worker that tries to freeze the app. A link to /dev/zero where the app looks
// for package.json, a grep on a FIFO, a command that sleeps for ever: each must end in bounded time,
// and /cancel must stop what is running, not only what comes next.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bareRepository, checkAndCloseAfterEach, type TestApp, waitFor } from '../helpers/harness.ts';
import { firstFeatures } from '../helpers/plans.ts';
import { approvePlan, commentOn, missionReaches, startMission } from '../helpers/scenario.ts';
import { handoffTurn, passingValidation, toolTurn } from '../helpers/workers.ts';

let app: TestApp;
checkAndCloseAfterEach(() => app);

const lastResult = (request: { messages: { content: unknown }[] }) => JSON.stringify(request.messages.at(-1)!.content);
/** Whether a process whose command line holds `pattern` runs (pgrep: 0 found, 1 none, else broken). */
const running = (pattern: string) => {
  const { status } = spawnSync('pgrep', ['-f', '--', pattern]);
  if (status !== 0 && status !== 1) throw new Error(`pgrep failed (${status})`);
  return status === 0;
};

describe('a worker that tries to freeze the app', () => {
  it('links package.json to /dev/zero: command detection reads no further, and the mission goes on', async () => {
    const scenario = await startMission({
      repo: { cloneUrl: bareRepository({ 'cli.js': '' }) },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        toolTurn({ name: 'bash', input: { command: 'ln -s /dev/zero package.json && ln -s /dev/zero Makefile && echo "console.log(1)" > cli.js' } }),
        handoffTurn('Linked.'),
        ...passingValidation('VAL-001'),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    // The validators' checkouts hold the links; detecting their commands must not read /dev/zero.
    await missionReaches(app, 'done');
  });

  it('greps a FIFO: the tool call is stopped at its deadline and the worker is told', async () => {
    const PATTERN = `fifo-attack-${process.pid}-${Date.now()}`;
    // The SDK's grep uses ripgrep when it is installed; ripgrep blocks on a FIFO given as the path.
    expect(spawnSync('rg', ['--version']).status, 'ripgrep must be installed (apt-get install ripgrep) for this attack').toBe(0);
    const scenario = await startMission({
      repo: { cloneUrl: bareRepository({ 'cli.js': '' }) },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        toolTurn({ name: 'bash', input: { command: 'mkfifo pipe' } }),
        toolTurn({ name: 'grep', input: { pattern: PATTERN, path: 'pipe' } }),
        (request) => {
          expect(lastResult(request)).toContain('grep did not finish within 5 s and was stopped');
          return toolTurn({ name: 'bash', input: { command: 'rm pipe && echo "console.log(1)" > cli.js' } });
        },
        handoffTurn('Done.'),
        ...passingValidation('VAL-001'),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await missionReaches(app, 'done');
    expect(running(`-e ${PATTERN}`)).toBe(false);
  });

  it('lands /cancel while a command runs: the command is killed and the step ends', async () => {
    const scenario = await startMission({
      repo: { cloneUrl: bareRepository({ 'cli.js': '' }) },
      turns: [toolTurn({ name: 'submit_plan', input: firstFeatures(1) }), toolTurn({ name: 'bash', input: { command: 'sleep 321', timeout_ms: 1_500_000 } })],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await waitFor(() => running('sleep 321'), 'the worker’s command to run');
    await commentOn(scenario, '/cancel');
    await missionReaches(app, 'cancelled');
    await waitFor(() => !running('sleep 321'), 'the command to be killed', 15_000);
    // The step ended: the worker asked the model nothing more, and its transcript says it stopped.
    await waitFor(async () => (await app.db.query<{ outcome: string }>(`SELECT outcome FROM transcripts WHERE role = 'worker'`)).some((t) => t.outcome === 'stopped'), 'the worker’s transcript', 15_000);
    expect(app.model.requests).toHaveLength(2);
  });

  it('lands /cancel while the setup command runs: it is killed too', async () => {
    const scenario = await startMission({
      repo: { cloneUrl: bareRepository({ 'cli.js': '' }), config: 'commands:\n  setup: sleep 322\n' },
      turns: [toolTurn({ name: 'submit_plan', input: firstFeatures(1) })],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await waitFor(() => running('sleep 322'), 'the setup command to run');
    await commentOn(scenario, '/cancel');
    await missionReaches(app, 'cancelled');
    await waitFor(() => !running('sleep 322'), 'the setup command to be killed', 15_000);
    // No worker ever started, and the board says cancelled, not failed.
    await waitFor(() => scenario.thread.missionComment()!.body.includes('✋ cancelled'), 'the board to say cancelled');
    expect(app.model.requests).toHaveLength(1);
    expect((await app.store.get(1)).state).toBe('cancelled');
  });

  it('globs a pattern that expands to millions: refused at once, where it once held the process for a minute', async () => {
    const scenario = await startMission({
      repo: { cloneUrl: bareRepository({ 'cli.js': '' }) },
      turns: [
        toolTurn({ name: 'submit_plan', input: firstFeatures(1) }),
        toolTurn({ name: 'glob', input: { pattern: '{a,b}'.repeat(24) } }),
        (request) => {
          expect(lastResult(request)).toContain('glob: the pattern expands to more than 256 patterns');
          // Nested groups and ranges, which an earlier count let through (25 s and 38 s in the SDK's glob).
          return toolTurn({ name: 'glob', input: { pattern: `{x,${'{a,b}'.repeat(16)}}` } });
        },
        (request) => {
          expect(lastResult(request)).toContain('glob: the pattern expands to more than 256 patterns');
          return toolTurn({ name: 'glob', input: { pattern: '{1..300}{1..300}' } });
        },
        (request) => {
          expect(lastResult(request)).toContain('glob: the pattern expands to more than 256 patterns');
          return toolTurn({ name: 'glob', input: { pattern: '**/*.{js,ts}' } });
        },
        (request) => {
          expect(lastResult(request)).toContain('cli.js');
          return toolTurn({ name: 'write', input: { file_path: 'cli.js', content: 'console.log(1);\n' } });
        },
        handoffTurn('Done.'),
        ...passingValidation('VAL-001'),
      ],
    });
    app = scenario.app;
    await approvePlan(scenario);
    await missionReaches(app, 'done');
  });
});
