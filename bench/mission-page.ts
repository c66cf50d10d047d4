// Mission Control's server time for a mission with 50 agent runs (issue 11), request to last byte
// over HTTP on loopback, signed in: the full page (every transcript), its live fragment, and the
// 304 a polling page gets while nothing changes; side by side with the same mission at 5 runs.
// Transcripts are sized like real ones: 20 turns each, tool outputs of about 2 KB.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import pino from 'pino';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openDatabase, type Database } from '../src/store/database.ts';
import { MissionStore } from '../src/store/missions.ts';
import { missionControl } from '../src/web/routes.ts';
import { startGitHubWeb } from '../test/helpers/github-web.ts';
import { stackPlan } from '../test/helpers/plans.ts';
import { percentile } from './lib/stats.ts';

const N = Number(process.env.BENCH_N ?? 30);
// A production process's secrets, each redacted from every text on the page in all its encoded forms.
const SECRETS = {
  PRIVATE_KEY: generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey,
  WEBHOOK_SECRET: randomBytes(20).toString('hex'),
  ANTHROPIC_API_KEY: `sk-ant-api03-${randomBytes(60).toString('base64url')}`,
  GITHUB_CLIENT_SECRET: randomBytes(20).toString('hex'),
  DATABASE_URL: `postgres://missions:${randomBytes(12).toString('hex')}@db:5432/missions`,
};
const ROLES = ['worker', 'scrutiny', 'user-testing', 'triage'] as const;

async function missionWithRuns(db: Database, issue: number, runs: number): Promise<number> {
  const store = new MissionStore(db);
  const mission = (await store.create({ installationId: 1, repoId: 42, owner: 'o', repo: 'r', issueNumber: issue, issueTitle: `A mission with ${runs} runs` }, 'alice', `bench-${issue}`))!;
  await store.addRevision(mission.id, 0, { kind: 'plan', body: stackPlan, change: 'first' });
  await store.approve(mission.id, 1, stackPlan, 'alice');
  for (let i = 0; i < runs; i++) {
    const role = i === 0 ? 'planner' : ROLES[i % ROLES.length]!;
    const run = await store.startRun({ missionId: mission.id, role, model: 'claude-sonnet-5-5', subject: i % 2 ? 'F1' : 'M1 round 1' });
    const messages: unknown[] = [{ role: 'user', content: `Build the feature.\n${'context line\n'.repeat(80)}` }];
    for (let t = 0; t < 20; t++) {
      await store.recordUsage({ missionId: mission.id, runId: run, role, model: 'claude-sonnet-5-5', usage: { input_tokens: 200, output_tokens: 300, cache_read_tokens: 9_000, cache_write_tokens: 500 }, usd: 0.01 });
      messages.push({ role: 'assistant', content: [{ type: 'text', text: `Turn ${t}: reading <the> code.` }, { type: 'tool_use', id: `t${t}`, name: 'bash', input: { command: `npm test -- --grep case${t}` } }] });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: `t${t}`, content: `ok ${t} passing & <fine>\n`.repeat(90) }] });
    }
    await store.saveTranscript({ missionId: mission.id, runId: run, role, model: 'claude-sonnet-5-5', outcome: 'finished:submit_handoff', turns: 20, messages });
  }
  await store.startFeature(mission.id, 'F1');
  await store.commitFeature(mission.id, 'F1', 'a'.repeat(40), { status: 'complete', summary: 'Built.', commands_run: [], left_undone: [], issues_found: [] });
  return mission.id;
}

const db = await openDatabase({});
const big = await missionWithRuns(db, 1, 50);
const small = await missionWithRuns(db, 2, 5);
const github = await startGitHubWeb({ clientId: 'c', clientSecret: 's', readers: { alice: ['o/r'] }, ids: { 'o/r': 42 } });
const handler = missionControl({ db, log: pino({ level: 'silent' }), signIn: { clientId: 'c', clientSecret: 's', sessionSecret: 'bench-session-secret-0123456789abcdef' }, githubBaseUrl: github.apiUrl, env: SECRETS });
const server = createServer((req, res) => void handler(req, res));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// Sign in as a browser would: the redirect to GitHub, GitHub's redirect back, the session cookie.
github.signInAs('alice');
const jar = new Map<string, string>();
const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
const keep = (res: Response) => res.headers.getSetCookie().forEach((c) => jar.set(c.split('=')[0]!, c.split(';')[0]!.split('=').slice(1).join('=')));
let res = await fetch(`${base}/missions/${big}`, { redirect: 'manual' });
keep(res);
res = await fetch(res.headers.get('location')!, { redirect: 'manual' });
res = await fetch(res.headers.get('location')!, { redirect: 'manual', headers: { cookie: cookie() } });
keep(res);

async function time(path: string, headers: Record<string, string> = {}): Promise<{ ms: number[]; status: number; bytes: number }> {
  const ms: number[] = [];
  let status = 0;
  let bytes = 0;
  for (let i = 0; i < N + 3; i++) {
    const start = performance.now();
    const r = await fetch(`${base}${path}`, { headers: { cookie: cookie(), ...headers } });
    bytes = (await r.arrayBuffer()).byteLength;
    status = r.status;
    if (i >= 3) ms.push(performance.now() - start); // 3 warm-up requests
  }
  return { ms, status, bytes };
}
const pct = percentile;
const etag = (await fetch(`${base}/missions/${big}/live`, { headers: { cookie: cookie() } })).headers.get('etag')!;
const rows = [
  ['page, 5 runs (baseline)', await time(`/missions/${small}`)],
  ['page, 50 runs', await time(`/missions/${big}`)],
  ['live fragment, 50 runs', await time(`/missions/${big}/live`)],
  ['live, unchanged (304)', await time(`/missions/${big}/live`, { 'if-none-match': etag })],
  ['list of missions', await time('/missions')],
] as const;
console.log(`Mission Control server time, request to last byte on loopback, ${N} requests each after 3 warm-up (embedded database; ${Object.keys(SECRETS).length} secrets redacted from every text)`);
for (const [name, r] of rows) console.log(`${name.padEnd(26)} ${String(r.status).padEnd(4)} p50 ${pct(r.ms, 50).toFixed(1).padStart(7)} ms   p99 ${pct(r.ms, 99).toFixed(1).padStart(7)} ms   ${(r.bytes / 1024).toFixed(0).padStart(6)} KiB`);
console.log(`page at 50 runs / page at 5 runs: ${(pct(rows[1][1].ms, 50) / pct(rows[0][1].ms, 50)).toFixed(1)}x (p50); GitHub asked ${github.repoChecks} time(s) about the repository (cached for 5 minutes)`);
server.close();
await github.close();
await db.close();
