// Mission Control (PRODUCT.md §6), as one handler in Probot's server style: true when it answered.
// Every page needs a signed-in user whose own GitHub token can read the mission's repository; a
// mission they may not read is the same 404 as one that does not exist. Pages are read-only.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { nowLine, STATES } from '../mission/lifecycle.ts';
import type { Plan } from '../mission/plan.ts';
import { secretRedactor, secretValues } from '../secrets.ts';
import type { Database } from '../store/database.ts';
import { MissionStore, type FeatureRow, type Mission } from '../store/missions.ts';
import { WebSessions, type WebSession } from '../store/web-sessions.ts';
import { RepoAccess, TokenRefused } from './access.ts';
import { loadMission, missionVersion, transcriptOf, transcripts } from './mission-data.ts';
import { listPage, liveFragment, liveView, messagePage, missionPage, runFragment, runView, type Redact } from './pages.ts';
import { CALLBACK_PATH, SignIn, type SignInOptions } from './sign-in.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface MissionControlOptions {
  db: Database;
  log: Logger;
  /** The app's OAuth client and session secret; without them the pages say what to set. */
  signIn?: Omit<SignInOptions, 'githubBaseUrl' | 'publicUrl'> | undefined;
  githubBaseUrl?: string | undefined;
  publicUrl?: string | undefined;
  /** The environment whose secrets are redacted from every page (the process's own by default). */
  env?: NodeJS.ProcessEnv;
}

/** No inline script or style can run, whatever a transcript holds; no other site is loaded or framed. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const ASSETS: Record<string, { type: string; body: Buffer }> = Object.fromEntries(
  [['style.css', 'text/css; charset=utf-8'], ['live.js', 'text/javascript; charset=utf-8']].map(([name, type]) => [
    name!,
    { type: type!, body: readFileSync(new URL(`./assets/${name}`, import.meta.url)) },
  ]),
);
/** The one answer for a mission that does not exist and one the user may not read: the same bytes, whoever asks. */
const notFound = () => messagePage('Not found', 'There is no such mission, or you cannot read its repository.', undefined, { href: '/missions', text: 'All missions' });
const MISSION_PATH = /^\/missions\/(\d{1,15})(?:\/(live|runs\/(\d{1,15})))?\/?$/;
const LIST_LIMIT = 200;

export function missionControl(options: MissionControlOptions): Handler {
  const secrets = secretValues(options.env ?? process.env, [options.signIn?.sessionSecret]);
  const redact: Redact = secretRedactor(secrets);
  const webBase = options.githubBaseUrl ? options.githubBaseUrl.replace(/\/api\/v3\/?$/, '') : 'https://github.com';
  const signIn = options.signIn ? new SignIn({ ...options.signIn, githubBaseUrl: options.githubBaseUrl, publicUrl: options.publicUrl }, new WebSessions(options.db)) : null;
  const access = signIn ? new RepoAccess(signIn.request) : null;
  const store = new MissionStore(options.db);

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://missions.invalid');
    const path = url.pathname;
    if (path !== '/missions' && !path.startsWith('/missions/')) return false;
    try {
      if (path.startsWith('/missions/assets/')) {
        const asset = ASSETS[path.slice('/missions/assets/'.length)];
        if (!asset) send(req, res, 404, messagePage('Not found', 'There is no such file.'));
        else send(req, res, 200, asset.body, { 'content-type': asset.type, 'cache-control': 'public, max-age=300' });
        return true;
      }
      if (!signIn || !access) {
        send(req, res, 503, messagePage('Mission Control is not set up', 'Mission Control signs users in with the GitHub App’s client id and secret: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET (Probot’s setup page saves them in .env), then restart.'));
        return true;
      }
      if (path === '/missions/auth/sign-out') {
        if (req.method !== 'POST') return methodNotAllowed(req, res, 'POST'), true;
        await signIn.signOut(req, res);
        send(req, res, 200, messagePage('Signed out', 'You are signed out of Mission Control.', undefined, { href: '/missions', text: 'Sign in again' }));
        return true;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(req, res, 'GET, HEAD'), true;
      if (path === CALLBACK_PATH) {
        const done = await signIn.callback(req, res, url.searchParams);
        if (done.ok) res.writeHead(303, { location: done.returnTo, 'cache-control': 'no-store' }).end();
        else send(req, res, 400, messagePage('Sign-in did not work', done.why, undefined, { href: '/missions', text: 'Try again' }));
        return true;
      }
      const user = await signIn.user(req, res);
      // The page's own requests (its live part, a transcript) are not pages to come back to: a
      // signed-out one is told so, and sign-in starts from the page when it is next loaded.
      const fragment = /^\/missions\/\d+\/(live|runs\/)/.test(path);
      if (!user) {
        if (fragment) send(req, res, 401, messagePage('Signed out', 'Sign in again by reloading the page.'));
        else await signIn.redirectToGitHub(req, res, `${url.pathname}${url.search}`);
        return true;
      }
      try {
        await page(user, url);
      } catch (error) {
        if (!(error instanceof TokenRefused)) throw error;
        // GitHub no longer takes the token: the session ends. A mission's page answers as for a
        // mission that does not exist (a sign-in here would tell the two apart); the next page signs in.
        await signIn.forget(user);
        if (url.pathname.startsWith('/missions/')) send(req, res, 404, notFound());
        else await signIn.redirectToGitHub(req, res, `${url.pathname}${url.search}`);
      }
      return true;
    } catch (error) {
      options.log.error({ err: error, path }, 'Mission Control could not answer');
      if (!res.headersSent) send(req, res, 502, messagePage('Something went wrong', 'Mission Control could not load this page (GitHub or the database did not answer). Try again in a moment.'));
      else res.end();
      return true;
    }

    async function page(user: WebSession, url: URL): Promise<void> {
      if (url.pathname === '/missions' || url.pathname === '/missions/') return list(user, url);
      const match = MISSION_PATH.exec(url.pathname);
      const id = match ? Number(match[1]) : NaN;
      const [mission] = match ? await options.db.query<Mission>('SELECT * FROM missions WHERE id = $1', [id]) : [];
      // The same answer for a mission that does not exist and one this user may not read.
      if (!mission || !(await access!.canRead(user, { repoId: Number(mission.repo_id), owner: mission.owner, repo: mission.repo }))) {
        send(req, res, 404, notFound());
        return;
      }
      if (match![3]) {
        const run = await transcriptOf(options.db, id, Number(match![3]));
        if (!run) send(req, res, 404, messagePage('Not found', 'There is no such run.', user.login));
        else send(req, res, 200, runFragment(runView(run.run, run.messages, redact)));
        return;
      }
      const version = (await missionVersion(options.db, id))!;
      const etag = `"${version}"`;
      if (match![2] === 'live' && req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag, 'cache-control': 'private, no-cache' }).end();
        return;
      }
      const data = await loadMission(store, mission);
      const latest = await store.latestPlan(id);
      const plan = (mission.contract as Plan | null) ?? (latest?.body as Plan | undefined) ?? null;
      const view = liveView(data, version, redact, webBase, plan, latest?.number ?? 0);
      if (match![2] === 'live') {
        send(req, res, 200, liveFragment(view), { etag, 'cache-control': 'private, no-cache' });
        return;
      }
      const held = await transcripts(options.db, id);
      const runs = data.runs.filter((r) => held.has(r.id)).map((r) => runView(r, held.get(r.id), redact));
      send(req, res, 200, missionPage(user.login, view, runs));
    }

    async function list(user: WebSession, url: URL): Promise<void> {
      // Every repository with a mission is checked, whatever the filters: what the page costs (and
      // asks GitHub) never depends on missions the user cannot see. Answers are cached per session.
      const repositories = await options.db.query<{ repo_id: number; owner: string; repo: string }>(
        'SELECT DISTINCT ON (repo_id) repo_id, owner, repo FROM missions ORDER BY repo_id, id DESC',
      );
      const readable = (
        await Promise.all(repositories.map(async (r) => ((await access!.canRead(user, { repoId: Number(r.repo_id), owner: r.owner, repo: r.repo })) ? r : null)))
      ).filter((r) => r !== null);
      const repoFilter = url.searchParams.get('repo') ?? '';
      const stateFilter = STATES.includes(url.searchParams.get('state') as never) ? url.searchParams.get('state')! : '';
      const chosen = readable.filter((r) => !repoFilter || `${r.owner}/${r.repo}`.toLowerCase() === repoFilter.toLowerCase()).map((r) => Number(r.repo_id));
      const visible = await options.db.query<Mission>(
        `SELECT * FROM missions WHERE repo_id = ANY($1) AND ($2 = '' OR state = $2) ORDER BY id DESC LIMIT ${LIST_LIMIT}`,
        [chosen, stateFilter],
      );
      const ids = visible.map((m) => m.id);
      const [costs, features] = await Promise.all([
        options.db.query<{ mission_id: number; usd: number }>('SELECT mission_id, sum(usd)::float8 AS usd FROM usage WHERE mission_id = ANY($1) GROUP BY mission_id', [ids]),
        options.db.query<FeatureRow>('SELECT * FROM features WHERE mission_id = ANY($1) ORDER BY position', [ids]),
      ]);
      const usd = new Map(costs.map((c) => [Number(c.mission_id), c.usd]));
      const rows = visible.map((mission) => ({
        mission: { ...mission, issue_title: mission.issue_title === null ? null : redact(mission.issue_title) },
        usd: usd.get(Number(mission.id)) ?? 0,
        now: redact(nowLine(mission, features.filter((f) => Number(f.mission_id) === Number(mission.id)))),
      }));
      const repoNames = [...new Set(readable.map((r) => `${r.owner}/${r.repo}`))].sort();
      send(req, res, 200, listPage(user.login, rows, repoNames, { repo: repoFilter, state: stateFilter }, webBase));
    }
  };
}

function send(req: IncomingMessage, res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'private, no-store',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function methodNotAllowed(req: IncomingMessage, res: ServerResponse, allow: string): void {
  send(req, res, 405, messagePage('Not allowed', 'Mission Control pages are read-only.'), { allow });
}

