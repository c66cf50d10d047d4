// Process start (PRODUCT.md §5): `.env` and the environment, checked before anything starts; then
// Probot's setup page (no credentials yet), or the store and queue with the webhook server (role
// `web`), the job worker (`worker`), or both (`all`). A configuration that cannot work ends here
// with one line and exit code 1.
import type { Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import { Probot, Server } from 'probot';
import { createModelClient } from './agents/client.ts';
import { missionsApp } from './app.ts';
import { IntakeQueue } from './handlers/intake-queue.ts';
import { limitWebhookBody } from './handlers/payloads.ts';
import { createLogger } from './log.ts';
import { startMissionWorker } from './mission/worker.ts';
import { loadDotEnv, NO_WEBHOOK_URL, readStartup, WEBHOOK_PATH, withoutPassword, withoutPasswordIn, type RunSettings } from './start/environment.ts';
import { claimEmbeddedDatabase, listenProblem } from './start/claims.ts';
import { redisProblem } from './start/redis.ts';
import { probotOptions } from './github/probot-options.ts';
import { healthHandler, startHealthServer } from './start/health.ts';
import { serveSetupPage } from './start/setup.ts';
import { openDatabase, type Database } from './store/database.ts';
import { MissionStore } from './store/missions.ts';
import { JobQueue } from './store/queue.ts';
import { Workspaces } from './workspace/checkout.ts';
import { missionControl } from './web/routes.ts';
import { economical } from './github/economy.ts';

const portInUse = (settings: RunSettings) => `PORT ${settings.port} is in use on ${settings.host}: stop what listens there, or set PORT to another port.`;

/** One line on stderr, no stack trace, and exit code 1. */
function refuse(line: string): never {
  process.stderr.write(`missions: cannot start: ${line}\n`);
  process.exit(1);
}

const dotEnv = loadDotEnv(process.env, process.cwd());
if ('line' in dotEnv) refuse(dotEnv.line);
const startup = readStartup(process.env, process.cwd());
if (startup.mode === 'refuse') refuse(startup.line);
const log = createLogger();
if (dotEnv.loaded.length) log.info({ variables: dotEnv.loaded }, 'read .env');

if (startup.mode === 'setup') {
  const listening = await listenProblem(startup.host, startup.port);
  if (listening) refuse(`cannot listen on ${startup.host}:${startup.port} (${listening}): set HOST to an address of this machine and PORT to a free port.`);
  log.info('no GitHub App credentials: serving the setup page to register the app from app.yml');
  const { webhookUrl } = await serveSetupPage(startup, log);
  // Probot could not create a smee.io channel either.
  if (!webhookUrl) refuse(NO_WEBHOOK_URL);
  // A smee.io channel is a capability (whoever has its URL reads the webhooks): only the host is logged.
  log.info({ webhookHost: new URL(webhookUrl).origin }, 'the registration will send webhooks there; after registering, restart `npm start`');
} else {
  await start(startup);
}

async function start(settings: RunSettings): Promise<void> {
  // 1. The port and the data directory, before anything shared is touched.
  const listening = await listenProblem(settings.host, settings.port);
  if (listening === 'EADDRINUSE') refuse(portInUse(settings));
  if (listening) refuse(`cannot listen on ${settings.host}:${settings.port} (${listening}): set HOST to an address of this machine (0.0.0.0 for all) and PORT to a free port.`);
  if (!settings.databaseUrl) {
    const lost = (error: Error) => {
      log.fatal({ err: error }, 'the claim on the embedded database was lost: stopping, so that two processes never share it');
      process.exit(1);
    };
    const waiting = (seconds: number) => log.info(`MISSIONS_DATA_DIR is claimed: waiting up to ${seconds} s in case its holder just stopped`);
    const claim = await claimEmbeddedDatabase(settings.dataDir, lost, waiting).catch((error: NodeJS.ErrnoException) =>
      refuse(`MISSIONS_DATA_DIR ${settings.dataDir} cannot be used (${error.code ?? error.message}): make it a folder this user can write.`),
    );
    if (claim === 'held') refuse(`another Missions process uses the embedded database in MISSIONS_DATA_DIR ${settings.dataDir}: stop it, or give this process a data directory of its own (or share a PostgreSQL server through DATABASE_URL).`);
  }
  // 2. Redis, when GitHub calls are throttled through it: it must answer (its password never printed).
  if (settings.redisUrl) {
    const problem = await redisProblem(settings.redisUrl);
    if (problem) refuse(`REDIS_URL (${withoutPassword(settings.redisUrl)}) cannot be used: ${withoutPasswordIn(problem, settings.redisUrl)}. Check that the server runs and the URL is right, or unset it.`);
  }
  // 3. The database (the embedded one, or the server's, which must answer), and the queue on it.
  let db: Database;
  try {
    db = await openDatabase(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : { dataDir: join(settings.dataDir, 'db') });
  } catch (error) {
    const reason = String((error as Error).message ?? error);
    if (!settings.databaseUrl) refuse(`the embedded database in MISSIONS_DATA_DIR ${settings.dataDir} cannot be opened (${reason.split('\n')[0]!.slice(0, 200)}): move that folder aside to start afresh, or restore it.`);
    refuse(`DATABASE_URL (${withoutPassword(settings.databaseUrl)}) cannot be used: ${withoutPasswordIn(reason, settings.databaseUrl)}. Check that the server runs, the URL is right and its user may create tables.`);
  }
  const store = new MissionStore(db);
  const queue = new JobQueue(db, { log, stepsPerProcess: settings.stepsPerProcess, stepsPerInstallation: settings.stepsPerInstallation });
  const workspaces = new Workspaces(join(settings.dataDir, 'workspaces'), log);
  await queue.start();
  const recovered = await queue.recoverInterrupted();
  if (recovered) log.info({ recovered }, 'jobs interrupted by the last shutdown were handed back to the queue');
  const health = healthHandler(db, queue, settings.redisUrl);
  const github = probotOptions(settings, log);

  const startWorker = (probot: Probot) => {
    let slug: Promise<string> | undefined;
    return startMissionWorker({
      store,
      queue,
      github: async (installationId) => economical(await probot.auth(installationId), installationId),
      appSlug: () => {
        slug ??= probot.auth().then(async (app) => (await app.rest.apps.getAuthenticated()).data!.slug!);
        slug.catch(() => (slug = undefined));
        return slug;
      },
      model: createModelClient(),
      workspaces,
      log,
      limits: { plannerTurns: settings.plannerTurns, workerTurns: settings.workerTurns },
      hiddenPaths: [settings.dataDir],
      publicUrl: settings.publicUrl,
    });
  };

  // The port first, then the jobs: a process that cannot listen takes no job.
  let stopServer: () => Promise<unknown>;
  if (settings.role === 'worker') {
    const server: HttpServer = await startHealthServer(health, settings.host, settings.port).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') refuse(portInUse(settings));
      refuse(`cannot listen on ${settings.host}:${settings.port} (${error.code ?? error.message}): set HOST to an address of this machine and PORT to a free port.`);
    });
    stopServer = () => new Promise((resolve) => server.close(resolve));
    log.info(`worker: /healthz and /readyz on http://${settings.host}:${settings.port}`);
    await startWorker(new Probot(github));
  } else {
    // Probot's server with explicit options: the webhook secret is never Probot's `development` default.
    // Its webhook middleware reads no body over GitHub's 25 MB limit (limitWebhookBody).
    const WebhookProbot = Probot.defaults({ ...github, secret: settings.webhookSecret });
    class LimitedProbot extends WebhookProbot {
      override async getNodeMiddleware(options: Parameters<Probot['getNodeMiddleware']>[0] = {}) {
        return limitWebhookBody(await super.getNodeMiddleware(options), options.path ?? WEBHOOK_PATH);
      }
    }
    const server = new Server({
      Probot: LimitedProbot,
      webhookPath: WEBHOOK_PATH,
      host: settings.host,
      port: settings.port,
      log,
      ...(settings.webhookProxyUrl ? { webhookProxy: settings.webhookProxyUrl } : {}),
    });
    const intake = new IntakeQueue(store, queue);
    let probot!: Probot;
    await server.load(async (app, options) => {
      probot = app;
      await missionsApp(intake)(app, options);
      options.addHandler(health);
      options.addHandler(missionControl({ db, log, signIn: settings.signIn, githubBaseUrl: settings.githubBaseUrl, publicUrl: settings.publicUrl }));
    });
    try {
      await server.start();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') refuse(portInUse(settings));
      // The smee.io client starts with the server; a channel it cannot reach fails the start (with an
      // event, not a system error). Its URL is a capability (whoever has it reads the webhooks), so
      // the line does not print it.
      // (A system error's code is a string; the proxy's error event carries an HTTP status as its code.)
      if (!settings.webhookProxyUrl || typeof (error as NodeJS.ErrnoException).code === 'string') throw error;
      refuse(`WEBHOOK_PROXY_URL cannot be reached (${(error as { message?: string }).message ?? 'no answer'}): check the channel in a browser, or unset it to receive webhooks directly.`);
    }
    stopServer = () => server.stop();
    if (settings.role === 'all') await startWorker(probot);
    const pages = `${settings.publicUrl ?? `http://${settings.host}:${settings.port}`}/missions`;
    if (!settings.signIn) log.info('Mission Control is off: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (the app’s settings page) to sign users in');
    else log.info({ missionControl: pages, ...(settings.signIn.derived ? { sessionSecret: 'derived from WEBHOOK_SECRET (set MISSIONS_SESSION_SECRET to choose one)' } : {}) }, `Mission Control on ${pages}; the app's callback URL must be ${pages}/auth/callback`);
  }
  log.info({ role: settings.role, database: db.kind, ...(settings.publicUrl ? { publicUrl: settings.publicUrl } : {}) }, 'missions started');

  const shutdown = async () => {
    await stopServer().catch(() => {});
    await queue.stop().catch(() => {});
    await workspaces.prepared.close();
    await db.close().catch(() => {});
    process.exit(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
