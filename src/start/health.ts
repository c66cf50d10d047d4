// Liveness and readiness for container orchestrators, on every role: `/healthz` answers while the
// process serves requests; `/readyz` only while the database answers, the job queue runs and, with
// REDIS_URL, Redis answers (without it every GitHub call of the process fails).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Database } from '../store/database.ts';
import type { JobQueue } from '../store/queue.ts';
import { redisProblem } from './redis.ts';

/** How long the database and Redis may take to answer a probe. */
const PROBE_TIMEOUT_MS = 2_000;

export type HealthHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** A handler in Probot's server style: true when it answered the request. */
export function healthHandler(db: Database, queue: JobQueue, redisUrl?: string): HealthHandler {
  // One Redis check at a time, its answer kept for PROBE_TIMEOUT_MS: the probe is public, and each
  // check is a connection to the Redis every process throttles its GitHub calls through.
  let redisCheck: { at: number; answer: Promise<boolean> } | undefined;
  const redisAnswers = (url: string) => {
    if (!redisCheck || performance.now() - redisCheck.at > PROBE_TIMEOUT_MS) {
      redisCheck = { at: performance.now(), answer: within(redisProblem(url, PROBE_TIMEOUT_MS).then((problem) => problem === null)) };
    }
    return redisCheck.answer;
  };
  return async (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/healthz') {
      send(res, 200, { status: 'ok' });
      return true;
    }
    if (path !== '/readyz') return false;
    const [database, redis] = await Promise.all([databaseAnswers(db), redisUrl ? redisAnswers(redisUrl) : true]);
    const ready = database && redis && queue.running;
    send(res, ready ? 200 : 503, {
      status: ready ? 'ready' : 'not ready',
      database: database ? 'ok' : 'not answering',
      queue: queue.running ? 'running' : 'stopped',
      ...(redisUrl ? { redis: redis ? 'ok' : 'not answering' } : {}),
    });
    return true;
  };
}

/** The worker role receives no webhooks: a server of its own answers the two probes, and nothing else. */
export async function startHealthServer(handler: HealthHandler, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    void handler(req, res).then((answered) => {
      if (!answered) send(res, 404, { status: 'not found' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

function databaseAnswers(db: Database): Promise<boolean> {
  return within(db.query('SELECT 1').then(() => true));
}

/** Whether `check` said yes within PROBE_TIMEOUT_MS (a failure is a no). */
async function within(check: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS)));
  try {
    return await Promise.race([check.catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
