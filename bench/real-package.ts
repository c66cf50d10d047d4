// A real package from the npm registry with its real test suite, in a local bare repository: a
// two-feature mission (two milestones) from /approve to done, with a model server that answers at
// once, workers that work for BENCH_WORKER_SECONDS (20) each, and GitHub answering from local mocks.
// Setup is `npm ci` in the sandbox from an empty npm cache, as on a fresh worker. Printed: mission
// wall time, installs performed, and each validation round's wall time against the time of the
// commands on its critical path (the validators' test runs, side by side, then the app's replay):
// both as those commands take alone on an idle machine, and as they ran in the round (how long at
// least one was running). For every checkout installing (the baseline), setup once with copies, and
// setup once with overlays, in the same run. Needs the npm registry (not GitHub).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pino from 'pino';
import { bareRepository, createTestApp, labeledPayload, waitFor } from '../test/helpers/harness.ts';
import { IssueThread } from '../test/helpers/issue-thread.ts';
import { commentOn } from '../test/helpers/scenario.ts';
import { approveTurn, handoffTurn, toolTurn, validatorTurns, verdictsTurn } from '../test/helpers/workers.ts';
import type { Plan } from '../src/mission/plan.ts';
import { Sandbox } from '../src/workspace/sandbox.ts';

const PACKAGE = process.env.BENCH_PACKAGE ?? 'minimist@1.2.8';
const TEST = process.env.BENCH_TEST ?? 'npm run tests-only';
const SETUP = 'npm ci --no-audit --no-fund';
/** How long each worker works (a real one takes minutes): the time spare copies are made in. */
const WORKER_SECONDS = Number(process.env.BENCH_WORKER_SECONDS ?? 20);

/** The package's published source with a lockfile, as files for a bare repository. */
function packageFiles(): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'missions-bench-pkg-'));
  const tarball = execFileSync('npm', ['pack', PACKAGE, '--silent'], { cwd: dir }).toString().trim().split('\n').pop()!;
  execFileSync('tar', ['xzf', tarball], { cwd: dir });
  const source = join(dir, 'package');
  execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: source, stdio: 'ignore' });
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else files[relative(source, full)] = readFileSync(full, 'utf8');
    }
  };
  walk(source);
  rmSync(dir, { recursive: true, force: true });
  return {
    ...files,
    '.gitignore': 'node_modules\n.nyc_output\ncoverage\n',
    '.github/missions.yml': `commands:\n  setup: ${SETUP}\n  test: ${TEST}\n`,
  };
}

const plan: Plan = {
  title: 'Two examples',
  summary: 'Two example scripts, one per milestone.',
  assertions: [
    { id: 'VAL-001', statement: 'example/first.js parses --a 1' },
    { id: 'VAL-002', statement: 'example/second.js parses --b 2' },
  ],
  features: [
    { id: 'F1', title: 'first example', description: 'Write example/first.js.', milestone: 'M1', assertion_ids: ['VAL-001'] },
    { id: 'F2', title: 'second example', description: 'Write example/second.js.', milestone: 'M2', assertion_ids: ['VAL-002'] },
  ],
};

const bash = (command: string) => toolTurn({ name: 'bash', input: { command, timeout_ms: 300_000 } });

/** Each validator runs the suite once; user-testing's pass names it, so the app replays it. */
function round(assertion: string) {
  return validatorTurns({
    scrutiny: [bash(TEST), approveTurn(`Ran \`${TEST}\`: it passes.`)],
    'user-testing': [bash(TEST), verdictsTurn([{ assertion_id: assertion, status: 'pass', command: TEST, evidence: `\`${TEST}\` passes` }])],
  });
}

interface Figures {
  missionMs: number;
  installs: number;
  reused: number;
  overlaid: number;
  restoreMs: number;
  /** Each round's wall time, and the time within it that at least one of its commands was running. */
  rounds: { ms: number; commandsMs: number }[];
}

/** When each test command ran (Date.now), in every sandbox: a round's own commands as they ran in it, side by side. */
const commandRuns: { start: number; end: number }[] = [];
const run = Sandbox.prototype.run;
Sandbox.prototype.run = async function (this: Sandbox, command, options) {
  const start = Date.now();
  try {
    return await run.call(this, command, options);
  } finally {
    if (command === TEST) commandRuns.push({ start, end: Date.now() });
  }
};

/** How long within [from, to] at least one command ran. */
function busy(from: number, to: number): number {
  const spans = commandRuns.filter((r) => r.start >= from && r.end <= to).sort((a, b) => a.start - b.start);
  let total = 0;
  let reached = from;
  for (const { start, end } of spans) {
    if (end > reached) total += end - Math.max(start, reached);
    reached = Math.max(reached, end);
  }
  return total;
}

/** How checkouts get their dependencies: each installs, or setup once with copies, or with overlays where they can. */
type Reuse = 'none' | 'copies' | 'overlays';

async function mission(files: Record<string, string>, reuse: Reuse): Promise<Figures> {
  const turns = [
    toolTurn({ name: 'submit_plan', input: plan }),
    bash(`sleep ${WORKER_SECONDS}`),
    toolTurn({ name: 'write', input: { file_path: 'example/first.js', content: "console.log(require('../')(['--a', '1']));\n" } }),
    handoffTurn('Wrote example/first.js.', { commands_run: [{ command: TEST, exit_code: 0, observation: 'passes' }] }),
    ...round('VAL-001'),
    bash(`sleep ${WORKER_SECONDS}`),
    toolTurn({ name: 'write', input: { file_path: 'example/second.js', content: "console.log(require('../')(['--b', '2']));\n" } }),
    handoffTurn('Wrote example/second.js.', { commands_run: [{ command: TEST, exit_code: 0, observation: 'passes' }] }),
    ...round('VAL-002'),
  ];
  const app = await createTestApp({ turns, workerTurns: 30 });
  app.ctx.workspaces.prepared.enabled = reuse !== 'none';
  app.ctx.workspaces.prepared.overlays = reuse === 'overlays';
  const { ['.github/missions.yml']: config, ...repoFiles } = files;
  const thread = new IssueThread(app.github, { cloneUrl: bareRepository(repoFiles), config });
  await app.receive('issues', labeledPayload());
  await waitFor(async () => (await app.store.get(1)).state === 'awaiting_approval', 'the plan', 120_000);
  const started = performance.now();
  await commentOn({ app, thread }, '/approve');
  await waitFor(async () => ['done', 'paused', 'stopped', 'cancelled'].includes((await app.store.get(1)).state), 'the mission to end', 1_800_000);
  const missionMs = performance.now() - started;
  const state = (await app.store.get(1)).state;
  if (state !== 'done') throw new Error(`the mission ended ${state}: ${JSON.stringify(await app.store.get(1))}`);
  const events = await app.store.events(1);
  const rounds: Figures['rounds'] = [];
  for (const [i, e] of events.entries()) {
    if (e.event !== 'round_started') continue;
    const shown = events.slice(i).find((x) => x.event === 'round_shown');
    if (!shown) continue;
    const [from, to] = [new Date(e.created_at).getTime(), new Date(shown.created_at).getTime()];
    rounds.push({ ms: to - from, commandsMs: busy(from, to) });
  }
  const { installed, reused, overlaid, restoreMs } = app.ctx.workspaces.prepared.counts;
  await app.close();
  return { missionMs, installs: installed, reused, overlaid, restoreMs, rounds };
}

/**
 * The test command alone, in the sandbox, on an installed checkout: its own time (median of 3); and
 * the same on a second checkout that sees that install through an overlay, as a validator's does.
 */
async function testAlone(files: Record<string, string>): Promise<{ plain: number; overlaid: number }> {
  const origin = bareRepository(files);
  const dir = mkdtempSync(join(tmpdir(), 'missions-bench-alone-'));
  const [installed, overlaid] = [join(dir, 'checkout'), join(dir, 'overlaid')];
  for (const checkout of [installed, overlaid]) execFileSync('git', ['clone', '-q', origin, checkout]);
  const log = pino({ level: 'silent' });
  const plain = new Sandbox(installed, { log });
  const setup = await plain.run(SETUP, { timeoutMs: 1_200_000, network: true });
  if (setup.exitCode !== 0) throw new Error(`setup failed:\n${setup.output}`);
  const layered = new Sandbox(overlaid, { log });
  for (const layer of ['upper', 'work', 'overlaid/node_modules']) mkdirSync(join(dir, layer), { recursive: true });
  layered.mountForEachCommand([{ lower: join(installed, 'node_modules'), target: join(overlaid, 'node_modules'), upper: join(dir, 'upper'), work: join(dir, 'work') }]);
  const times = { plain: [] as number[], overlaid: [] as number[] };
  for (let i = 0; i < 3; i++) {
    for (const [name, sandbox] of [['plain', plain], ['overlaid', layered]] as const) {
      const start = performance.now();
      const run = await sandbox.run(TEST, { timeoutMs: 300_000, network: false });
      times[name].push(performance.now() - start);
      if (run.exitCode !== 0) throw new Error(`${TEST} failed:\n${run.output}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[1]!;
  return { plain: median(times.plain), overlaid: median(times.overlaid) };
}

const files = packageFiles();
console.log(`${PACKAGE}: ${Object.keys(JSON.parse(files['package-lock.json']!).packages).length - 1} packages in its lockfile; setup \`${SETUP}\`, tests \`${TEST}\``);
const alone = await testAlone(files);
const testMs = alone.plain;
// Critical path of a round: the two validators' runs side by side, then the replay. Timed alone on
// an idle machine: side by side they share its cores, which the round's ratio includes.
const commandsMs = 2 * testMs;
console.log(
  `\`${TEST}\` alone, installed, in the sandbox: ${(testMs / 1000).toFixed(2)} s (through an overlay, as a validator's checkout sees it: ${(alone.overlaid / 1000).toFixed(2)} s); a round's commands on its critical path: ${(commandsMs / 1000).toFixed(2)} s`,
);
/**
 * The package as published has an install hook (minimist: `prepublish`, a publish guard npm also runs
 * on install), so a kept setup is shared only within a commit; without it (the variant most
 * application repositories are), across commits whose dependencies are the same.
 */
function withoutInstallHooks(files: Record<string, string>): Record<string, string> {
  const pkg = JSON.parse(files['package.json']!) as { scripts?: Record<string, string> };
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare', 'prepublish', 'preprepare', 'postprepare']) delete pkg.scripts?.[hook];
  return { ...files, 'package.json': `${JSON.stringify(pkg, null, 2)}\n` };
}

const variants: [string, Record<string, string>][] = [
  ['as published (an install hook: shared within a commit)', files],
  ['its install hooks removed (shared across commits)', withoutInstallHooks(files)],
];
for (const [variant, repo] of process.env.BENCH_ONLY_VARIANT ? variants.slice(Number(process.env.BENCH_ONLY_VARIANT), Number(process.env.BENCH_ONLY_VARIANT) + 1) : variants) {
  console.log(`\n## ${variant}`);
  // BENCH_ONLY_REUSE=1: without the baseline (minutes of installing), to look at setup once alone.
  for (const reuse of (process.env.BENCH_ONLY_REUSE ? ['copies', 'overlays'] : ['none', 'copies', 'overlays']) as Reuse[]) {
    const f = await mission(repo, reuse);
    const label = {
      none: 'baseline: every checkout installs',
      copies: 'setup once per mission and dependency state, each checkout a copy',
      overlays: 'setup once, validators and replays through overlays (the default where they work)',
    }[reuse];
    console.log(`${label}`);
    console.log(`  mission /approve to done: ${(f.missionMs / 1000).toFixed(1)} s`);
    console.log(
      `  installs performed: ${f.installs} (reuses of an earlier install: ${f.reused}, ${f.overlaid} of them through overlays; ${(f.restoreMs / 1000).toFixed(1)} s restoring in all, on the way of steps; spares are made in the background)`,
    );
    for (const [i, { ms, commandsMs: ran }] of f.rounds.entries()) {
      console.log(
        `  round ${i + 1}: ${(ms / 1000).toFixed(1)} s = ${(ms / commandsMs).toFixed(2)}x its commands' own time alone; its commands ran ${(ran / 1000).toFixed(1)} s of it (${(ms / ran).toFixed(2)}x)`,
      );
    }
  }
}
process.exit(0);
