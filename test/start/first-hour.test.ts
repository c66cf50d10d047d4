// The operator's first hour, as `npm start` runs it (PRODUCT.md §5): without credentials the setup
// page registers the app (GitHub's manifest conversion answered by the fake GitHub) and Probot saves
// the credentials in .env; the next start runs with them, takes a signed label and plans. GitHub is
// reached as GitHub Enterprise Server (GHE_HOST) through a proxy to this process's mocks.
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from '../helpers/nock.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { startGitHubProxy } from '../helpers/github-proxy.ts';
import { GitHubMock, trackUnmatched } from '../helpers/github.ts';
import { bareRepository, INSTALLATION, labeledPayload, waitFor } from '../helpers/harness.ts';
import { IssueThread } from '../helpers/issue-thread.ts';
import { startModelServer, type ModelServer } from '../helpers/model-server.ts';
import { greetingPlan } from '../helpers/plans.ts';
import { killed, startApp } from '../helpers/processes.ts';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  nock.cleanAll();
  nock.emitter.removeAllListeners('no match');
});

/** A folder like the one `npm start` runs in: the app's app.yml, and room for .env. */
function appFolder(): string {
  const cwd = mkdtempSync(join(tmpdir(), 'missions-operator-'));
  copyFileSync(new URL('../../app.yml', import.meta.url), join(cwd, 'app.yml'));
  return cwd;
}

function manifestOf(html: string): any {
  const value = /name="manifest" id="manifest" value='([^']*)'/.exec(html)?.[1];
  return JSON.parse(value!);
}

describe("the operator's first hour", () => {
  it('registers through the setup page, then runs with the credentials Probot saved in .env: a signed label is planned', async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1|localhost/);
    const unmatched = trackUnmatched();
    const github = new GitHubMock().installationTokens(INSTALLATION).appIdentity();
    const proxy = await startGitHubProxy();
    closers.push(() => proxy.close());
    const model: ModelServer = await startModelServer([{ content: [{ type: 'tool_use', name: 'submit_plan', input: greetingPlan }] }]);
    closers.push(() => model.close());
    const cwd = appFolder();
    const ghe = { GHE_HOST: new URL(proxy.url).host, GHE_PROTOCOL: 'http' };

    // 1. No credentials: the setup page, whose manifest sends webhooks to the public URL.
    const setup = await startApp(cwd, { ...ghe, MISSIONS_PUBLIC_URL: 'https://missions.example.com/' });
    const manifest = manifestOf(await (await fetch(`${setup.url}/probot`)).text());
    expect(manifest.hook_attributes.url).toBe('https://missions.example.com/api/github/webhooks');
    expect(manifest.default_events).toEqual(['issues', 'issue_comment']);

    // 2. GitHub sends the browser back with a code; Probot converts it and saves the credentials.
    const webhookSecret = 'whsec-from-the-registration';
    github.post('/app-manifests/c0de/conversions').reply(201, {
      id: 4242,
      slug: 'missions',
      node_id: 'A_1',
      name: 'Missions',
      owner: { login: 'Codertocat', id: 1 },
      html_url: 'https://github.com/apps/missions',
      client_id: 'Iv1.client',
      client_secret: 'client-secret-from-the-registration',
      webhook_secret: webhookSecret,
      pem: privateKey,
      permissions: {},
      events: [],
      created_at: '2026-11-30T00:00:00Z',
      updated_at: '2026-11-30T00:00:00Z',
    });
    const back = await fetch(`${setup.url}/probot/setup?code=c0de`, { redirect: 'manual' });
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('https://github.com/apps/missions/installations/new');
    const saved = readFileSync(join(cwd, '.env'), 'utf8');
    expect(saved).toContain('APP_ID=4242');
    expect(saved).toContain(`WEBHOOK_SECRET=${webhookSecret}`);
    await killed(setup.child);

    // 3. `npm start` again, with nothing in its environment but where GitHub and the model are.
    const thread = new IssueThread(github, { cloneUrl: bareRepository({ 'cli.js': '' }) });
    const app = await startApp(cwd, { ...ghe, ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: model.url, MISSIONS_DATA_DIR: join(cwd, 'data') });
    expect(await (await fetch(`${app.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${app.url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready', database: 'ok', queue: 'running' }]);

    // 4. A label signed with the saved secret is taken; one signed with Probot's fallback secret is not.
    const body = JSON.stringify(labeledPayload());
    let deliveries = 0;
    const deliver = (secret: string) =>
      fetch(`${app.url}/api/github/webhooks`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'issues',
          'x-github-delivery': `delivery-${++deliveries}`,
          'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
        },
        body,
      });
    expect((await deliver('development')).status).toBe(400);
    expect((await deliver(webhookSecret)).status).toBe(200);
    await waitFor(() => thread.missionComment()?.body.includes('## Mission plan: Greeting command'), 'the plan in the mission comment', 120_000);
    expect(thread.reactions).toEqual(['eyes']);
    expect(model.requests).toHaveLength(1);
    expect(app.output()).not.toContain(privateKey.split('\n')[1]);
    expect(app.output()).not.toContain(webhookSecret);
    expect(github.violations).toEqual([]);
    expect(unmatched).toEqual([]);
    await killed(app.child);
  });

  it('registers with the smee.io channel as the webhook URL when WEBHOOK_PROXY_URL is set', async () => {
    const cwd = appFolder();
    // Both set: the proxy wins, as on a laptop that also knows its public URL.
    const setup = await startApp(cwd, { WEBHOOK_PROXY_URL: 'https://smee.io/aBcD1234', MISSIONS_PUBLIC_URL: 'https://missions.example.com' });
    const manifest = manifestOf(await (await fetch(`${setup.url}/probot`)).text());
    expect(manifest.hook_attributes.url).toBe('https://smee.io/aBcD1234');
    expect(manifest.redirect_url).toBe(`${setup.url}/probot/setup`);
    await killed(setup.child);
  });
});
