// Checkouts of a repository. One bare cache per repository, fetched before each job and reused
// between jobs; one working checkout per mission, cloned from the cache, so the checkout's own git
// config names only the local cache. The installation token travels only in the environment of the
// git process that talks to GitHub (an http.extraHeader set through GIT_CONFIG_*, beside the limit
// on a stalled transfer), never in a URL, a file, or a log line.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { gitAt, networkGitEnv } from './git.ts';
import { KeyedLock } from './keyed-lock.ts';
import { PreparedSetups } from './prepared.ts';
import { removeLater } from './remove.ts';

export interface CheckoutRequest {
  repoId: number;
  missionId: number;
  cloneUrl: string;
  /** Installation token; absent for local repositories (tests, the demo). */
  token?: string;
  /**
   * The default branch as GitHub names it now: the cache's HEAD is pointed at it on every refresh
   * (a clone fixes HEAD once, and a fetch never moves it, so a renamed default branch left HEAD on a
   * branch that no longer exists).
   */
  defaultBranch?: string;
}

/** The repository could not be cloned or fetched; the message is safe to show a maintainer. */
export class CheckoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckoutError';
  }
}

/**
 * How long a GitHub transfer may stall before it is aborted (networkGitEnv). Generous: while a server
 * builds a pack it sends only a few bytes of keepalive every 5 s, which counts as stalled, so a large
 * repository GitHub takes minutes to start sending must still get through.
 */
const STALL_SECONDS = 300;

export class Workspaces {
  readonly root: string;
  /** What setup made, kept per mission and dependency state (prepared.ts). */
  readonly prepared: PreparedSetups;
  // Jobs of one repository in this process take turns on its cache.
  readonly #locks = new KeyedLock<number>();
  /** Where kept setups and removals say what went wrong (a copy that failed, a full disk). */
  readonly log: Logger | undefined;

  /** Seconds a transfer from or to GitHub may stall before it is aborted (networkGitEnv); tests shorten it. */
  readonly stallSeconds: number;

  constructor(root: string, log?: Logger, options: { stallSeconds?: number } = {}) {
    this.root = root;
    this.log = log;
    this.prepared = new PreparedSetups(join(root, 'prepared'), log);
    this.stallSeconds = options.stallSeconds ?? STALL_SECONDS;
  }

  cachePath(repoId: number): string {
    return join(this.root, 'cache', `${repoId}.git`);
  }

  /** The app's own git directory for a mission's build, outside the checkout and so out of the worker's reach. */
  gitDirPath(missionId: number): string {
    return join(this.root, 'missions', String(missionId), 'git');
  }

  checkoutPath(missionId: number): string {
    return join(this.root, 'missions', String(missionId), 'checkout');
  }

  /** Where a mission's throwaway checkouts (validators', replays') are made. */
  throwawayRoot(missionId: number): string {
    return join(this.root, 'missions', String(missionId), 'throwaway');
  }

  throwawayPath(missionId: number, name: string): string {
    return join(this.throwawayRoot(missionId), name);
  }

  /**
   * Frees what a finished mission no longer needs: its kept setups and its throwaway checkouts (a
   * copy of the dependencies each, where overlays do not work). A mission reopened later sets up anew.
   */
  release(missionId: number): void {
    // Neither throws: disk not freed is logged, never a reason to fail the step that finished the mission.
    this.prepared.drop(missionId);
    removeLater(this.throwawayRoot(missionId), { log: this.log });
  }

  /** A clean checkout of the default branch's newest commit for the mission; returns its path. */
  async checkoutDefaultBranch(request: CheckoutRequest): Promise<string> {
    await this.refresh(request);
    const dir = this.checkoutPath(request.missionId);
    if (!existsSync(join(dir, '.git'))) {
      mkdirSync(dir, { recursive: true });
      await gitAt().clone(this.cachePath(request.repoId), dir, ['--quiet', '--shared', '--no-checkout']);
    }
    const git = gitAt(dir);
    await git.raw(['fetch', '--quiet', '--prune', 'origin']);
    await git.raw(['checkout', '--quiet', '--force', '--detach', request.defaultBranch ? `refs/remotes/origin/${request.defaultBranch}` : 'origin/HEAD']);
    await git.raw(['clean', '-ffdxq']);
    return dir;
  }

  /** Fetches the repository's branches into its cache (cloning it the first time). */
  refresh(request: CheckoutRequest): Promise<void> {
    return this.withLock(request.repoId, () => this.#refreshCache(request));
  }

  async #refreshCache(request: CheckoutRequest): Promise<void> {
    const cache = this.cachePath(request.repoId);
    const env = networkGitEnv(request.token, this.stallSeconds);
    const cloned = existsSync(join(cache, 'HEAD'));
    try {
      if (!cloned) {
        mkdirSync(cache, { recursive: true });
        await gitAt(undefined, env).clone(request.cloneUrl, cache, ['--quiet', '--bare']);
      } else {
        await gitAt(cache, env).raw(['fetch', '--quiet', '--prune', '--force', 'origin', '+refs/heads/*:refs/heads/*']);
      }
    } catch (error) {
      throw new CheckoutError(`could not ${cloned ? 'fetch' : 'clone'} ${redactUrl(request.cloneUrl)}: ${firstLine(error)}`);
    }
    if (request.defaultBranch) {
      const ref = `refs/heads/${request.defaultBranch}`;
      const git = gitAt(cache);
      if (!(await git.raw(['rev-parse', '--verify', '--quiet', ref]).catch(() => ''))) {
        throw new CheckoutError(`the default branch ${request.defaultBranch} is not in ${redactUrl(request.cloneUrl)}`);
      }
      // Read first: a git command costs a process started (through the helper), and HEAD rarely moves.
      if (readFileSync(join(cache, 'HEAD'), 'utf8') !== `ref: ${ref}\n`) await git.raw(['symbolic-ref', 'HEAD', ref]);
    }
  }

  withLock<T>(key: number, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(key, fn);
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n').find((l) => /fatal|error/i.test(l)) ?? text.split('\n')[0] ?? '').trim();
}
