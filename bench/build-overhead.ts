// A ten-feature mission from /approve to its last push, with a model server that answers at once
// and GitHub answering from local mocks: the wall time, against the time the same git work takes
// alone (the same workspace module, no model, GitHub, queue or store) right after each mission, and
// the GitHub REST calls each feature costs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bareRepository, createTestApp, labeledPayload, waitFor } from '../test/helpers/harness.ts';
import { IssueThread } from '../test/helpers/issue-thread.ts';
import { commentOn } from '../test/helpers/scenario.ts';
import type { Script, ScriptedTurn } from '../test/helpers/model-server.ts';
import { passingValidation } from '../test/helpers/workers.ts';
import type { Plan } from '../src/mission/plan.ts';
import { MissionBranch } from '../src/workspace/branch.ts';
import { Workspaces } from '../src/workspace/checkout.ts';
import { gitAt } from '../src/workspace/git.ts';
import { median } from './lib/stats.ts';
import { POLLING_SECONDS } from '../src/store/queue.ts';
import { forgetStoredAnswers } from '../src/github/economy.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const FEATURES = Number(process.env.BENCH_FEATURES ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const identity = { name: 'missions[bot]', email: '1+missions[bot]@users.noreply.github.com' };

const plan: Plan = {
  title: 'Ten small modules',
  summary: 'One module per feature.',
  assertions: Array.from({ length: FEATURES }, (_, i) => ({ id: `VAL-${String(i + 1).padStart(3, '0')}`, statement: `module ${i + 1} exports ${i + 1}` })),
  features: Array.from({ length: FEATURES }, (_, i) => ({
    id: `F${i + 1}`,
    title: `module ${i + 1}`,
    description: `Write module${i + 1}.js.`,
    // One milestone, validated after the last push, so the time to the last push is building alone.
    milestone: 'M1',
    assertion_ids: [`VAL-${String(i + 1).padStart(3, '0')}`],
  })),
};

const tool = (name: string, input: unknown): ScriptedTurn => ({ content: [{ type: 'tool_use', name, input }] });
const files = (i: number) => ({ [`module${i}.js`]: `export const value = ${i};\n` });

interface Run {
  /** How long one git command held the event loop, measured while the app was open. */
  held: { direct: number; helper: number };
  ms: number;
  doneMs: number;
  restCalls: number;
  notModified: number;
  byCall: Map<string, number>;
}

/**
 * How long running one git command holds this process's event loop: started from this process (fork
 * copies its memory map, an embedded database's hundreds of megabytes included) against handed to the
 * git helper process, as the app does (git.ts).
 */
async function loopHeldMs(): Promise<{ direct: number; helper: number }> {
  const n = 20;
  const held = async (run: () => Promise<unknown>) => {
    let ms = 0;
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      const done = run();
      ms += performance.now() - started;
      await done;
    }
    return ms / n;
  };
  return { direct: await held(() => execFileAsync('git', ['--version'])), helper: await held(() => gitAt().raw(['--version'])) };
}

async function mission(options: { economical: boolean; config?: string }): Promise<Run> {
  forgetStoredAnswers();
  const turns: (ScriptedTurn | Script)[] = [tool('submit_plan', plan)];
  for (let i = 1; i <= FEATURES; i++) {
    turns.push(tool('write', { file_path: `module${i}.js`, content: files(i)[`module${i}.js`] }));
    turns.push(tool('submit_handoff', { status: 'complete', summary: `Module ${i}.`, commands_run: [], left_undone: [], issues_found: [] }));
    // Each milestone's validation, passing at once, after its last feature.
    const milestone = plan.features[i - 1]!.milestone;
    if (i === FEATURES || plan.features[i]!.milestone !== milestone) {
      turns.push(...passingValidation(...plan.features.filter((f) => f.milestone === milestone).flatMap((f) => f.assertion_ids)));
    }
  }
  // The app's own poll (the harness polls four times as often, which costs the embedded database's time).
  const app = await createTestApp({ turns, economical: options.economical, pollingIntervalSeconds: POLLING_SECONDS });
  const thread = new IssueThread(app.github, { cloneUrl: bareRepository({ 'README.md': '# bench\n' }), ...(options.config ? { config: options.config } : {}) });
  await app.receive('issues', labeledPayload());
  await waitFor(async () => (await app.store.get(1)).rendered_revision === 1, 'the plan', 60_000);
  const before = app.github.requests.length;
  const notModifiedBefore = app.github.notModified;
  const started = Date.now();
  await commentOn({ app, thread }, '/approve');
  // Times as the app recorded them, read once a second: polling the store as fast as a test does
  // takes the embedded database's time from the app (it was 3 s of a 32 s mission, 427 reads).
  const lastPush = await waitFor(async () => {
    const features = await app.store.features(1);
    return features.length === FEATURES && features.every((f) => f.committed_at) && Math.max(...features.map((f) => f.committed_at!.getTime()));
  }, 'the last push', 600_000, 1000);
  const ms = lastPush - started;
  const done = await waitFor(async () => (await app.store.events(1)).find((e) => e.to_state === 'done')?.created_at.getTime(), 'the mission to be done', 600_000, 1000);
  const doneMs = done - started;
  // Calls after the approval, the tokens for the installation included.
  const calls = app.github.requests.slice(before);
  const byCall = new Map<string, number>();
  for (const r of calls) {
    const key = `${r.method} ${r.path.split('?')[0]!.replace(/\/[0-9a-f]{40}(?=\/|$)/g, '/{sha}').replace(/\/\d+(?=\/|$)/g, '/{n}').replace(/^\/repos\/[^/]+\/[^/]+/, '/repos/{o}/{r}')}`;
    byCall.set(key, (byCall.get(key) ?? 0) + 1);
  }
  const notModified = app.github.notModified - notModifiedBefore;
  const held = await loopHeldMs();
  await app.close();
  return { held, ms, doneMs, restCalls: calls.length, notModified, byCall };
}

/** The same git work the app does per feature, through the same module, and nothing else. */
async function gitAlone(): Promise<number> {
  const origin = bareRepository({ 'README.md': '# bench\n' });
  const root = mkdtempSync(join(tmpdir(), 'missions-bench-git-'));
  const workspaces = new Workspaces(root);
  const started = performance.now();
  const branch = new MissionBranch(workspaces, { repoId: 1, missionId: 1, cloneUrl: origin }, 'missions/1-ten-small-modules');
  const base = await branch.refresh();
  for (let i = 1; i <= FEATURES; i++) {
    await branch.refresh();
    await branch.stack(base);
    const { dir, head } = await branch.checkoutTip(base, identity);
    for (const [path, content] of Object.entries(files(i))) writeFileSync(join(dir, path), content);
    const sha = await branch.commit(head, { featureId: `F${i}`, title: `module ${i}`, summary: `Module ${i}.`, assertionIds: [] }, identity, []);
    await branch.push(sha);
  }
  const ms = performance.now() - started;
  rmSync(root, { recursive: true, force: true });
  return ms;
}

const bareHeld = await loopHeldMs();
const missions: Run[] = [];
const gits: number[] = [];
for (let r = 0; r < RUNS; r++) {
  missions.push(await mission({ economical: true }));
  gits.push(await gitAlone());
}
const m = median(missions.map((x) => x.ms));
const g = median(gits);
console.log(`${FEATURES}-feature mission, /approve to last push (median of ${RUNS}): ${(m / 1000).toFixed(2)} s; runs ${missions.map((x) => (x.ms / 1000).toFixed(2)).join(', ')} s`);
console.log(`the same git work alone (median of ${RUNS}): ${(g / 1000).toFixed(2)} s; runs ${gits.map((x) => (x / 1000).toFixed(2)).join(', ')} s`);
// Each mission is followed by its git work alone, so a pair shares the machine's state of the moment
// (git work alone varies by a fifth from one minute to the next here): the figure is the median of
// the pairs' differences.
const differences = missions.map((x, i) => x.ms - gits[i]!);
console.log(`app overhead per feature: ${(median(differences) / FEATURES).toFixed(0)} ms (median of each run's mission less its git work alone: ${differences.map((d) => (d / FEATURES).toFixed(0)).join(', ')} ms)`);
console.log(`ratio of the medians, mission / git alone: ${(m / g).toFixed(2)}x (${((m - g) / FEATURES).toFixed(0)} ms per feature, unpaired)`);
console.log(`to done, the milestone validated and the PR ready (median): ${(median(missions.map((x) => x.doneMs)) / 1000).toFixed(2)} s`);
const openHeld = { direct: median(missions.map((x) => x.held.direct)), helper: median(missions.map((x) => x.held.helper)) };
console.log(
  `one git command holds the event loop ${openHeld.helper.toFixed(2)} ms handed to the git helper, against ${openHeld.direct.toFixed(1)} ms started from the app with its embedded database open (${bareHeld.direct.toFixed(1)} ms from a bare process, whose fork is small)`,
);

// GitHub calls, approval to done: every GET unconditional (the baseline) against conditional GETs, with
// and without a config file in the repository (a build step reads it from its clone; without one, the
// owner's .github repository is asked once per 10 minutes, a 404 that carries no ETag).
const CONFIG = 'commands:\n  test: node --test\n';
for (const config of [undefined, CONFIG]) {
  const runs = { baseline: await mission({ economical: false, ...(config ? { config } : {}) }), now: await mission({ economical: true, ...(config ? { config } : {}) }) };
  console.log(`\nGitHub calls per feature, approval to done, ${config ? 'with' : 'without'} .github/missions.yml (${FEATURES} features and the milestone's validation; approval, PR, review, check runs and finish included):`);
  for (const [name, run] of Object.entries(runs)) {
    const counted = run.restCalls - run.notModified;
    console.log(`  ${name.padEnd(8)} ${(run.restCalls / FEATURES).toFixed(1)} requests, ${(counted / FEATURES).toFixed(1)} counted against the rate limit (${run.notModified} answered 304)`);
  }
  if (!config) for (const [call, n] of [...runs.now.byCall].sort((a, b) => b[1] - a[1])) console.log(`    ${String(n).padStart(4)}  ${call}`);
  const writes = [...runs.now.byCall].filter(([k]) => !k.startsWith('GET') && !k.includes('access_tokens')).reduce((s, [, n]) => s + n, 0);
  if (!config) console.log(`  writes per feature: ${(writes / FEATURES).toFixed(1)}; Octokit's throttling spaces writes a second apart on GitHub (three for comments, issues and pull requests), so a real run spends at least ~${(writes / FEATURES).toFixed(0)} s per feature on them`);
}
process.exit(0);
