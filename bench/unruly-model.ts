// Missions against a model that misbehaves as real ones do, at realistic rates per agent run: no
// finish call (15 %), a tool call cut off at max_tokens (5 %), a refused turn (2 %), and a first fix
// that is wrong unless the fix worker is shown the validators' evidence (30 % of features are first
// built wrong). The same seeded missions run on this tree and on main as it stood before issue 10
// (a git worktree of BENCH_BASELINE), each mission in a process of its own, against the same model
// server (this tree's). Printed per tree: missions completed without a human command, validation
// rounds per milestone, agent runs, cut-off writes that landed, and cost at list prices.
//
//   npm run bench -- unruly-model        BENCH_MISSIONS=20 BENCH_BASELINE=<commit> BENCH_PARALLEL=3
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { estimateUsd } from '../src/agents/pricing.ts';
import type { MessagesRequest, Script, ScriptedTurn } from '../test/helpers/model-server.ts';

const HERE = fileURLToPath(new URL('..', import.meta.url));
const MISSIONS = Number(process.env.BENCH_MISSIONS ?? 20);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 3);
/** main before issue 10: the code whose behaviour this one is measured against. */
const BASELINE = process.env.BENCH_BASELINE ?? '3218c07';
const RATES = { noFinish: 0.15, cutOff: 0.05, refusal: 0.02, firstBuildWrong: 0.3 };
const FEATURES = 3;

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

// ---- the scripted model: a competent policy with seeded misbehaviour ----

/** A number in [0, 1) from a label: the same label draws the same number on either tree. */
const draw = (label: string) => createHash('sha256').update(label).digest().readUInt32BE(0) / 2 ** 32;

const plan = {
  title: 'Three answers',
  summary: 'Three modules, each exporting the answer.',
  assertions: Array.from({ length: FEATURES }, (_, i) => ({ id: `VAL-00${i + 1}`, statement: `\`node -p "require('./f${i + 1}.js')"\` prints \`42\`` })),
  features: Array.from({ length: FEATURES }, (_, i) => ({
    id: `F${i + 1}`,
    title: `module f${i + 1}`,
    description: `Write f${i + 1}.js exporting 42.`,
    milestone: i < 2 ? 'M1' : 'M2',
    assertion_ids: [`VAL-00${i + 1}`],
  })),
};

const tool = (name: string, input: unknown): ScriptedTurn => ({ content: [{ type: 'tool_use', name, input }] });
const say = (text: string): ScriptedTurn => ({ content: [{ type: 'text', text }] });
const text = (content: unknown) => (typeof content === 'string' ? content : JSON.stringify(content));

function policy(seed: number): Script {
  const started = new Map<string, number>();
  const flags = new Map<string, { noFinish: boolean; cutOff: boolean; refusal: boolean }>();
  return (request: MessagesRequest) => {
    const names = (request.tools ?? []).map((t) => t.name);
    const role =
      names.includes('submit_plan') ? 'planner'
      : names.includes('submit_handoff') ? 'worker'
      : names.includes('submit_review') ? 'scrutiny'
      : names.includes('submit_verdicts') ? 'user-testing'
      : 'triage';
    const task = text(request.messages[0]!.content);
    const feature = /# Your feature: (F\d+)/.exec(task)?.[1] ?? '';
    const milestone = /# Milestone (M\d+)/.exec(task)?.[1] ?? '';
    const assistantTurns = request.messages.filter((m) => m.role === 'assistant').length;
    // A run is known by what it works on (never by prompt text, which differs between the trees).
    const base = `${seed}:${role}:${feature}${task.includes('An earlier attempt') ? ':again' : ''}:${milestone}`;
    if (assistantTurns === 0 && !flags.has(`${base}:refusing`)) started.set(base, (started.get(base) ?? 0) + 1);
    const label = `${base}:${started.get(base) ?? 1}`;
    if (!flags.has(label)) flags.set(label, { noFinish: draw(`${label}:nofinish`) < RATES.noFinish, cutOff: draw(`${label}:cut`) < RATES.cutOff, refusal: draw(`${label}:refusal`) < RATES.refusal });
    const f = flags.get(label)!;
    if (assistantTurns === 0 && f.refusal) {
      f.refusal = false;
      flags.set(`${base}:refusing`, f);
      return { refusal: true };
    }
    flags.delete(`${base}:refusing`);
    if (assistantTurns === 0 && f.cutOff) {
      f.cutOff = false;
      return { content: [{ type: 'tool_use', name: role === 'worker' ? 'write' : 'bash', input: role === 'worker' ? { file_path: 'junk.js', content: 'x'.repeat(200) } : { command: 'echo half' } }], stop_reason: 'max_tokens' };
    }
    const finish = (turn: ScriptedTurn): ScriptedTurn => {
      if (!f.noFinish) return turn;
      f.noFinish = false;
      return say('Done: everything is in place.');
    };
    const last = text(request.messages.at(-1)!.content);
    switch (role) {
      case 'planner':
        return finish(tool('submit_plan', plan));
      case 'worker': {
        const fix = /^Repair (VAL-\d+)/m.exec(/# Your feature: F\d+ (.*)/.exec(task)?.[1] ?? '');
        const n = fix ? Number(fix[1]!.slice(4)) : Number(feature.slice(1));
        const wrote = request.messages.some((m) => m.role === 'assistant' && text(m.content).includes(`"file_path":"f${n}.js"`));
        if (!wrote) {
          // The first build is wrong at the seeded rate; a fix is right only if the evidence reached it.
          const right = fix ? task.includes('printed 41') : draw(`${seed}:bug:${feature}`) >= RATES.firstBuildWrong;
          return tool('write', { file_path: `f${n}.js`, content: `module.exports = ${right ? 42 : 41};\n` });
        }
        return finish(tool('submit_handoff', { status: 'complete', summary: `Wrote f${n}.js.`, commands_run: [], left_undone: [], issues_found: [] }));
      }
      case 'scrutiny':
        return finish(tool('submit_review', { verdict: 'approve', summary: 'Read the diff: nothing to change.', findings: [] }));
      case 'user-testing': {
        const ids = [...new Set([...task.matchAll(/\*\*(VAL-\d+)\*\*/g)].map((m) => m[1]!))];
        // Runs its checks, and again after a reply of its own was cut off (those calls did not run).
        if (assistantTurns === 0 || !last.includes('tool_result') || last.includes('Not run:')) {
          return { content: ids.map((id) => ({ type: 'tool_use' as const, name: 'bash', input: { command: `node -p "require('./f${Number(id.slice(4))}.js')"` } })) };
        }
        const outputs = (request.messages.at(-1)!.content as { type: string; content?: unknown }[]).filter((b) => b.type === 'tool_result').map((b) => text(b.content));
        return finish(
          tool('submit_verdicts', {
            results: ids.map((id, i) => {
              const n = Number(id.slice(4));
              const printed = /\b(4[12])\b/.exec(outputs[i] ?? '')?.[1];
              return printed === '42' ?
                  { assertion_id: id, status: 'pass', evidence: `\`node -p "require('./f${n}.js')"\` printed 42`, command: `node -e "process.exit(require('./f${n}.js') === 42 ? 0 : 1)"` }
                : { assertion_id: id, status: 'fail', evidence: `\`node -p "require('./f${n}.js')"\` printed ${printed ?? 'an error'}; ${id} wants 42` };
            }),
          }),
        );
      }
      default: {
        const failing = [...(/Not passed: ([^.]*)\./.exec(task)?.[1] ?? '').matchAll(/VAL-\d+/g)].map((m) => m[0]);
        const at = task.indexOf('## The items of this round');
        const listed = at < 0 ? '' : task.slice(at);
        const items = [...listed.matchAll(/^- \*\*((?:S|W)\d+|VAL-\d+)\*\*/gm)].map((m) => m[1]!);
        return finish(
          tool('submit_triage', {
            decision: failing.length ? 'fix' : 'proceed',
            rationale: failing.length ? `${failing.join(', ')} failed.` : 'Everything passed.',
            // Like many a real triage, the description does not restate the evidence.
            fix_features: failing.map((id) => ({ title: `Repair ${id}`, description: `Make ${id} hold.`, assertion_ids: [id], addresses: [id] })),
            dispositions: items.map((item) =>
              failing.includes(item) ? { item, action: 'fix', reason: 'it failed' } : { item, action: 'dismiss', reason: 'It asks for nothing the contract covers, as the verdicts show.' },
            ),
          }),
        );
      }
    }
  };
}

// ---- one mission, in a child process, on the tree at `root` ----

async function oneMission(root: string, seed: number): Promise<Outcome> {
  const { startModelServer } = await import('../test/helpers/model-server.ts');
  const harness = await import(join(root, 'test/helpers/harness.ts'));
  const { IssueThread } = await import(join(root, 'test/helpers/issue-thread.ts'));
  const { commentOn } = await import(join(root, 'test/helpers/scenario.ts'));
  // One policy for every turn (the same closure 400 times): it keeps what it played across turns.
  const model = await startModelServer(Array(400).fill(policy(seed)));
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
