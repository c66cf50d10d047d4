// Process start. Without GitHub App credentials, Probot serves its setup page (app.yml). With them:
// the store and queue, then the webhook server (MISSIONS_ROLE=web), the job worker (worker), or both.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { getPrivateKey } from '@probot/get-private-key';
import { Probot, run } from 'probot';
import { createModelClient } from './agents/client.ts';
import { missionsApp } from './app.ts';
import { IntakeQueue } from './handlers/intake-queue.ts';
import { createLogger } from './log.ts';
import { startMissionWorker } from './mission/worker.ts';
import { githubBaseUrl, readSettings } from './settings.ts';
import { openDatabase } from './store/database.ts';
import { MissionStore } from './store/missions.ts';
import { JobQueue } from './store/queue.ts';
import { Workspaces } from './workspace/checkout.ts';

const log = createLogger();
const settings = readSettings(process.env);
const privateKey = getPrivateKey({ env: process.env });

if (!process.env.APP_ID || !privateKey) {
  log.info('no GitHub App credentials: serving the setup page to register the app from app.yml');
  await run(() => {}, { log });
} else {
  mkdirSync(settings.dataDir, { recursive: true });
  const db = await openDatabase({ ...(settings.databaseUrl ? { databaseUrl: settings.databaseUrl } : { dataDir: join(settings.dataDir, 'db') }) });
  const store = new MissionStore(db);
  const queue = new JobQueue(db, { log });
  await queue.start();
  const recovered = await queue.recoverInterrupted();
  if (recovered) log.info({ recovered }, 'jobs interrupted by the last shutdown were handed back to the queue');

  const startWorker = (probot: Probot) => {
    let slug: Promise<string> | undefined;
    return startMissionWorker({
      store,
      queue,
      github: (installationId) => probot.auth(installationId),
      appSlug: () => {
        slug ??= probot.auth().then(async (app) => (await app.rest.apps.getAuthenticated()).data!.slug!);
        slug.catch(() => (slug = undefined));
        return slug;
      },
      model: createModelClient(),
      workspaces: new Workspaces(join(settings.dataDir, 'workspaces')),
      log,
      limits: { plannerTurns: settings.plannerTurns, workerTurns: settings.workerTurns },
      hiddenPaths: [settings.dataDir],
    });
  };

  if (settings.role === 'worker') {
    const baseUrl = githubBaseUrl(process.env);
    await startWorker(new Probot({ appId: process.env.APP_ID, privateKey, log, ...(baseUrl ? { baseUrl } : {}) }));
  } else {
    const intake = new IntakeQueue(store, queue);
    await run(
      async (app, options) => {
        await missionsApp(intake)(app, options);
        if (settings.role === 'all') await startWorker(app);
      },
      { log },
    );
  }
  log.info({ role: settings.role, database: db.kind }, 'missions started');

  const shutdown = async () => {
    await queue.stop().catch(() => {});
    await db.close().catch(() => {});
    process.exit(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
