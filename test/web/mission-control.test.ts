// Mission Control in a real browser (headless Chromium): a maintainer signs in through GitHub's
// OAuth flow and reads a finished mission; an outsider gets the 404 of a mission that does not
// exist; a signed-out visitor is sent to sign in; hostile text stays text.
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playDemo } from '../../demo/mission.ts';
import { expectCleanEdges, INSTALLATION, OWNER, REPO, REPO_ID, type TestApp } from '../helpers/harness.ts';
import { stackPlan } from '../helpers/plans.ts';
import type { IssueThread } from '../helpers/issue-thread.ts';
import { ARTIFACTS, launchBrowser } from '../helpers/browser.ts';
import { CLIENT_ID, serveMissionControl, type MissionControlServer } from '../helpers/mission-control.ts';

let app: TestApp;
let thread: IssueThread;
let web: MissionControlServer;
let browser: Browser;
const PUBLIC_URL = 'https://missions.example.test';

beforeAll(async () => {
  ({ app, thread } = await playDemo({ publicUrl: PUBLIC_URL }));
  web = await serveMissionControl(app.db, { maintainer: [`${OWNER}/${REPO}`], outsider: ['someone/else'], usurper: [`${OWNER}/${REPO}`] }, { ids: { [`${OWNER}/${REPO}`]: REPO_ID } });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
  if (app) {
    expectCleanEdges(app);
    await app.close();
  }
});

/** A browser's sign-in without a browser: the cookies a session ends with. */
async function signInByHand(login: string, path = '/missions/1', server: MissionControlServer = web): Promise<{ cookie: string; landed: Response }> {
  server.github.signInAs(login);
  const jar = new Map<string, string>();
  const keep = (r: Response) => r.headers.getSetCookie().forEach((c) => jar.set(c.split('=')[0]!, c.split(';')[0]!));
  const cookie = () => [...jar.values()].join('; ');
  let r = await fetch(`${server.url}${path}`, { redirect: 'manual' });
  keep(r);
  r = await fetch(r.headers.get('location')!, { redirect: 'manual' });
  const callback = r.headers.get('location')!;
  r = await fetch(callback, { redirect: 'manual', headers: { cookie: cookie() } });
  keep(r);
  return { cookie: cookie(), landed: r };
}

async function signedIn(login: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  web.github.signInAs(login);
  return page;
}

describe('Mission Control', () => {
  it('is linked from the status board, the pull request and the finish summary', () => {
    const page = `${PUBLIC_URL}/missions/1`;
    expect(thread.missionComment()!.body).toContain(`[Mission Control](${page})`);
    const pr = thread.pulls[0]!;
    expect(pr.body).toContain(`[Mission Control](${page})`);
    expect(pr.comments.find((c) => c.body.includes('Mission done'))!.body).toContain(`[Mission Control](${page})`);
  });

  it('sends a signed-out visitor to GitHub to sign in, with the client id and a state', async () => {
    const response = await fetch(`${web.url}/missions/1`, { redirect: 'manual' });
    expect([302, 303]).toContain(response.status);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(`${web.github.url}/login/oauth/authorize`);
    expect(location.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(location.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);
    // The cookie that remembers the state is HttpOnly, SameSite=Lax and signed.
    const cookies = response.headers.getSetCookie().join('\n');
    expect(cookies).toMatch(/missions_session=[^;]+;.*httponly/i);
    expect(cookies).toMatch(/samesite=lax/i);
    expect(cookies).toMatch(/missions_session\.sig=/);
  });

  it('shows a maintainer the finished mission: contract, timeline and a transcript', async () => {
    const page = await signedIn('maintainer');
    // Straight to the mission page: sign-in happens on the way, and lands on it.
    const response = await page.goto(`${web.url}/missions/1`);
    expect(response!.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/missions/1');
    expect(await page.locator('h1').innerText()).toContain('Mission #1');
    expect((await page.locator('#live .state').innerText()).trim()).toBe('done');
    await page.screenshot({ path: join(ARTIFACTS, 'mission-page-top.png') });
    // The contract, each assertion passed, with its verdict history across rounds (VAL-001 failed first).
    const contract = page.locator('ol.contract > li');
    expect(await contract.count()).toBe(3);
    for (const id of ['VAL-001', 'VAL-002', 'VAL-003']) expect((await page.locator(`ol.contract > li#${id} .verdict`).first().innerText()).trim()).toBe('pass');
    await page.locator('li#VAL-001 details summary').click();
    expect(await page.locator('li#VAL-001 ol.history > li').count()).toBe(2);
    expect(await page.locator('li#VAL-001 ol.history > li').first().innerText()).toContain('fail');
    // The timeline: one bar per agent run, each with its words, and the cost picture.
    const runs = await app.db.query<{ n: number }>('SELECT count(*)::int AS n FROM transcripts WHERE mission_id = 1');
    expect(await page.locator('svg.timeline a').count()).toBe(runs[0]!.n);
    expect(await page.locator('svg.timeline a').first().getAttribute('aria-label')).toMatch(/planner on revision 1, .*finished with submit_plan/);
    expect(await page.locator('svg.cost polyline').count()).toBeGreaterThan(0);
    // The feature stack, with the fix feature triage asked for, and a round's dispositions.
    expect(await page.locator('ol.features > li').count()).toBe(4);
    expect(await page.locator('.round table.items').count()).toBeGreaterThan(0);
    // A transcript, reached from its bar by keyboard: the planner's run and its finish call.
    await page.locator('svg.timeline a').first().focus();
    await page.keyboard.press('Enter');
    expect(page.url()).toMatch(/#run-\d+$/);
    const first = page.locator('article.run').first();
    await first.locator('summary').first().click();
    expect((await first.locator('li.call.finish code').innerText()).trim()).toBe('submit_plan');
    expect(await first.locator('li.call').first().innerText()).toContain('glob');
    await page.screenshot({ path: join(ARTIFACTS, 'mission-page.png'), fullPage: true });
    // The list: this mission, its state and cost.
    await page.goto(`${web.url}/missions`);
    expect(await page.locator('table.missions tbody tr').count()).toBe(1);
    expect(await page.locator('table.missions tbody tr').innerText()).toContain('Codertocat/Hello-World');
    await page.screenshot({ path: join(ARTIFACTS, 'missions-list.png'), fullPage: true });
    await page.context().close();
  });

  it('gives a user who cannot read the repository the same 404 as a mission that does not exist', async () => {
    const page = await signedIn('outsider');
    const hidden = await page.goto(`${web.url}/missions/1`);
    expect(hidden!.status()).toBe(404);
    const hiddenText = await page.locator('main').innerText();
    const missing = await page.goto(`${web.url}/missions/999`);
    expect(missing!.status()).toBe(404);
    expect(await page.locator('main').innerText()).toBe(hiddenText);
    expect(hiddenText).not.toContain('Hello-World');
    // Nor the list, nor the live fragment, nor a transcript.
    await page.goto(`${web.url}/missions`);
    expect(await page.locator('table.missions').count()).toBe(0);
    expect((await page.goto(`${web.url}/missions/1/live`))!.status()).toBe(404);
    expect((await page.goto(`${web.url}/missions/1/runs/1`))!.status()).toBe(404);
    await page.context().close();
  });

  it('shows hostile text as text: a crafted issue title and a transcript holding <script> run nothing', async () => {
    const title = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> "quoted" & more';
    const mission = (await app.store.create({ installationId: INSTALLATION, repoId: REPO_ID, owner: OWNER, repo: REPO, issueNumber: 7, issueTitle: title }, 'maintainer', 'hostile'))!;
    const run = await app.store.startRun({ missionId: mission.id, role: 'planner', model: 'claude-opus-5-5', subject: '<b>revision 1</b>' });
    await app.store.saveTranscript({
      missionId: mission.id,
      runId: run,
      role: 'planner',
      model: 'claude-opus-5-5',
      outcome: 'no-finish',
      turns: 1,
      messages: [
        { role: 'user', content: 'Plan <script>window.pwned = 3</script>' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'bash', input: { command: 'echo "<script>window.pwned = 4</script>"' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: '</pre></details><script>window.pwned = 5</script><style>body{display:none}</style>' }] },
      ],
    });
    const page = await signedIn('maintainer');
    const dialogs: string[] = [];
    page.on('dialog', (d) => void (dialogs.push(d.message()), d.dismiss()));
    const response = await page.goto(`${web.url}/missions/${mission.id}`);
    expect(response!.status()).toBe(200);
    expect(response!.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(await response!.text()).toContain('&lt;script&gt;window.pwned = 1&lt;/script&gt;');
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator('h1').innerText()).toContain(title);
    const transcript = page.locator(`article#run-${run}`);
    await transcript.locator('summary').first().click();
    expect(await transcript.innerText()).toContain('<script>window.pwned = 3</script>');
    expect(await transcript.innerText()).toContain('</pre></details><script>window.pwned = 5</script>');
    expect(await transcript.locator('script, style, img').count()).toBe(0);
    expect(await page.locator('svg.timeline a').first().getAttribute('aria-label')).toContain('<b>revision 1</b>');
    expect(dialogs).toEqual([]);
    await page.context().close();
  });

  it('updates the page of a running mission when its next feature is committed', async () => {
    const mission = (await app.store.create({ installationId: INSTALLATION, repoId: REPO_ID, owner: OWNER, repo: REPO, issueNumber: 8, issueTitle: 'Running' }, 'maintainer', 'running'))!;
    await app.store.addRevision(mission.id, 0, { kind: 'plan', body: stackPlan, change: 'the first plan' });
    expect(await app.store.approve(mission.id, 1, stackPlan, 'maintainer')).toBe(true);
    await app.store.startFeature(mission.id, 'F1');
    const page = await signedIn('maintainer');
    await page.goto(`${web.url}/missions/${mission.id}`);
    const fetched: string[] = [];
    page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
    await page.evaluate(() => ((window as { notReloaded?: boolean }).notReloaded = true));
    const f1 = page.locator('ol.features > li').first();
    expect(await f1.innerText()).toContain('building now');
    expect(await page.locator('article.run').count()).toBe(0);
    // The worker's run ends and its commit lands, as the build step records them.
    const run = await app.store.startRun({ missionId: mission.id, role: 'worker', model: 'claude-sonnet-5-5', subject: 'F1' });
    await app.store.recordUsage({ missionId: mission.id, runId: run, role: 'worker', model: 'claude-sonnet-5-5', usage: { input_tokens: 100, output_tokens: 50, cache_read_tokens: 0, cache_write_tokens: 0 }, usd: 0.01 });
    await app.store.saveTranscript({ missionId: mission.id, runId: run, role: 'worker', model: 'claude-sonnet-5-5', outcome: 'finished:submit_handoff', turns: 1, messages: [{ role: 'user', content: 'Build F1' }, { role: 'assistant', content: [{ type: 'tool_use', id: 'h', name: 'submit_handoff', input: { status: 'complete' } }] }] });
    await app.store.commitFeature(mission.id, 'F1', 'a'.repeat(40), { status: 'complete', summary: 'Built F1.', commands_run: [], left_undone: [], issues_found: [] });
    // The page, not reloaded, shows the commit, the run on the timeline and its transcript.
    await expect.poll(() => f1.innerText(), { timeout: 20_000 }).toContain('committed');
    expect(await f1.innerText()).toContain('aaaaaaa');
    expect(await page.locator('svg.timeline a').count()).toBe(1);
    await expect.poll(() => page.locator(`article#run-${run}`).count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('ol.story').innerText()).toContain('a feature is committed (F1)');
    // Updated in place: the page was not loaded again, and the one new transcript was fetched once.
    expect(await page.evaluate(() => (window as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(fetched.filter((p) => p === `/missions/${mission.id}`)).toEqual([]);
    expect(fetched.filter((p) => p.includes('/runs/'))).toEqual([`/missions/${mission.id}/runs/${run}`]);
    await page.context().close();
  });

  it('checks the sign-in state, ends a session GitHub stops honouring, and asks GitHub once per repository and session', async () => {
    // A callback whose state this browser was not given signs nobody in.
    web.github.signInAs('maintainer');
    let r = await fetch(`${web.url}/missions/1`, { redirect: 'manual' });
    const started = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const authorize = new URL(r.headers.get('location')!);
    r = await fetch(authorize, { redirect: 'manual' });
    const callback = new URL(r.headers.get('location')!);
    callback.searchParams.set('state', 'forged-state-forged-state');
    const forged = await fetch(callback, { redirect: 'manual', headers: { cookie: started } });
    expect(forged.status).toBe(400);
    // Nor, in that browser, the real callback after it: its state was good for one callback.
    const after = forged.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    callback.searchParams.set('state', authorize.searchParams.get('state')!);
    expect((await fetch(callback, { redirect: 'manual', headers: { cookie: after } })).status).toBe(400);

    const { cookie, landed } = await signInByHand('maintainer');
    expect(landed.status).toBe(303);
    expect(landed.headers.get('location')).toBe('/missions/1');
    const checks = web.github.repoChecks;
    for (let i = 0; i < 3; i++) expect((await fetch(`${web.url}/missions/1`, { headers: { cookie } })).status).toBe(200);
    expect(web.github.repoChecks - checks).toBe(1);
    // An altered cookie is no session.
    const altered = cookie.replace(/missions_session=([^;]+)/, (_, v: string) => `missions_session=${v.slice(0, -2)}xx`);
    expect((await fetch(`${web.url}/missions/1`, { redirect: 'manual', headers: { cookie: altered } })).status).toBe(303);

    // GitHub stops taking the token: the mission answers like a missing one, and the session is over.
    const fresh = await signInByHand('maintainer', '/missions/2');
    web.github.revoke('maintainer');
    const revoked = await fetch(`${web.url}/missions/1`, { redirect: 'manual', headers: { cookie: fresh.cookie } });
    expect(revoked.status).toBe(404);
    expect((await fetch(`${web.url}/missions/1`, { redirect: 'manual', headers: { cookie: fresh.cookie } })).status).toBe(303);
    // The page's own requests are not sent to sign in (a poll would lose the page it came from).
    expect((await fetch(`${web.url}/missions/1/live`, { redirect: 'manual' })).status).toBe(401);
  });

  it('marks the session cookie Secure when users come over HTTPS', async () => {
    const secure = await serveMissionControl(app.db, {}, { publicUrl: 'https://missions.example.test' });
    try {
      const r = await fetch(`${secure.url}/missions`, { redirect: 'manual' });
      expect(new URL(r.headers.get('location')!).searchParams.get('redirect_uri')).toBe('https://missions.example.test/missions/auth/callback');
      for (const c of r.headers.getSetCookie()) expect(c).toMatch(/;\s*secure/i);
    } finally {
      await secure.close();
    }
  });

  it('does not show a mission to whoever holds its repository’s name now, if it is another repository', async () => {
    // `usurper` reads a repository of the same name, whose id GitHub reports as another one.
    const other = await serveMissionControl(app.db, { usurper: [`${OWNER}/${REPO}`] }, { ids: { [`${OWNER}/${REPO}`]: REPO_ID + 1 } });
    try {
      const { cookie } = await signInByHand('usurper', '/missions/1', other);
      expect((await fetch(`${other.url}/missions/1`, { headers: { cookie } })).status).toBe(404);
      expect(await (await fetch(`${other.url}/missions`, { headers: { cookie } })).text()).not.toContain('Hello-World');
    } finally {
      await other.close();
    }
  });

  it('redacts the app’s secrets from transcripts, also across the fold and when spread over lines', async () => {
    const secret = 'test-client-secret-0123456789';
    const mission = (await app.store.create({ installationId: INSTALLATION, repoId: REPO_ID, owner: OWNER, repo: REPO, issueNumber: 9, issueTitle: 'Secrets' }, 'maintainer', 'secrets'))!;
    const run = await app.store.startRun({ missionId: mission.id, role: 'worker', model: 'claude-sonnet-5-5', subject: 'F1' });
    await app.store.saveTranscript({
      missionId: mission.id,
      runId: run,
      role: 'worker',
      model: 'claude-sonnet-5-5',
      outcome: 'no-finish',
      turns: 1,
      messages: [
        { role: 'user', content: `the secret is ${secret}` },
        { role: 'assistant', content: `${'x'.repeat(59_990)}${secret}` },
        { role: 'user', content: `${secret.slice(0, 12)}\n${secret.slice(12)}` },
        { role: 'assistant', content: [...secret].join('\u200b') },
      ],
    });
    const { cookie } = await signInByHand('maintainer', `/missions/${mission.id}`);
    const body = await (await fetch(`${web.url}/missions/${mission.id}`, { headers: { cookie } })).text();
    expect(body).toContain('the secret is [redacted]');
    expect(body).toContain('[withheld: this text holds a secret');
    expect(body).not.toContain(secret.slice(0, 16));
    expect(body).not.toContain([...secret].join('\u200b').slice(0, 30));
  });
});
