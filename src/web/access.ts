// Who may see a mission: a user whose own token can read its repository, as GitHub answers it. The
// answer is kept for a few minutes per session and repository, so a page and its live updates do
// not ask GitHub every few seconds, and a revoked access ends within that time.
import type { request as octokitRequest } from '@octokit/request';
import type { WebSession } from '../store/web-sessions.ts';

export const ACCESS_TTL_MS = 5 * 60_000;
const MAX_ENTRIES = 10_000;

/** GitHub refused the user's token (revoked or expired): the session is over. */
export class TokenRefused extends Error {}

export class RepoAccess {
  readonly #request: typeof octokitRequest;
  readonly #answers = new Map<string, { ok: boolean; until: number }>();
  readonly #now: () => number;

  constructor(request: typeof octokitRequest, now: () => number = Date.now) {
    this.#request = request;
    this.#now = now;
  }

  /**
   * By name, as GitHub answers the user, and then by id: a repository deleted or renamed away whose
   * name someone else took since is not the mission's repository, whatever that one lets them read.
   */
  async canRead(session: WebSession, repository: { repoId: number; owner: string; repo: string }): Promise<boolean> {
    const { owner, repo } = repository;
    const key = `${session.id}\n${repository.repoId}`;
    const known = this.#answers.get(key);
    if (known && known.until > this.#now()) return known.ok;
    let ok: boolean;
    try {
      const { data } = await this.#request('GET /repos/{owner}/{repo}', { owner, repo, headers: { authorization: `token ${session.token}` } });
      ok = Number(data.id) === Number(repository.repoId);
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 401) throw new TokenRefused('GitHub refused the session’s token');
      // 404 (no such repository for this user) and 403 (blocked, SSO not authorised) both mean no.
      if (status !== 404 && status !== 403) throw error;
      ok = false;
    }
    if (this.#answers.size >= MAX_ENTRIES) this.#answers.clear();
    this.#answers.set(key, { ok, until: this.#now() + ACCESS_TTL_MS });
    return ok;
  }
}
