// Hand-over latency: how long a mission step waits in the queue before a worker starts it, p50/p99,
// on the embedded database and on a PostgreSQL server (MISSIONS_BENCH_DATABASE_URL, else the local
// one at 127.0.0.1:5432/test if it answers). Two kinds of hand-over, as the app makes them:
//   chained  a step that asks for the mission's next step before it ends (building feature after
//            feature): from the end of one step to the start of the next;
//   webhook  a step requested while the worker is idle (an /approve): from the request to its start.
// The baseline is the queue as it was (polling every 2 s, nothing woken), measured in the same run.
import { dropDatabase, freshDatabase } from './lib/postgres.ts';
import pino from 'pino';
import { openDatabase, type Database } from '../src/store/database.ts';
import { JobQueue } from '../src/store/queue.ts';
import { percentile } from './lib/stats.ts';

// Each polled hand-over of the baseline takes up to 2 s: 40 of each kind keep the run near 5 minutes.
const N = Number(process.env.BENCH_N ?? 40);
const log = pino({ level: 'silent' });

interface Figures {
  chained: number[];
  webhook: number[];
}

async function measure(db: Database, wake: boolean): Promise<Figures> {
  const queue = new JobQueue(db, { log, wake });
  await queue.start();
  const chained: number[] = [];
  const webhook: number[] = [];
  let endedAt = 0;
  let requestedAt = 0;
  let waiting: (() => void) | null = null;
  let left = 0;
  let running = 0;
  await queue.work({
    intake: async () => {},
    step: async ({ missionId }) => {
      const now = performance.now();
      if (missionId === 1) {
        if (endedAt) chained.push(now - endedAt);
        // The queue runs one step of a mission at a time: the next must not start before this one ends.
        if (++running > 1) {
          console.error("two steps of one mission ran at once");
          process.exit(1);
        }
        if (--left > 0) await queue.requestStep({ missionId: 1 });
        await new Promise((r) => setTimeout(r, 5));
        running--;
        endedAt = performance.now();
        if (left <= 0) waiting?.();
      } else {
        webhook.push(now - requestedAt);
        waiting?.();
      }
    },
  });
  // Chained: mission 1 runs N + 1 steps, each asking for the next.
  left = N + 1;
  await new Promise<void>((resolve) => {
    waiting = resolve;
    void queue.requestStep({ missionId: 1 });
  });
  // Webhook: N requests for other missions, one at a time, each once the worker is idle again.
  for (let i = 0; i < N; i++) {
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
    await new Promise<void>((resolve) => {
      waiting = resolve;
      requestedAt = performance.now();
      void queue.requestStep({ missionId: 100 + i });
    });
  }
  await queue.stop();
  return { chained, webhook };
}

const pct = percentile;
// With fewer than 100 samples the 99th percentile is the largest: say so.
const show = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1).padStart(7)} ms  ${xs.length >= 100 ? 'p99' : 'max'} ${pct(xs, 99).toFixed(1).padStart(7)} ms`;

console.log(`step hand-over latency, ${N} hand-overs of each kind; baseline: the queue polling every 2 s with nothing woken`);
const targets: [string, () => Promise<{ db: () => Promise<Database>; done: () => Promise<void> }>][] = [
  ['embedded PGlite', async () => ({ db: () => openDatabase({}), done: async () => {} })],
];
const url = await freshDatabase();
if (url) {
  targets.push(['PostgreSQL server', async () => ({ db: () => openDatabase({ databaseUrl: url }), done: () => dropDatabase(url) })]);
} else {
  console.log('(no PostgreSQL server answered at MISSIONS_BENCH_DATABASE_URL or 127.0.0.1:5432/test: embedded only)');
}
for (const [name, open] of targets) {
  const target = await open();
  for (const wake of [false, true]) {
    const db = await target.db();
    const figures = await measure(db, wake);
    await db.close();
    const label = `${name}, ${wake ? 'woken' : 'baseline'}`.padEnd(30);
    console.log(`${label} chained ${show(figures.chained)}   webhook ${show(figures.webhook)}`);
  }
  await target.done();
}
process.exit(0);
