// Missions against a model that misbehaves as real ones do, at realistic rates per agent run: no
// finish call (15 %), a tool call cut off at max_tokens (5 %), a refused turn (2 %), and a first fix
// that is wrong unless the fix worker is shown the validators' evidence (30 % of features are first
// built wrong). The same seeded missions run on this tree and on main as it stood before issue 10
// (a git worktree of BENCH_BASELINE), each mission in a process of its own, against the same model
// server (this tree's). Printed per tree: missions completed without a human command, validation
// rounds per milestone, agent runs, cut-off writes that landed, and cost at list prices.
//
//   npm run bench -- unruly-model        BENCH_MISSIONS=20 BENCH_BASELINE=<commit> BENCH_PARALLEL=3
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { estimateUsd } from '../src/agents/pricing.ts';
import { policy, type Rates } from './lib/model-policy.ts';

const HERE = fileURLToPath(new URL('..', import.meta.url));
const MISSIONS = Number(process.env.BENCH_MISSIONS ?? 20);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 3);
/** main before issue 10: the code whose behaviour this one is measured against. */
const BASELINE = process.env.BENCH_BASELINE ?? '3218c07';
const RATES: Rates = { noFinish: 0.15, cutOff: 0.05, refusal: 0.02, firstBuildWrong: 0.3 };

interface Outcome {
  seed: number;
  state: string;
  /** Why it waits for a human (the stop note or error), when it does. */
  note: string | null;
  rounds: number;
  milestones: number;
  runs: number;
  usd: number;
  cutOffLanded: boolean;
  ms: number;
}

// ---- one mission, in a child process, on the tree at `root` ----

async function oneMission(root: string, seed: number): Promise<Outcome> {
  const { startModelServer } = await import('../test/helpers/model-server.ts');
  const harness = await import(join(root, 'test/helpers/harness.ts'));
  const { IssueThread } = await import(join(root, 'test/helpers/issue-thread.ts'));
  const { commentOn } = await import(join(root, 'test/helpers/scenario.ts'));
  // One policy for every turn (the same closure 400 times): it keeps what it played across turns.
  const model = await startModelServer(Array(400).fill(policy(seed, RATES)));
  const app = await harness.createTestApp({ modelUrl: model.url });
  const origin = harness.bareRepository({ 'README.md': '# answers\n' });
  const thread = new IssueThread(app.github, { cloneUrl: origin });
  const started = performance.now();
  await app.receive('issues', harness.labeledPayload());
  await harness.waitFor(async () => (await app.store.get(1)).rendered_revision >= 1 || ['failed'].includes((await app.store.get(1)).state), 'the plan', 120_000);
  if ((await app.store.get(1)).state === 'awaiting_approval') await commentOn({ app, thread }, '/approve');
  // Until the mission ends or waits for a human.
  const end = await harness
    .waitFor(async () => {
      const m = await app.store.get(1);
      return ['done', 'paused', 'failed', 'cancelled', 'questions'].includes(m.state) && m.activity === null && m;
    }, 'the mission to end or wait for a human', 300_000)
    .catch(() => null);
  const ms = performance.now() - started;
  const runs = await app.store.validationRuns(1);
  // 1-hour cache writes are priced as such where the tree records them (a baseline's schema may not have the column).
  const usage = await app.db.query(
    "SELECT model, input_tokens::float8 AS input_tokens, output_tokens::float8 AS output_tokens, cache_read_tokens::float8 AS cache_read_tokens, cache_write_tokens::float8 AS cache_write_tokens, COALESCE((to_jsonb(u) ->> 'cache_write_1h_tokens')::float8, 0) AS cache_write_1h_tokens FROM usage u WHERE mission_id = 1",
  );
  const transcripts = await app.db.query('SELECT count(*)::int AS n FROM transcripts WHERE mission_id = 1');
  const branch = (await app.store.get(1)).branch;
  let cutOffLanded = false;
  if (branch) {
    try {
      cutOffLanded = execFileSync('git', ['--git-dir', origin, 'ls-tree', '-r', '--name-only', branch], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).includes('junk.js');
    } catch {}
  }
  if (process.env.BENCH_DEBUG) {
    for (const t of await app.db.query('SELECT role, outcome, messages FROM transcripts WHERE mission_id = 1 ORDER BY id')) {
      process.stderr.write(`--- ${t.role} ${t.outcome}\n${JSON.stringify(t.messages).slice(0, 3000)}\n`);
    }
  }
  const last = await app.store.get(1);
  const outcome: Outcome = {
    seed,
    state: end ? end.state : 'stuck',
    note: last.stop_note ?? last.error ?? null,
    rounds: runs.length,
    milestones: new Set(runs.map((r: { milestone: string }) => r.milestone)).size,
    runs: transcripts[0].n,
    // The same list prices for both trees, so the columns compare tokens, not price tables.
    usd: usage.reduce((s: number, u: any) => s + estimateUsd(u.model, u), 0),
    cutOffLanded,
    ms,
  };
  await app.close();
  await model.close();
  return outcome;
}

// ---- the parent: both trees, every seed ----

function child(root: string, seed: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--mission', String(seed), '--root', root], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line));
      } catch {
        reject(new Error(`mission ${seed} on ${root} exited ${code}: ${out.slice(-500)}`));
      }
    });
  });
}

async function all(root: string): Promise<Outcome[]> {
  const seeds = Array.from({ length: MISSIONS }, (_, i) => i + 1);
  const results: Outcome[] = [];
  const next = async (): Promise<void> => {
    const seed = seeds.shift();
    if (seed === undefined) return;
    results.push(await child(root, seed));
    return next();
  };
  await Promise.all(Array.from({ length: PARALLEL }, next));
  return results.sort((a, b) => a.seed - b.seed);
}

function column(results: Outcome[]) {
  const done = results.filter((r) => r.state === 'done');
  const milestones = results.reduce((s, r) => s + r.milestones, 0);
  return {
    'missions completed without a human command': `${done.length} of ${results.length}`,
    'validation rounds per milestone': milestones ? (results.reduce((s, r) => s + r.rounds, 0) / milestones).toFixed(2) : '—',
    'agent runs per mission': (results.reduce((s, r) => s + r.runs, 0) / results.length).toFixed(1),
    'cut-off writes that landed in a commit': String(results.filter((r) => r.cutOffLanded).length),
    'cost per mission (list prices)': `$${(results.reduce((s, r) => s + r.usd, 0) / results.length).toFixed(4)}`,
    'cost per completed mission': done.length ? `$${(results.reduce((s, r) => s + r.usd, 0) / done.length).toFixed(4)}` : '—',
    'how the others ended': Object.entries(results.filter((r) => r.state !== 'done').reduce<Record<string, number>>((m, r) => ((m[r.state] = (m[r.state] ?? 0) + 1), m), {})).map(([k, v]) => `${v} ${k}`).join(', ') || '—',
  };
}

const args = process.argv.slice(2);
if (args[0] === '--mission') {
  const outcome = await oneMission(args[3]!, Number(args[1]));
  process.stdout.write(`\n${JSON.stringify(outcome)}\n`);
  process.exit(0);
}

const baseline = mkdtempSync(join(tmpdir(), 'missions-baseline-'));
rmSync(baseline, { recursive: true });
execFileSync('git', ['-C', HERE, 'worktree', 'add', '--detach', '--quiet', baseline, BASELINE]);
try {
  if (!existsSync(join(baseline, 'node_modules'))) symlinkSync(join(HERE, 'node_modules'), join(baseline, 'node_modules'));
  console.log(`${MISSIONS} seeded missions (3 features, 2 milestones), misbehaviour per run: no finish call ${RATES.noFinish * 100} %, cut-off tool call ${RATES.cutOff * 100} %, refusal ${RATES.refusal * 100} %; ${RATES.firstBuildWrong * 100} % of features first built wrong`);
  const beforeResults = await all(baseline);
  const before = column(beforeResults);
  const afterResults = await all(HERE);
  const after = column(afterResults);
  const width = Math.max(...Object.keys(before).map((k) => k.length));
  console.log(`${''.padEnd(width)}  ${`main before issue 10 (${BASELINE})`.padEnd(28)}  this tree`);
  for (const key of Object.keys(before) as (keyof typeof before)[]) console.log(`${key.padEnd(width)}  ${before[key].padEnd(28)}  ${after[key]}`);
  // Why the missions that did not complete wait for a human, in the app's words (ids and numbers folded).
  for (const [tree, results] of [[`main before issue 10`, beforeResults], ['this tree', afterResults]] as const) {
    const why = new Map<string, number>();
    for (const r of results.filter((r) => r.state !== 'done')) {
      const note = `${r.state}: ${(r.note ?? '(no note)').replace(/\b(F|VAL-|M)\d+\b/g, '$1…').replace(/\s+/g, ' ').slice(0, 110)}`;
      why.set(note, (why.get(note) ?? 0) + 1);
    }
    if (why.size) console.log(`\n${tree}, why missions stopped:\n${[...why].map(([note, n]) => `  ${n} × ${note}`).join('\n')}`);
  }
} finally {
  execFileSync('git', ['-C', HERE, 'worktree', 'remove', '--force', baseline]);
}
process.exit(0);
