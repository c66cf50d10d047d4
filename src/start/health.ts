// Liveness and readiness for container orchestrators, on every role: `/healthz` answers while the
// process serves requests; `/readyz` only while the database answers, the job queue runs and, with
// REDIS_URL, Redis answers (without it every GitHub call of the process fails).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Database } from '../store/database.ts';
import type { JobQueue } from '../store/queue.ts';
import { redisProblem } from './redis.ts';

/** How long the database (and Redis) may take to answer a probe. */
const DATABASE_TIMEOUT_MS = 2_000;

export type HealthHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** A handler in Probot's server style: true when it answered the request. */
export function healthHandler(db: Database, queue: JobQueue, redisUrl?: string): HealthHandler {
  return async (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/healthz') {
      send(res, 200, { status: 'ok' });
      return true;
    }
    if (path !== '/readyz') return false;
    const [database, redis] = await Promise.all([databaseAnswers(db), redisUrl ? redisProblem(redisUrl, DATABASE_TIMEOUT_MS).then((problem) => problem === null) : true]);
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

async function databaseAnswers(db: Database): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), DATABASE_TIMEOUT_MS)));
  try {
    return await Promise.race([db.query('SELECT 1').then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
