// createTestApp(): the real app (Probot, store, queue, workers, planner) with its network edges
// replaced: GitHub through nock, the model through a local Messages API server, git through a
// local bare repository given as the repository's clone_url.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import Anthropic from '@anthropic-ai/sdk';
import nock from './nock.ts';
import { afterEach, expect } from 'vitest';
import { Probot, ProbotOctokit } from 'probot';
import pino from 'pino';
import { missionsApp } from '../../src/app.ts';
import { IntakeQueue } from '../../src/handlers/intake-queue.ts';
import type { MissionContext } from '../../src/mission/context.ts';
import { startMissionWorker } from '../../src/mission/worker.ts';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { MissionStore } from '../../src/store/missions.ts';
import { JobQueue, type QueueOptions } from '../../src/store/queue.ts';
import { Workspaces } from '../../src/workspace/checkout.ts';
import { GitHubMock, trackUnmatched } from './github.ts';
import { waitFor } from './waiting.ts';
import { startModelServer, type ModelServer, type PromptCache, type Script, type ScriptedTurn } from './model-server.ts';
import { economical, forgetStoredAnswers } from '../../src/github/economy.ts';

/** Tests wait on events through the harness; waiting.ts holds it for tests that must not load nock. */
export { waitFor };

const require = createRequire(import.meta.url);
const webhookExamples = require('@octokit/webhooks-examples/api.github.com/index.json') as { name: string; examples: any[] }[];

export const OWNER = 'Codertocat';
export const REPO = 'Hello-World';
export const REPO_ID = 186853002;
export const ISSUE = 1;
export const INSTALLATION = 1;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });

/** A real payload from @octokit/webhooks-examples, adjusted for the scenario. */
export function webhookPayload(name: string, action: string, change: (payload: any) => void = () => {}): any {
  const example = webhookExamples.find((e) => e.name === name)!.examples.find((e) => e.action === action);
  const payload = structuredClone(example);
  payload.installation = { id: INSTALLATION, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==' };
  change(payload);
  return payload;
}

export function labeledPayload(options: { label?: string; sender?: string; senderType?: 'User' | 'Bot' } = {}) {
  return webhookPayload('issues', 'labeled', (p) => {
    p.label.name = options.label ?? 'mission';
    p.sender.login = options.sender ?? 'maintainer';
    p.sender.type = options.senderType ?? 'User';
  });
}

export function commentPayload(body: string, options: { author?: string; authorType?: 'User' | 'Bot'; id?: number } = {}) {
  return webhookPayload('issue_comment', 'created', (p) => {
    p.comment.body = body;
    p.comment.created_at = p.comment.updated_at = new Date().toISOString();
    p.comment.id = options.id ?? Math.floor(Math.random() * 1e9);
    p.comment.user.login = options.author ?? 'maintainer';
    p.comment.user.type = options.authorType ?? 'User';
    p.sender.login = p.comment.user.login;
    p.sender.type = p.comment.user.type;
    delete p.issue.pull_request;
  });
}

/** A bare repository with one commit of the given files (or symbolic links), to serve as clone_url. */
export function bareRepository(files: Record<string, string | { symlink: string }>): string {
  const root = mkdtempSync(join(tmpdir(), 'missions-repo-'));
  const bare = join(root, 'origin.git');
  const work = join(root, 'work');
  const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: 'pipe' });
  mkdirSync(work);
  git(root, 'init', '-q', '--bare', '-b', 'main', bare);
  git(work, 'init', '-q', '-b', 'main');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    if (typeof content === 'string') writeFileSync(join(work, path), content);
    else symlinkSync(content.symlink, join(work, path));
  }
  git(work, 'add', '-A');
  git(work, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'initial');
  git(work, 'push', '-q', bare, 'main');
  return bare;
}

/** A new commit on main of a repository made by bareRepository, with `files` written; returns its sha. */
export function commitTo(bare: string, files: Record<string, string | { symlink: string }>): string {
  const work = join(dirname(bare), 'work');
  const git = (...args: string[]) => execFileSync('git', args, { cwd: work, stdio: 'pipe' }).toString().trim();
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(work, path)), { recursive: true });
    if (typeof content === 'string') writeFileSync(join(work, path), content);
    else symlinkSync(content.symlink, join(work, path));
  }
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'change');
  git('push', '-q', bare, 'main');
  return git('rev-parse', 'HEAD');
}

/** Quick polls and retries, and a dead worker's job noticed within seconds rather than a minute. */
const QUEUE_TIMING = { pollingIntervalSeconds: 0.5, retryDelaySeconds: 1, heartbeatSeconds: 10, superviseIntervalSeconds: 2 };

export interface TestApp {
  probot: Probot;
  github: GitHubMock;
  model: ModelServer;
  db: Database;
  store: MissionStore;
  queue: JobQueue;
  ctx: MissionContext;
  dataDir: string;
  unmatched: string[];
  receive(name: string, payload: any, id?: string): Promise<void>;
  /**
   * Another worker on the same database, as a second worker process would be: its own connection
   * (on a server), queue and workspaces; the same GitHub and model. Returns its workspaces root.
   */
  addWorker(): Promise<string>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  turns?: (ScriptedTurn | Script)[];
  dataDir?: string;
  /** Start the job workers (default true). */
  work?: boolean;
  plannerTurns?: number;
  workerTurns?: number;
  /** A model server started elsewhere (another process's test), instead of a new one. */
  modelUrl?: string;
  /** The model server's prompt cache, shared with an earlier app's (the API's cache outlives one process). */
  modelCache?: PromptCache;
  /** A PostgreSQL server database instead of the embedded one. */
  databaseUrl?: string;
  /** GitHub's API root, for a process that reaches another process's GitHub mocks (github-proxy.ts). */
  githubUrl?: string;
  /** Conditional GETs and rate-limit tracking (github/economy.ts) on; false is the benchmarks' baseline. */
  economical?: boolean;
  /** Steps at once: per process, and per installation on all processes. */
  steps?: Pick<QueueOptions, 'stepsPerProcess' | 'stepsPerInstallation'>;
  /** Seconds between the queue's polls: the harness polls every 0.5 s; build-overhead passes the app's 2 s. */
  pollingIntervalSeconds?: number;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  // A new app starts knowing nothing of GitHub (an earlier test's rate limit would put its steps off).
  forgetStoredAnswers();
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1|localhost/);
  const unmatched = trackUnmatched();
  const github = new GitHubMock().installationTokens(INSTALLATION).appIdentity();
  const model: ModelServer = options.modelUrl ? remoteModel(options.modelUrl) : await startModelServer(options.turns ?? [], { cache: options.modelCache });
  const log = pino({ level: process.env.TEST_LOG ?? 'silent' }, { write: (line: string) => process.stderr.write(line) });
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'missions-data-'));
  const db = await openDatabase(options.databaseUrl ? { databaseUrl: options.databaseUrl } : options.dataDir ? { dataDir: join(dataDir, 'db') } : {});
  const store = new MissionStore(db);
  const queue = new JobQueue(db, { log, ...QUEUE_TIMING, ...options.steps, ...(options.pollingIntervalSeconds ? { pollingIntervalSeconds: options.pollingIntervalSeconds } : {}) });
  await queue.start();
  await queue.recoverInterrupted();
  const probot = new Probot({
    ...(options.githubUrl ? { baseUrl: options.githubUrl } : {}),
    appId: 1,
    privateKey,
    secret: 'webhook-secret',
    log,
    // A function, so it wins over the throttle options Probot passes per installation (which would
    // space every write a second apart, as GitHub asks of real clients).
    Octokit: ProbotOctokit.defaults((options: object) => ({ ...options, retry: { enabled: false }, throttle: { enabled: false } })),
  });
  const intake = new IntakeQueue(store, queue);
  await probot.load(missionsApp(intake));
  let slug: string | undefined;
  const ctx: MissionContext = {
    store,
    queue,
    github: async (id) => (options.economical === false ? probot.auth(id) : economical(await probot.auth(id), id)),
    appSlug: async () => (slug ??= (await (await probot.auth()).rest.apps.getAuthenticated()).data!.slug!),
    model: new Anthropic({ apiKey: 'test-key', baseURL: model.url, maxRetries: 2 }),
    workspaces: new Workspaces(join(dataDir, 'workspaces')),
    log,
    limits: { plannerTurns: options.plannerTurns ?? 12, workerTurns: options.workerTurns ?? 12, toolTimeoutMs: 5_000 },
    hiddenPaths: [dataDir],
  };
  if (options.work !== false) await startMissionWorker(ctx);
  let deliveries = 0;
  const extra: { queue: JobQueue; db: Database; workspaces: Workspaces }[] = [];
  return {
    probot,
    github,
    model,
    db,
    store,
    queue,
    ctx,
    dataDir,
    unmatched,
    receive: (name, payload, id) => probot.receive({ id: id ?? `delivery-${++deliveries}-${Date.now()}`, name: name as any, payload }),
    async addWorker() {
      const otherDb = options.databaseUrl ? await openDatabase({ databaseUrl: options.databaseUrl }) : db;
      const otherQueue = new JobQueue(otherDb, { log, ...QUEUE_TIMING, ...options.steps });
      await otherQueue.start();
      const root = join(dataDir, `workspaces-${extra.length + 2}`);
      const workspaces = new Workspaces(root);
      extra.push({ queue: otherQueue, db: otherDb, workspaces });
      await startMissionWorker({ ...ctx, store: new MissionStore(otherDb), queue: otherQueue, workspaces });
      return root;
    },
    async close() {
      for (const w of extra) {
        await w.queue.stop();
        await w.workspaces.prepared.close();
        if (w.db !== db) await w.db.close();
      }
      await queue.stop();
      await ctx.workspaces.prepared.close();
      await db.close();
      await model.close();
      nock.cleanAll();
      nock.emitter.removeAllListeners('no match');
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function remoteModel(url: string): ModelServer {
  const elsewhere = () => {
    throw new Error('this model server is scripted by another process');
  };
  return { url, requests: [], scriptErrors: [], pending: elsewhere, enqueue: elsewhere, replace: elsewhere, close: async () => {} };
}

/**
 * After each test: the edges were clean, and the app is closed even when they were not, so one
 * failure does not leak its mocks into the next test.
 */
export function checkAndCloseAfterEach(current: () => TestApp | undefined): void {
  afterEach(async () => {
    const app = current();
    if (!app) return;
    try {
      expectCleanEdges(app);
    } finally {
      await app.close();
    }
  });
}

/** Every GitHub request matched a mock and GitHub's OpenAPI description; every model script held. */
export function expectCleanEdges(app: TestApp): void {
  expect(app.github.violations).toEqual([]);
  expect(app.unmatched).toEqual([]);
  expect(app.model.scriptErrors).toEqual([]);
}

