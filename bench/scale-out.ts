// Missions per hour with 1 and 2 worker processes on one PostgreSQL server. BENCH_MISSIONS missions
// (default 8; the three-module plan: 3 features, 2 milestones, each mission in a repository of its
// own) are labelled at once and approved as soon as their plan is up; the figure is missions done
// per hour from the first label to the last mission done. The model is instant (a scripted policy);
// git, the sandboxed commands, the replays, the queue and the database are real. This process is the
// web process and plays GitHub (nock, reached by the workers through a proxy) and the model; each
// worker is a process of its own (test/fixtures/worker-child.ts). Run with 4 steps per process (the
// default) and with 1, all on this machine's cores: the cores every process shares bound the ratio.
//
//   npm run bench -- scale-out      MISSIONS_BENCH_DATABASE_URL=postgres://… BENCH_MISSIONS=8
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bareRepository, commentPayload, createTestApp, labeledPayload, waitFor, type TestApp } from '../test/helpers/harness.ts';
import { startGitHubProxy } from '../test/helpers/github-proxy.ts';
import { IssueThread } from '../test/helpers/issue-thread.ts';
import { NO_MISBEHAVIOUR, policy } from './lib/model-policy.ts';
import { BENCH_SERVER, dropDatabase, freshDatabase } from './lib/postgres.ts';

const MISSIONS = Number(process.env.BENCH_MISSIONS ?? 8);
const WORKER = new URL('../test/fixtures/worker-child.ts', import.meta.url).pathname;
const DIE_WITH_PARENT = new URL('../test/helpers/die-with-parent.ts', import.meta.url).pathname;

/** A worker process (test/helpers/processes.ts's startNode, which only runs under vitest). */
function startWorker(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', DIE_WITH_PARENT, WORKER, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** A webhook payload moved to repository `name` (id `id`). */
function inRepository<T extends { repository: Record<string, unknown> }>(payload: T, name: string, id: number): T {
  payload.repository = { ...payload.repository, id, name, full_name: `Codertocat/${name}` };
  return payload;
}

async function run(workers: number, stepsPerProcess: number) {
  const url = await freshDatabase();
  if (!url) throw new Error(`no PostgreSQL server answers at ${BENCH_SERVER}: set MISSIONS_BENCH_DATABASE_URL`);
  // The model plays every role for every mission at once; nothing misbehaves.
  const app: TestApp = await createTestApp({ databaseUrl: url, work: false, turns: Array(MISSIONS * 60).fill(policy(0, NO_MISBEHAVIOUR)) });
  const proxy = await startGitHubProxy();
  const dirs = Array.from({ length: workers }, () => mkdtempSync(join(tmpdir(), 'missions-scale-')));
  // One installation: the per-installation limit is set to every slot, so it does not bound this.
  const steps = JSON.stringify({ stepsPerProcess, stepsPerInstallation: workers * stepsPerProcess });
  const children = dirs.map((dir) => startWorker([url, dir, app.model.url, proxy.url, steps]));
  try {
    await Promise.all(children.map((child) => new Promise((resolve) => child.once('message', resolve))));
    const repos = Array.from({ length: MISSIONS }, (_, i) => ({ name: `repo-${i + 1}`, id: 5000 + i }));
    const threads = repos.map((repo) => new IssueThread(app.github, { cloneUrl: bareRepository({ 'README.md': `# ${repo.name}\n` }), repo }));
    const started = performance.now();
    for (const repo of repos) await app.receive('issues', inRepository(labeledPayload(), repo.name, repo.id));
    // Each plan approved as it comes up, as a maintainer watching would.
    const approved = new Set<string>();
    let done = 0;
    // A mission that ended short stops the wait (waitFor would take a throw for "not yet"), with why.
    let stuck: { repo: string; state: string; error: string | null } | undefined;
    await waitFor(
      async () => {
        const missions = await app.db.query<{ repo: string; state: string; rendered_revision: number | null; error: string | null; stop_note: string | null }>(
          'SELECT repo, state, rendered_revision, error, stop_note FROM missions',
        );
        const ended = missions.find((m) => ['failed', 'paused', 'cancelled', 'questions'].includes(m.state));
        if (ended) {
          stuck = { ...ended, error: ended.error ?? ended.stop_note };
          return true;
        }
        for (const m of missions) {
          if (m.state !== 'awaiting_approval' || !m.rendered_revision || approved.has(m.repo)) continue;
          approved.add(m.repo);
          const i = repos.findIndex((r) => r.name === m.repo);
          const comment = threads[i]!.add('/approve');
          await app.receive('issue_comment', inRepository(commentPayload('/approve', { id: comment.id }), repos[i]!.name, repos[i]!.id));
        }
        done = missions.filter((m) => m.state === 'done').length;
        return done === MISSIONS;
      },
      'every mission to be done',
      1_800_000,
    );
    if (stuck) throw new Error(`a mission in ${stuck.repo} ended ${stuck.state}${stuck.error ? `: ${stuck.error}` : ''}`);
    const seconds = (performance.now() - started) / 1000;
    if (app.github.violations.length) throw new Error(`GitHub requests outside its API: ${app.github.violations.slice(0, 3).join('; ')}`);
    return { seconds, perHour: (MISSIONS / seconds) * 3600 };
  } finally {
    await Promise.all(children.map((child) => killed(child)));
    await proxy.close();
    await app.close();
    await dropDatabase(url).catch(() => {});
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`${MISSIONS} missions at once (3 features, 2 milestones each), instant model, PostgreSQL server; web, GitHub and model in this process`);
for (const slots of [4, 1]) {
  const one = await run(1, slots);
  const two = await run(2, slots);
  console.log(
    `  ${slots} step(s) per process: 1 worker ${one.perHour.toFixed(0)} missions/hour (${one.seconds.toFixed(1)} s), 2 workers ${two.perHour.toFixed(0)} missions/hour (${two.seconds.toFixed(1)} s): ratio ${(two.perHour / one.perHour).toFixed(2)}`,
  );
}
process.exit(0);
