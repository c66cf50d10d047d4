// Fewer GitHub calls that count, and none past the limit. The GETs of a repository and its files are
// conditional: it carries the ETag of the last answer to the same request, and a 304 (which GitHub
// does not count against the rate limit) is answered with that stored response. The repository is
// read before every feature (the config file too, where a step reads it through GitHub: intake,
// planning, `_extends`); unchanged, it costs no rate limit. A missing file is a 404, which carries no
// ETag: an owner's `.github` repository without a config is remembered a while instead
// (ownerWithoutConfig). Every answer's x-ratelimit-* headers are kept per
// installation, so a mission step is put off until the window resets when little is left, before a
// write fails. Octokit has no ETag cache of its own (conditional requests are left to the caller),
// hence this hook.
import type { GitHub } from './repository.ts';

/** How long an owner's `.github` repository is taken to have no config file after GitHub said so. */
const NO_OWNER_CONFIG_MS = 10 * 60_000;
/** Owners (GitHub host and login) whose `.github` repository had no config file, until when. */
const ownersWithoutConfig = new Map<string, number>();

/** Whether the owner's `.github` repository had no config file less than 10 minutes ago; `missing` records that it has none now. */
export const ownerWithoutConfig = {
  known: (owner: string) => (ownersWithoutConfig.get(owner) ?? 0) > Date.now(),
  missing: (owner: string) => void ownersWithoutConfig.set(owner, Date.now() + NO_OWNER_CONFIG_MS),
};

/** Stored answers, across installations, the least recently used dropped first. */
const CACHE_LIMIT = 500;
/**
 * The reads worth storing: what every step reads again (the repository, the config file). Lists are
 * not stored: they can be long, and outsiders write the comments on a public issue.
 */
const REREAD = /^(\/api\/v3)?\/repos\/[^/]+\/[^/]+(\/contents\/.+)?$/;
/** What a step leaves for others of the installation (intake: commands, /cancel) when the window runs low. */
const RESERVE_SHARE = 0.05;
const RESERVE_MIN = 100;
/** The longest a step waits for a reset (GitHub's window is an hour). */
const MAX_WAIT_MS = 60 * 60_000;

interface Stored {
  etag: string;
  response: { status: number; url: string; headers: Record<string, unknown>; data: unknown };
}

interface RateLimit {
  remaining: number;
  limit: number;
  /** When the window resets, ms since the epoch. */
  resetAt: number;
}

const stored = new Map<string, Stored>();
const limits = new Map<number, RateLimit>();
const hooked = new WeakSet<GitHub>();

/** `gh`, its GETs made conditional and its rate limit tracked, for `installationId`. */
export function economical(gh: GitHub, installationId: number): GitHub {
  if (hooked.has(gh)) return gh;
  hooked.add(gh);
  gh.hook.wrap('request', async (request, options) => {
    const parsed = gh.request.endpoint.parse(options);
    const key = parsed.method === 'GET' && REREAD.test(new URL(parsed.url).pathname) ? `${installationId} ${parsed.url} ${String(parsed.headers.accept ?? '')}` : null;
    const known = key ? stored.get(key) : undefined;
    if (known) options.headers = { ...options.headers, 'if-none-match': known.etag };
    try {
      const response = await request(options);
      track(installationId, response.headers as Record<string, unknown>);
      const etag = (response.headers as Record<string, unknown>).etag;
      // A copy: callers change what they got (Octokit's paginate rewrites list answers in place).
      if (key && typeof etag === 'string') remember(key, { etag, response: structuredClone({ status: response.status, url: response.url, headers: response.headers as Record<string, unknown>, data: response.data }) });
      return response;
    } catch (error) {
      const failed = error as { status?: number; response?: { headers?: Record<string, unknown> } };
      if (failed.response?.headers) track(installationId, failed.response.headers);
      if (failed.status === 304 && known && key) {
        remember(key, known);
        // A copy: a caller that changes what it got must not change what is stored.
        return structuredClone(known.response) as Awaited<ReturnType<typeof request>>;
      }
      throw error;
    }
  });
  return gh;
}

function remember(key: string, entry: Stored): void {
  stored.delete(key);
  stored.set(key, entry);
  if (stored.size > CACHE_LIMIT) stored.delete(stored.keys().next().value!);
}

function track(installationId: number, headers: Record<string, unknown>): void {
  // GraphQL and search have windows of their own; steps spend the REST one ('core').
  if ((headers['x-ratelimit-resource'] ?? 'core') !== 'core') return;
  const remaining = Number(headers['x-ratelimit-remaining']);
  const limit = Number(headers['x-ratelimit-limit']);
  const reset = Number(headers['x-ratelimit-reset']);
  if (Number.isFinite(remaining) && Number.isFinite(limit) && Number.isFinite(reset)) limits.set(installationId, { remaining, limit, resetAt: reset * 1000 });
}

/**
 * How long a mission step of this installation should wait before it starts: until the window
 * resets when what is left is under the reserve (5 %, at least 100 calls), else 0.
 */
export function rateLimitWait(installationId: number, now = Date.now()): number {
  const known = limits.get(installationId);
  if (!known || known.resetAt <= now) return 0;
  return known.remaining < Math.max(RESERVE_MIN, known.limit * RESERVE_SHARE) ? Math.min(known.resetAt - now, MAX_WAIT_MS) : 0;
}

/** Forgets every stored answer and the rate limits read from them (a benchmark's or a test's app each start without any). */
export function forgetStoredAnswers(): void {
  stored.clear();
  ownersWithoutConfig.clear();
  limits.clear();
}

