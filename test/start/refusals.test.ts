// `npm start` with a configuration that cannot work (PRODUCT.md §5): one line naming the variable
// and what to do, exit code 1, no stack trace, no secret — each case its own real process.
import { generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exited, freePort, killed, startNode } from '../helpers/processes.ts';
import { waitFor } from '../helpers/harness.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url);
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const SECRETS = { webhook: 'whsec-never-print-me-4821', apiKey: 'sk-ant-never-print-me-9931', dbPassword: 'hunter2-never-print-me', redisPassword: 'redis-never-print-me-77' };
const CREDENTIALS = { APP_ID: '4242', PRIVATE_KEY: privateKey, WEBHOOK_SECRET: SECRETS.webhook, ANTHROPIC_API_KEY: SECRETS.apiKey };

/** Runs `npm start`'s entry in an empty folder (or `cwd`) with exactly `env` (and PATH, HOME); resolves with its output. */
async function start(env: Record<string, string>, dotEnv?: string | { fifo: true }, folder?: string) {
  const cwd = folder ?? mkdtempSync(join(tmpdir(), 'missions-start-'));
  copyFileSync(new URL('../../app.yml', import.meta.url), join(cwd, 'app.yml'));
  if (typeof dotEnv === 'string') writeFileSync(join(cwd, '.env'), dotEnv);
  else if (dotEnv) execFileSync('mkfifo', [join(cwd, '.env')]);
  const child = startNode(MAIN, [], {
    cwd,
    env: { PATH: process.env.PATH!, HOME: cwd, PORT: String(await freePort()), NO_SMEE_SETUP: 'true', MISSIONS_DATA_DIR: join(cwd, 'data'), ...(folder ? CREDENTIALS : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const code = await exited(child);
  return { code, stdout, stderr };
}

/** A server holding a port on localhost, as another program would. */
async function listening() {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function expectRefusal(run: { code: number | null; stdout: string; stderr: string }, ...words: string[]) {
  expect(run.code).toBe(1);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^missions: cannot start: /);
  for (const word of words) expect(lines[0]).toContain(word);
  // No stack trace, and nothing secret, anywhere in what the process printed.
  const all = run.stdout + run.stderr;
  expect(all).not.toMatch(/\n\s+at /);
  for (const secret of [...Object.values(SECRETS), privateKey.split('\n')[1]!]) expect(all).not.toContain(secret);
}

describe('start-up refusals', () => {
  it('refuses every configuration that cannot work, in one line naming the variable', async () => {
    const [noSecret, noApiKey, webEmbedded, workerEmbedded, badDatabase, unknownRole, webWithoutCredentials, noWebhookUrl, halfCredentials, badKey, deadProxy, workerWithoutCredentials, workerWithoutApiKey] =
      await Promise.all([
        start({ ...CREDENTIALS, WEBHOOK_SECRET: '' }),
        start({ ...CREDENTIALS, ANTHROPIC_API_KEY: '' }),
        start({ ...CREDENTIALS, MISSIONS_ROLE: 'web' }),
        start({ ...CREDENTIALS, MISSIONS_ROLE: 'worker' }),
        // Nothing listens on port 1: the server does not answer.
        start({ ...CREDENTIALS, DATABASE_URL: `postgres://missions:${SECRETS.dbPassword}@127.0.0.1:1/missions` }),
        start({ ...CREDENTIALS, MISSIONS_ROLE: 'everything' }),
        start({ MISSIONS_ROLE: 'web' }),
        start({}),
        start({ APP_ID: '4242', WEBHOOK_SECRET: SECRETS.webhook }),
        start({ ...CREDENTIALS, PRIVATE_KEY: 'not a key at all' }),
        // A smee.io channel that cannot be reached (nothing listens on port 1).
        start({ ...CREDENTIALS, PORT: String(await freePort()), WEBHOOK_PROXY_URL: 'http://127.0.0.1:1/channel' }),
        start({ MISSIONS_ROLE: 'worker' }),
        start({ ...CREDENTIALS, ANTHROPIC_API_KEY: '', MISSIONS_ROLE: 'worker', DATABASE_URL: 'postgres://missions@127.0.0.1:1/missions' }),
      ]);
    expectRefusal(noSecret, 'WEBHOOK_SECRET is not set');
    expectRefusal(noApiKey, 'ANTHROPIC_API_KEY is not set', 'MISSIONS_ROLE=all');
    expectRefusal(webEmbedded, 'MISSIONS_ROLE=web needs DATABASE_URL', 'embedded database');
    expectRefusal(workerEmbedded, 'MISSIONS_ROLE=worker needs DATABASE_URL');
    expectRefusal(badDatabase, 'DATABASE_URL (postgres://missions:***@127.0.0.1:1/missions) cannot be used: connect ECONNREFUSED');
    expectRefusal(unknownRole, 'MISSIONS_ROLE="everything" is not a role', 'all', 'web', 'worker');
    expectRefusal(webWithoutCredentials, 'MISSIONS_ROLE=web needs the GitHub App\'s credentials', 'APP_ID');
    expectRefusal(noWebhookUrl, 'WEBHOOK_PROXY_URL', 'MISSIONS_PUBLIC_URL');
    expectRefusal(halfCredentials, 'APP_ID is set but no private key is', 'PRIVATE_KEY');
    expectRefusal(badKey, 'PRIVATE_KEY is not a PEM private key');
    expectRefusal(deadProxy, 'WEBHOOK_PROXY_URL cannot be reached');
    // The channel's URL is a capability: never printed.
    expect(deadProxy.stdout + deadProxy.stderr).not.toContain('127.0.0.1:1/channel');
    expectRefusal(workerWithoutCredentials, "MISSIONS_ROLE=worker needs the GitHub App's credentials");
    expectRefusal(workerWithoutApiKey, 'ANTHROPIC_API_KEY is not set', 'MISSIONS_ROLE=worker');
  });

  it('refuses half of Mission Control\'s sign-in, and a session secret too short to sign with', async () => {
    const [idOnly, secretOnly, shortSecret] = await Promise.all([
      start({ ...CREDENTIALS, GITHUB_CLIENT_ID: 'Iv1.abc' }),
      start({ ...CREDENTIALS, GITHUB_CLIENT_SECRET: 'a-client-secret-value' }),
      start({ ...CREDENTIALS, GITHUB_CLIENT_ID: 'Iv1.abc', GITHUB_CLIENT_SECRET: 'a-client-secret-value', MISSIONS_SESSION_SECRET: 'short' }),
    ]);
    expectRefusal(idOnly, 'GITHUB_CLIENT_SECRET is not set but GITHUB_CLIENT_ID is');
    expectRefusal(secretOnly, 'GITHUB_CLIENT_ID is not set but GITHUB_CLIENT_SECRET is');
    expectRefusal(shortSecret, 'MISSIONS_SESSION_SECRET must be at least 32 characters');
    expect(secretOnly.stderr + idOnly.stderr).not.toContain('a-client-secret-value');
  });

  it('refuses values that look set but cannot work: blank or well-known secrets, port 0, a host it cannot listen on, a broken key, a password in the URL', async () => {
    const busy = await listening();
    const brokenKey = privateKey.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA');
    const runs = await Promise.all([
      // A Redis that does not answer would hold every GitHub call; its password is never printed.
      start({ ...CREDENTIALS, REDIS_URL: `redis://:${SECRETS.redisPassword}@127.0.0.1:1` }),
      start({ ...CREDENTIALS, REDIS_URL: 'http://127.0.0.1:6379' }),
      start({ ...CREDENTIALS, MISSIONS_STEPS_PER_PROCESS: '0' }),
      start({ ...CREDENTIALS, MISSIONS_STEPS_PER_INSTALLATION: '-1' }),
      start({ ...CREDENTIALS, WEBHOOK_SECRET: '   ' }),
      start({ ...CREDENTIALS, WEBHOOK_SECRET: 'development' }),
      start({ ...CREDENTIALS, ANTHROPIC_API_KEY: ' ' }),
      start({ ...CREDENTIALS, PORT: '0' }),
      start({ ...CREDENTIALS, PORT: String(await freePort()), HOST: 'no-such-host.invalid' }),
      start({ ...CREDENTIALS, APP_ID: '0' }),
      start({ ...CREDENTIALS, PRIVATE_KEY: brokenKey }),
      start({ ...CREDENTIALS, GHE_HOST: 'https://ghe.example.com/' }),
      start({ ...CREDENTIALS, DATABASE_URL: `postgres://missions@127.0.0.1:1/missions?password=${SECRETS.dbPassword}` }),
      // An unencoded password a URL parser takes for a port and a fragment.
      start({ ...CREDENTIALS, DATABASE_URL: 'postgres://missions:2024#Spring@127.0.0.1:1/missions' }),
      // A pasted value with a leading space, which a URL parser would forgive and the masking would not.
      start({ ...CREDENTIALS, DATABASE_URL: ` postgres://missions:${SECRETS.dbPassword}@127.0.0.1:1/missions` }),
      // A .env that would block a read for ever.
      start({}, { fifo: true }),
      // The setup page's port taken: one line, not a stack.
      start({ PORT: String(busy.port), NO_SMEE_SETUP: 'false', MISSIONS_PUBLIC_URL: 'https://missions.example.com' }),
    ]);
    busy.server.close();
    const expected = [
      'REDIS_URL (redis://:***@127.0.0.1:1) cannot be used: connect ECONNREFUSED 127.0.0.1:1. Check',
      'REDIS_URL must be a Redis URL',
      'MISSIONS_STEPS_PER_PROCESS must be a positive whole number',
      'MISSIONS_STEPS_PER_INSTALLATION must be a positive whole number',
      'WEBHOOK_SECRET is not set',
      "WEBHOOK_SECRET is Probot's example value `development`",
      'ANTHROPIC_API_KEY is not set',
      'PORT must be a port number (1 to 65535)',
      'cannot listen on no-such-host.invalid',
      "APP_ID must be the GitHub App's numeric id",
      'is not a usable RSA key',
      'GHE_HOST must be the GitHub Enterprise Server host name',
      'DATABASE_URL (postgres://missions@127.0.0.1:1/missions?…) cannot be used',
      'DATABASE_URL (postgres://missions:***@127.0.0.1:1/missions) cannot be used',
      'DATABASE_URL must be a PostgreSQL URL',
      '.env in',
      'cannot listen on localhost',
    ];
    for (const [i, run] of runs.entries()) expectRefusal(run, expected[i]!);
    expect(runs.at(-4)!.stderr).not.toContain('Spring');
  });

  it('refuses a second process on a data directory another one uses, before it opens the database', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'missions-start-'));
    copyFileSync(new URL('../../app.yml', import.meta.url), join(cwd, 'app.yml'));
    const env = { PATH: process.env.PATH!, HOME: cwd, ...CREDENTIALS, MISSIONS_DATA_DIR: join(cwd, 'data') };
    const first = startNode(MAIN, [], { cwd, env: { ...env, PORT: String(await freePort()) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    first.stdout!.on('data', (d) => (output += d));
    await waitFor(() => output.includes('missions started'), 'the first process to start');
    const second = await start({ PORT: String(await freePort()), MISSIONS_DATA_DIR: join(cwd, 'data') }, undefined, cwd);
    expectRefusal(second, 'another Missions process uses the embedded database in MISSIONS_DATA_DIR');
    // Killed outright, the holder leaves its missions.lock behind; the next process takes the database over.
    await killed(first);
    const third = startNode(MAIN, [], { cwd, env: { ...env, PORT: String(await freePort()) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let thirdOutput = '';
    third.stdout!.on('data', (d) => (thirdOutput += d));
    await waitFor(() => thirdOutput.includes('missions started'), 'a new process to take the directory over');
    await killed(third);
  });

  it('reads the same settings from .env as from the environment, the environment winning (an empty variable counts as unset)', async () => {
    const dotEnv = `APP_ID=4242\nPRIVATE_KEY="${privateKey.replace(/\n/g, '\\n')}"\nANTHROPIC_API_KEY=${SECRETS.apiKey}\nMISSIONS_ROLE=web\n`;
    const [fromDotEnv, environmentWins, emptyIsUnset] = await Promise.all([
      start({}, dotEnv),
      start({ MISSIONS_ROLE: 'worker' }, `${dotEnv}WEBHOOK_SECRET=${SECRETS.webhook}\n`),
      start({ APP_ID: '' }, `${dotEnv}WEBHOOK_SECRET=${SECRETS.webhook}\n`),
    ]);
    expectRefusal(fromDotEnv, 'WEBHOOK_SECRET is not set');
    expectRefusal(environmentWins, 'MISSIONS_ROLE=worker needs DATABASE_URL');
    expectRefusal(emptyIsUnset, 'MISSIONS_ROLE=web needs DATABASE_URL');
  });

  it('refuses to run agents without a sandbox, naming MISSIONS_UNSANDBOXED=1 as the way to opt out', async () => {
    // A PATH without bwrap: bubblewrap is not installed, as on a fresh machine or in a plain image.
    const run = await start({ ...CREDENTIALS, PATH: '/nonexistent-bin' });
    expectRefusal(run, 'bubblewrap (bwrap) cannot make a sandbox here', 'MISSIONS_UNSANDBOXED=1');
  });
});
