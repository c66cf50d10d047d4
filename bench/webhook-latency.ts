// Webhook handler latency, request to response over HTTP, p50/p99: the Missions app against a bare
// Probot app receiving the same signed payloads in the same run. Embedded store; no GitHub calls
// are on the webhook path, so none are mocked. Sent with node:http in one write: fetch (undici) sends
// the body apart from the headers, and the TCP delayed ACK then adds about 40 ms to every delivery,
// which would measure the client rather than the app.
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createNodeMiddleware, Probot, type ApplicationFunction } from 'probot';
import { missionsApp } from '../src/app.ts';
import { IntakeQueue } from '../src/handlers/intake-queue.ts';
import { openDatabase } from '../src/store/database.ts';
import { MissionStore } from '../src/store/missions.ts';
import { JobQueue } from '../src/store/queue.ts';
import { commentPayload, labeledPayload } from '../test/helpers/harness.ts';
import { percentile } from './lib/stats.ts';

const N = Number(process.env.BENCH_N ?? 400);
const secret = 'bench-secret';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const log = pino({ level: 'silent' });

type Kind = 'comment on an issue without a mission' | 'comment on a mission’s issue' | 'mission label';
const KINDS: Kind[] = ['comment on an issue without a mission', 'comment on a mission’s issue', 'mission label'];

function delivery(kind: Kind, i: number): [string, unknown] {
  if (kind === 'mission label') return ['issues', labeledPayload()];
  const payload = commentPayload('Looks good, also handle --shout', { id: i });
  // Issue 1 has a live mission; no issue from 1000 on has one. Each comment goes to an issue of its
  // own, so that nothing the app might remember of one issue makes the next comment cheaper.
  if (kind === 'comment on an issue without a mission') payload.issue.number = 1000 + i;
  return ['issue_comment', payload];
}

/** A server for one app; `send` delivers one signed payload and resolves with the time to its answer. */
async function serve(appFn: ApplicationFunction) {
  const probot = new Probot({ appId: 1, privateKey, secret, log });
  const middleware = await createNodeMiddleware(appFn, { probot });
  const server = createServer((req, res) => void middleware(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`;
  const send = async (name: string, payload: unknown): Promise<number> => {
    const body = JSON.stringify(payload);
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-github-event': name, 'x-github-delivery': `d-${Math.random()}`, 'x-hub-signature-256': signature };
    const start = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
    if (status >= 400) throw new Error(`the webhook was answered ${status}`);
    return performance.now() - start;
  };
  return { send, close: () => server.close() };
}

/**
 * Both apps answer each delivery in turn (bare, then Missions, alternately), so that the machine's
 * drift over the run (another process, CPU frequency) falls on both alike.
 */
async function measure(kind: Kind): Promise<{ bare: number[]; missions: number[] }> {
  const bare = await serve(bareApp);
  const missions = await serve(missionsApp(new IntakeQueue(store, queue)));
  const times = { bare: [] as number[], missions: [] as number[] };
  for (let i = 0; i < N; i++) {
    const [name, payload] = delivery(kind, i);
    times.bare.push(await bare.send(name, payload));
    times.missions.push(await missions.send(name, payload));
  }
  bare.close();
  missions.close();
  const warm = Math.floor(N / 10); // warm-up dropped
  return { bare: times.bare.slice(warm), missions: times.missions.slice(warm) };
}

const pct = percentile;
const db = await openDatabase({});
const store = new MissionStore(db);
// A live mission on issue 1, so its comments take the full path (lookup, enqueue once).
await store.create({ installationId: 1, repoId: 186853002, owner: 'Codertocat', repo: 'Hello-World', issueNumber: 1 }, 'maintainer', 'label:bench');
const queue = new JobQueue(db, { log });
await queue.start();
const row = (name: string, xs: number[]) => `${name.padEnd(12)} p50 ${pct(xs, 50).toFixed(2)} ms   p99 ${pct(xs, 99).toFixed(2)} ms`;
console.log(`webhook request → response over HTTP, ${N - Math.floor(N / 10)} measured deliveries of each kind, embedded database`);
/**
 * The bare app: Probot with handlers for the same events that do nothing, so Probot does for it what
 * it does for any app handling them (a context with its installation's Octokit per event).
 */
const bareApp: ApplicationFunction = (app) => {
  app.on('issues.labeled', async () => {});
  app.on('issue_comment.created', async () => {});
};

// A first pass warms both apps (and the engine's code paths) up; it is not shown.
for (const kind of KINDS) await measure(kind);
for (const kind of KINDS) {
  // The bare app writes nothing, so the rows written are Missions'.
  const before = await writes();
  const { bare, missions } = await measure(kind);
  const wrote = (await writes()) - before;
  console.log(`${kind}:`);
  console.log(`  ${row('bare Probot', bare)}`);
  console.log(`  ${row('Missions', missions)}   ratio p50 ${(pct(missions, 50) / pct(bare, 50)).toFixed(2)}x, p99 ${(pct(missions, 99) / pct(bare, 99)).toFixed(2)}x; ${wrote} rows written`);
}
await queue.stop();
await db.close();

/** Rows in the tables a delivery may write: the deliveries taken in and the jobs enqueued. */
async function writes(): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT (SELECT count(*) FROM processed_events) + (SELECT count(*) FROM pgboss.job) AS n`);
  return Number(row!.n);
}
