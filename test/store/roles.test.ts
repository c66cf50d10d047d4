// MISSIONS_ROLE=web and worker as separate processes with credentials from the environment: on a
// PostgreSQL server both start and answer /healthz and /readyz (the worker on a server of its own);
// on the embedded database, which one process owns, both are refused.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseTargets } from '../helpers/databases.ts';
import { waitFor } from '../helpers/harness.ts';
import { exited, freePort, killed, startNode } from '../helpers/processes.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url);
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });

async function startRole(role: 'web' | 'worker', databaseUrl: string | undefined) {
  const cwd = mkdtempSync(join(tmpdir(), 'missions-role-'));
  const port = await freePort();
  const child = startNode(MAIN, [], {
    cwd,
    env: {
      PATH: process.env.PATH!,
      HOME: cwd,
      MISSIONS_ROLE: role,
      PORT: String(port),
      APP_ID: '4242',
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: 'role-test-secret',
      ANTHROPIC_API_KEY: 'test-key',
      MISSIONS_DATA_DIR: join(cwd, 'data'),
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return { child, url: `http://localhost:${port}`, output: () => output };
}

for (const target of databaseTargets()) {
  describe(target.name, () => {
    afterAll(() => target.drop());

    it('runs the web and worker roles as processes of their own, each answering /healthz and /readyz', async () => {
      const url = await target.create();
      const [web, worker] = [await startRole('web', url), await startRole('worker', url)];
      if (!url) {
        for (const role of [web, worker]) {
          expect(await exited(role.child)).toBe(1);
          expect(role.output()).toMatch(/^missions: cannot start: MISSIONS_ROLE=(web|worker) needs DATABASE_URL/);
        }
        return;
      }
      for (const role of [web, worker]) {
        const ready = await waitFor(async () => {
          if (role.child.exitCode !== null) throw new Error(`exited ${role.child.exitCode}: ${role.output()}`);
          const res = await fetch(`${role.url}/readyz`).catch(() => null);
          return res?.status === 200 && res.json();
        }, 'the role to be ready', 120_000);
        expect(ready).toEqual({ status: 'ready', database: 'ok', queue: 'running' });
        expect((await fetch(`${role.url}/healthz`)).status).toBe(200);
      }
      // The worker receives no webhooks; its server answers nothing else.
      expect((await fetch(`${worker.url}/api/github/webhooks`, { method: 'POST', body: '{}' })).status).toBe(404);
      await Promise.all([killed(web.child), killed(worker.child)]);
    });
  });
}
