// Checkouts of a repository. One bare cache per repository, fetched before each job and reused
// between jobs; one working checkout per mission, cloned from the cache, so the checkout's own git
// config names only the local cache. The installation token travels only in the environment of the
// git process that talks to GitHub (an http.extraHeader set through GIT_CONFIG_*, beside the limit
// on a stalled transfer), never in a URL, a file, or a log line.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { simpleGit } from 'simple-git';
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

/** The environment git runs with: enough to work, none of the app's secrets. */
export function gitEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    // Nor the user's: a checkout's worker may have been able to write it (without bubblewrap).
    GIT_CONFIG_GLOBAL: '/dev/null',
    LANG: 'C',
  };
}

/**
 * The environment of git talking to GitHub: the installation token in a header, and a transfer
 * that stalls (a remote that takes the connection and never answers) aborted once it has moved
 * less than 1 kB a second for `stallSeconds`, rather than holding the step until its job expires
 * hours later. A push so aborted is tried again like any other dropped connection.
 */
export function networkGitEnv(token: string | undefined, stallSeconds: number): Record<string, string> {
  const config: [string, string][] = [
    ['http.lowSpeedLimit', '1000'],
    ['http.lowSpeedTime', String(stallSeconds)],
  ];
  if (token) config.push(['http.extraHeader', `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`]);
  if (config.length > NETWORK_SETTINGS) throw new Error('networkGitEnv: raise NETWORK_SETTINGS (simple-git would refuse the command)');
  const env = gitEnv();
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/**
 * How long a GitHub transfer may stall before it is aborted (networkGitEnv). Generous: while a server
 * builds a pack it sends only a few bytes of keepalive every 5 s, which counts as stalled, so a large
 * repository GitHub takes minutes to start sending must still get through.
 */
const STALL_SECONDS = 300;
/** The most GIT_CONFIG_* settings networkGitEnv passes (GIT_ENV_KEYS allows that many). */
const NETWORK_SETTINGS = 3;

export class Workspaces {
  readonly root: string;
  /** What setup made, kept per mission and dependency state (prepared.ts). */
  readonly prepared: PreparedSetups;
  // Jobs of one repository in this process take turns on its cache.
  readonly #locks = new KeyedLock<number>();
  /** Where kept setups and removals say what went wrong (a copy that failed, a full disk). */
  readonly log: Logger | undefined;

  /** Seconds a transfer from or to GitHub may stall before it is aborted (networkGitEnv). */
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
    try {
      this.prepared.drop(missionId);
      removeLater(this.throwawayRoot(missionId), { log: this.log });
    } catch (error) {
      // Disk not freed is no reason to fail the step that finished the mission.
      this.log?.warn({ err: error, missionId }, 'a finished mission’s checkouts could not be removed');
    }
  }

  /** A clean checkout of the default branch's newest commit for the mission; returns its path. */
  async checkoutDefaultBranch(request: CheckoutRequest): Promise<string> {
    await this.refresh(request);
    const dir = this.checkoutPath(request.missionId);
    const env = gitEnv();
    if (!existsSync(join(dir, '.git'))) {
      mkdirSync(dir, { recursive: true });
      await plainGit().env(env).clone(this.cachePath(request.repoId), dir, ['--quiet', '--shared', '--no-checkout']);
    }
    const git = plainGit(dir).env(env);
    await git.fetch(['--quiet', '--prune', 'origin']);
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
        await authedGit().env(env).clone(request.cloneUrl, cache, ['--quiet', '--bare']);
      } else {
        await authedGit(cache).env(env).fetch(['--quiet', '--prune', '--force', 'origin', '+refs/heads/*:refs/heads/*']);
      }
    } catch (error) {
      throw new CheckoutError(`could not ${cloned ? 'fetch' : 'clone'} ${redactUrl(request.cloneUrl)}: ${firstLine(error)}`);
    }
    if (request.defaultBranch) {
      const ref = `refs/heads/${request.defaultBranch}`;
      const git = plainGit(cache).env(gitEnv());
      if (!(await git.raw(['rev-parse', '--verify', '--quiet', ref]).catch(() => ''))) {
        throw new CheckoutError(`the default branch ${request.defaultBranch} is not in ${redactUrl(request.cloneUrl)}`);
      }
      // Read first: each git command forks the whole process, and HEAD rarely moves.
      if (readFileSync(join(cache, 'HEAD'), 'utf8') !== `ref: ${ref}\n`) await git.raw(['symbolic-ref', 'HEAD', ref]);
    }
  }

  withLock<T>(key: number, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(key, fn);
  }
}

/**
 * simple-git 4's own completion, by default, takes a git command as done on `close`, or 50 ms after
 * `exit`, and then waits 50 ms more when the command printed nothing, which most of ours do (`--quiet`
 * fetches, checkouts, commits, pushes, plumbing): about 40 % of a build step's git time
 * (build-overhead: 12.1 s against 7.7 s for a 10-feature mission). Ours is told to wait for `close`
 * only (CLOSE_ONLY), and this second completion settles the command on `close`, or for a child that
 * keeps the pipe open, 50 ms after `exit` once the loop has read the pipes; the executor takes the
 * first settlement. Written against simple-git 4.0.2 (pinned).
 */
function withoutSilenceWait<T>(git: T): T {
  const plugins = (git as { _plugins?: { add?: (plugin: unknown) => unknown } })._plugins;
  // Not quietly without: simple-git's own completion waits for close only (CLOSE_ONLY), so without this
  // fallback a command whose pipe a child keeps open would never settle.
  if (typeof plugins?.add !== 'function') throw new Error('simple-git without its plugin store: Missions is written against simple-git 4.0.2');
  plugins.add({
    type: 'spawn.after',
    action(_: unknown, { spawned, close }: { spawned: import('node:child_process').ChildProcess; close: (code: number | null) => void }) {
      let done = false;
      const finish = (code: number | null) => {
        if (!done) (done = true), close(code);
      };
      spawned.on('close', finish);
      // As simple-git does: a process whose output stays open (a child holding its pipe) is done 50 ms
      // after it exits, but only once the loop has read what waits in its pipes (setImmediate runs
      // after the next poll). A loop held up longer than that after the exit fired the timer before
      // the output was read, and a command's answer was lost: under load, `rev-parse` of a branch
      // that was there answered nothing (scale-out: a mission failed nearly every run).
      spawned.on('exit', (code) => setTimeout(() => setImmediate(() => finish(code)), 50));
    },
  });
  return git;
}

// simple-git's own completion also settles 50 ms after exit on a plain timer, which cut the tail off
// a large answer (a diff the secret scan reads) after a held-up loop: it waits for close only, and
// withoutSilenceWait's fallback covers a command whose pipe a child keeps open.
const CLOSE_ONLY = { onClose: true, onExit: false } as const;

// Git that talks to GitHub, with networkGitEnv: the token and the stall limit ride in GIT_CONFIG_*,
// which simple-git refuses unless told it is meant. GIT_CONFIG_GLOBAL points at /dev/null (no config
// at all), which simple-git also asks to be told.
export function authedGit(dir?: string) {
  return withoutSilenceWait(simpleGit({ ...(dir ? { baseDir: dir } : {}), completion: CLOSE_ONLY, allowEnvironment: GIT_ENV_KEYS, unsafe: { allowUnsafeConfigEnvCount: true, allowUnsafeConfigPaths: true } }));
}

export function plainGit(dir?: string) {
  return withoutSilenceWait(simpleGit({ ...(dir ? { baseDir: dir } : {}), completion: CLOSE_ONLY, allowEnvironment: GIT_ENV_KEYS, unsafe: { allowUnsafeConfigPaths: true } }));
}

// simple-git refuses a command whose environment holds a key not listed here: the GIT_CONFIG_KEY_n
// and _VALUE_n pairs go up to networkGitEnv's most settings.
const GIT_ENV_KEYS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_TERMINAL_PROMPT', 'GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_COUNT', ...Array.from({ length: NETWORK_SETTINGS }, (_, i) => [`GIT_CONFIG_KEY_${i}`, `GIT_CONFIG_VALUE_${i}`]).flat()];

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

export function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n').find((l) => /fatal|error/i.test(l)) ?? text.split('\n')[0] ?? '').trim();
}
