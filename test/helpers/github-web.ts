// GitHub as a browser and Mission Control meet it: the OAuth web flow's pages
// (/login/oauth/authorize answers at once for the user who is "signed in to GitHub" next) and the
// two REST calls Mission Control makes with a user's token (GET /user, GET /repos/{owner}/{repo}),
// on a real local HTTP server, since a real browser follows these redirects.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface GitHubWeb {
  /** The site (http://127.0.0.1:port): OAuth pages. */
  url: string;
  /** Its API root, as GHE_HOST's /api/v3. */
  apiUrl: string;
  /** Who signs in at the next authorize (as if signed in to GitHub in that browser). */
  signInAs(login: string): void;
  /** GitHub stops taking this user's tokens (revoked, expired). */
  revoke(login: string): void;
  /** How many times each repository was asked about (Mission Control caches the answer). */
  repoChecks: number;
  close(): Promise<void>;
}

/** `readers`: which repositories (owner/name) each user may read; `ids`: the repositories' ids (GitHub answers them). */
export async function startGitHubWeb(options: { clientId: string; clientSecret: string; readers: Record<string, string[]>; ids?: Record<string, number> }): Promise<GitHubWeb> {
  let next = '';
  const codes = new Map<string, string>();
  const tokens = new Map<string, string>();
  const web: GitHubWeb = {
    url: '',
    apiUrl: '',
    signInAs: (login) => void (next = login),
    revoke: (login) => {
      for (const [token, owner] of tokens) if (owner === login) tokens.delete(token);
    },
    repoChecks: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      if (url.searchParams.get('client_id') !== options.clientId) return void res.writeHead(404).end('unknown client');
      const code = randomBytes(8).toString('hex');
      codes.set(code, next);
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      return void res.writeHead(302, { location: back.toString() }).end();
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const body = req.headers['content-type']?.includes('json') ? JSON.parse(raw) : Object.fromEntries(new URLSearchParams(raw));
      if (body.client_id !== options.clientId || body.client_secret !== options.clientSecret) return json(200, { error: 'incorrect_client_credentials' });
      const login = codes.get(body.code);
      codes.delete(body.code);
      if (!login) return json(200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
      const token = `ghu_${randomBytes(12).toString('hex')}`;
      tokens.set(token, login);
      return json(200, { access_token: token, token_type: 'bearer', scope: '' });
    }
    const login = tokens.get((req.headers.authorization ?? '').replace(/^(token|bearer) /i, ''));
    if (!login) return json(401, { message: 'Bad credentials' });
    if (req.method === 'GET' && url.pathname === '/api/v3/user') return json(200, { login, id: 1, type: 'User' });
    const repo = /^\/api\/v3\/repos\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && repo) {
      web.repoChecks++;
      const name = `${repo[1]}/${repo[2]}`.toLowerCase();
      const ids = Object.fromEntries(Object.entries(options.ids ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      if ((options.readers[login] ?? []).some((r) => r.toLowerCase() === name)) return json(200, { id: ids[name] ?? 1, full_name: name, private: true });
      return json(404, { message: 'Not Found' });
    }
    json(404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  web.url = `http://127.0.0.1:${port}`;
  web.apiUrl = `${web.url}/api/v3`;
  return web;
}
