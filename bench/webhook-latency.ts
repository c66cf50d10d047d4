// Webhook handler latency, request to response over HTTP, p50/p99: the Missions app against a bare
// Probot app receiving the same signed payloads in the same run. Embedded store; no GitHub calls
// are on the webhook path, so none are mocked.
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
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

async function measure(appFn: ApplicationFunction): Promise<number[]> {
  const probot = new Probot({ appId: 1, privateKey, secret, log });
  const middleware = await createNodeMiddleware(appFn, { probot });
  const server = createServer((req, res) => void middleware(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`;
  const times: number[] = [];
  for (let i = 0; i < N; i++) {
    const [name, payload] = i % 2 ? ['issue_comment', commentPayload('Looks good, also handle --shout', { id: i })] : ['issues', labeledPayload()];
    const body = JSON.stringify(payload);
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const start = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-github-event': name as string, 'x-github-delivery': `d-${i}-${Math.random()}`, 'x-hub-signature-256': signature },
    });
    await res.text();
    times.push(performance.now() - start);
  }
  server.close();
  return times.slice(Math.floor(N / 10)); // warm-up dropped
}

const pct = percentile;

const bare = await measure(() => {});
const db = await openDatabase({});
const store = new MissionStore(db);
// A live mission on the issue, so comments take the full path (lookup + enqueue).
await store.create({ installationId: 1, repoId: 186853002, owner: 'Codertocat', repo: 'Hello-World', issueNumber: 1 }, 'maintainer', 'label:bench');
const queue = new JobQueue(db, { log });
await queue.start();
const missions = await measure(missionsApp(new IntakeQueue(store, queue)));
await queue.stop();
await db.close();

const row = (name: string, xs: number[]) => `${name.padEnd(14)} p50 ${pct(xs, 50).toFixed(2)} ms   p99 ${pct(xs, 99).toFixed(2)} ms`;
console.log(`webhook request → response over HTTP, ${bare.length} measured deliveries each (labels and comments alternating)`);
console.log(row('bare Probot', bare));
console.log(row('Missions', missions));
console.log(`ratio Missions/bare: p50 ${(pct(missions, 50) / pct(bare, 50)).toFixed(2)}x, p99 ${(pct(missions, 99) / pct(bare, 99)).toFixed(2)}x`);
