// Signing in to Mission Control: GitHub's OAuth web flow with the app's own client id and secret
// (@octokit/oauth-methods), against GHE_HOST when set. The session cookie (cookie-session, signed
// with HMAC-SHA256) holds the flow's `state` and where to go back to, then only a random session id:
// the user's token stays in the database (WebSessions).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exchangeWebFlowCode, getWebFlowAuthorizationUrl } from '@octokit/oauth-methods';
import { request as octokitRequest } from '@octokit/request';
import cookieSession from 'cookie-session';
import Keygrip from 'keygrip';
import { z } from 'zod';
import type { WebSession, WebSessions } from '../store/web-sessions.ts';
import { SESSION_HOURS } from '../store/web-sessions.ts';

export const CALLBACK_PATH = '/missions/auth/callback';

export interface SignInOptions {
  clientId: string;
  clientSecret: string;
  sessionSecret: string;
  /** GitHub's API root (GHE_HOST's /api/v3), or undefined for github.com; OAuth pages live at its host. */
  githubBaseUrl?: string | undefined;
  /** Where users reach this app (MISSIONS_PUBLIC_URL): the callback's origin, and https means Secure cookies. */
  publicUrl?: string | undefined;
}

/** What the cookie may hold; anything else (an old or altered shape) counts as no session. */
const cookieShape = z.object({ sid: z.string().max(100).optional(), state: z.string().max(100).optional(), returnTo: z.string().max(2_000).optional() });
type CookieSession = z.infer<typeof cookieShape>;

type Req = IncomingMessage & { session?: CookieSession | null; protocol?: string };

export class SignIn {
  readonly request: typeof octokitRequest;
  readonly #options: SignInOptions;
  readonly #sessions: WebSessions;
  readonly #cookies: ReturnType<typeof cookieSession>;
  readonly #secure: boolean;

  constructor(options: SignInOptions, sessions: WebSessions) {
    this.#options = options;
    this.#sessions = sessions;
    this.request = octokitRequest.defaults({ baseUrl: options.githubBaseUrl ?? 'https://api.github.com' });
    this.#secure = options.publicUrl?.startsWith('https:') ?? false;
    this.#cookies = cookieSession({
      name: 'missions_session',
      keys: new Keygrip([options.sessionSecret], 'sha256'),
      path: '/missions',
      httpOnly: true,
      sameSite: 'lax',
      secure: this.#secure,
      maxAge: SESSION_HOURS * 3_600_000,
    });
  }

  /** The cookie's contents, read (and, once changed, written back) by cookie-session. */
  async #cookie(req: Req, res: ServerResponse): Promise<CookieSession> {
    // Behind a TLS proxy the socket is plain HTTP; the public URL says whether users come over HTTPS,
    // which is what the cookies library reads to allow a Secure cookie.
    req.protocol = this.#secure ? 'https' : 'http';
    await new Promise<void>((resolve, reject) => this.#cookies(req as never, res as never, (error?: unknown) => (error ? reject(error) : resolve())));
    const parsed = cookieShape.safeParse({ ...(req.session ?? {}) });
    return parsed.success ? parsed.data : {};
  }

  /** The signed-in user of this request, or null. */
  async user(req: Req, res: ServerResponse): Promise<WebSession | null> {
    const { sid } = await this.#cookie(req, res);
    return sid ? this.#sessions.find(sid) : null;
  }

  /** Sends a signed-out visitor to GitHub's authorize page, remembering the page they asked for. */
  async redirectToGitHub(req: Req, res: ServerResponse, returnTo: string): Promise<void> {
    await this.#cookie(req, res);
    const state = randomBytes(24).toString('base64url');
    req.session = { state, returnTo: safeReturn(returnTo) };
    const { url } = getWebFlowAuthorizationUrl({
      clientType: 'github-app',
      clientId: this.#options.clientId,
      redirectUrl: `${this.#origin(req)}${CALLBACK_PATH}`,
      state,
      request: this.request,
    });
    res.writeHead(303, { location: url, 'cache-control': 'no-store' }).end();
  }

  /**
   * GitHub sent the user back: the state must be the one this browser was given, then the code
   * becomes a token, the token a login, and the login a session. Returns where to go, or why not.
   */
  async callback(req: Req, res: ServerResponse, query: URLSearchParams): Promise<{ ok: true; returnTo: string } | { ok: false; why: string }> {
    const cookie = await this.#cookie(req, res);
    // A state is good for one callback, whatever comes of it: a replayed callback finds none.
    req.session = {};
    const state = query.get('state') ?? '';
    const code = query.get('code') ?? '';
    if (!cookie.state || !sameText(state, cookie.state)) return { ok: false, why: 'This sign-in link is not the one this browser started (or it was used already).' };
    if (!code) return { ok: false, why: query.get('error_description') ?? 'GitHub did not send a sign-in code.' };
    let token: string;
    try {
      const { authentication } = await exchangeWebFlowCode({
        clientType: 'github-app',
        clientId: this.#options.clientId,
        clientSecret: this.#options.clientSecret,
        code,
        redirectUrl: `${this.#origin(req)}${CALLBACK_PATH}`,
        request: this.request,
      });
      token = authentication.token;
    } catch {
      return { ok: false, why: 'GitHub did not accept the sign-in code (it may have expired).' };
    }
    const { data: user } = await this.request('GET /user', { headers: { authorization: `token ${token}` } });
    const session = await this.#sessions.create(user.login, token);
    req.session = { sid: session.id };
    return { ok: true, returnTo: safeReturn(cookie.returnTo ?? '/missions') };
  }

  async signOut(req: Req, res: ServerResponse): Promise<void> {
    const { sid } = await this.#cookie(req, res);
    if (sid) await this.#sessions.end(sid);
    req.session = null;
  }

  /** The session is no good any more (GitHub refused its token). */
  async forget(session: WebSession): Promise<void> {
    await this.#sessions.end(session.id);
  }

  #origin(req: IncomingMessage): string {
    // GitHub checks the callback against the app's registered callback URLs, so a forged Host header
    // only sends its own sender's sign-in astray.
    return this.#options.publicUrl ?? `http://${req.headers.host ?? 'localhost'}`;
  }
}

/** Only a path of Mission Control: never another site (`//evil.example`) or a scheme. */
function safeReturn(path: string): string {
  return /^\/missions(?:[/?#]|$)/.test(path) && !/[\\\s]/.test(path) && path.length <= 1_000 ? path : '/missions';
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
