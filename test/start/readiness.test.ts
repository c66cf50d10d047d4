// /readyz with REDIS_URL: a process whose Redis does not answer is not ready (every GitHub call it
// makes would fail), and says which part is down. With a Redis (MISSIONS_TEST_REDIS_URL, as .ci/run
// sets it) it is ready.
import type { Server } from 'node:http';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { healthHandler, startHealthServer } from '../../src/start/health.ts';
import { openDatabase, type Database } from '../../src/store/database.ts';
import { JobQueue } from '../../src/store/queue.ts';
import { freePort } from '../helpers/processes.ts';

let db: Database;
let queue: JobQueue;
const servers: Server[] = [];

beforeAll(async () => {
  db = await openDatabase({});
  queue = new JobQueue(db, { log: pino({ level: 'silent' }) });
  await queue.start();
});

afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  await queue.stop();
  await db.close();
});

async function readiness(redisUrl?: string): Promise<{ status: number; body: unknown }> {
  const port = await freePort();
  servers.push(await startHealthServer(healthHandler(db, queue, redisUrl), '127.0.0.1', port));
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: res.status, body: await res.json() };
}

it('is not ready while the Redis of REDIS_URL does not answer, and says so', async () => {
  const closed = await freePort();
  expect(await readiness(`redis://:secret@127.0.0.1:${closed}`)).toEqual({
    status: 503,
    body: { status: 'not ready', database: 'ok', queue: 'running', redis: 'not answering' },
  });
  // Without REDIS_URL, Redis is none of its business.
  expect(await readiness()).toEqual({ status: 200, body: { status: 'ready', database: 'ok', queue: 'running' } });
});

const redis = process.env.MISSIONS_TEST_REDIS_URL;
if (redis) {
  it('is ready while the Redis answers', async () => {
    expect(await readiness(redis)).toEqual({ status: 200, body: { status: 'ready', database: 'ok', queue: 'running', redis: 'ok' } });
  });
}
