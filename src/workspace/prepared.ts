// Setup once per mission and dependency state. The first checkout that runs `setup` for a given key
// (the setup command and the files it reads, setupKey) leaves behind a copy of what setup made; every
// later checkout with the same key (worker retries, validators, replays, later rounds) gets its own
// copy of that instead of installing again. A copy, not links: one checkout's writes (a test that
// writes into node_modules/.cache, a worker that edits a dependency) never reach another's.
//
// Only what can move between checkouts is kept: dependency trees that refer to themselves by
// relative paths (node_modules at any depth, Yarn's cache and Plug'n'Play files). A setup that changed
// a tracked file, or made anything else (a build in dist/, a Python virtualenv whose scripts name
// their own absolute path), is not kept: it runs again in every checkout, as it always did.
//
// The copy is taken right after setup exits, before any agent runs in the checkout. Snapshots live
// in the app's data directory, which sandboxes never see.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gitEnv, plainGit } from './checkout.ts';
import { SETUP_INPUTS, installRelevant } from './repo-commands.ts';

const run = promisify(execFile);

/** Snapshots kept per mission: the newest few dependency states (a round's head, the one before). */
const KEPT = 3;

/** Untracked paths setup may leave that are the same wherever the checkout is. */
function relocatable(path: string): boolean {
  const clean = path.replace(/\/$/, '');
  if (clean.split('/').includes('node_modules')) return true;
  return ['.yarn', '.yarn/cache', '.yarn/unplugged', '.yarn/install-state.gz', '.yarn/build-state.yml', '.pnp.cjs', '.pnp.js', '.pnp.loader.mjs', '.pnp.data.json'].includes(clean);
}

/**
 * The key of what `command` installs on `commit`: the command, and every file it reads (manifests,
 * lockfiles and registry settings at any depth, files the command names), by content. A package.json
 * counts only by what decides an install (dependencies, install hooks): a new `test` script keeps the key.
 */
export async function setupKey(gitDir: string, commit: string, command: string): Promise<string> {
  const git = () => plainGit().env({ ...gitEnv(), GIT_DIR: gitDir });
  const words = new Set(command.split(/[\s'"`;&|()<>]+/).map((w) => w.replace(/^\.\//, '')).filter(Boolean));
  const out = await git().raw(['ls-tree', '-r', '-z', commit]);
  const hash = createHash('sha256').update(`${command}\0`);
  for (const line of out.split('\0').filter(Boolean)) {
    const [meta, path] = line.split('\t') as [string, string];
    const [mode, , sha] = meta.split(' ') as [string, string, string];
    const name = path.split('/').pop()!;
    if (!SETUP_INPUTS.has(name) && !words.has(path)) continue;
    const content = (name === 'package.json' && installRelevant(await git().raw(['cat-file', 'blob', sha]))) || sha;
    hash.update(`${mode} ${path}\0${content}\0`);
  }
  return hash.digest('hex').slice(0, 32);
}

export class PreparedSetups {
  readonly #root: string;
  #locks = new Map<string, Promise<unknown>>();
  /** False: every checkout installs (the baseline bench/real-package.ts measures against). */
  enabled = true;
  /** Setups run and setups copied in this process (the benchmarks report them). */
  readonly counts = { installed: 0, reused: 0, copyMs: 0 };

  /** `root`: a directory of the app's own, outside every checkout. */
  constructor(root: string) {
    this.#root = root;
  }

  #dir(missionId: number, key: string): string {
    return join(this.#root, String(missionId), key);
  }

  /** Runs `fn` alone for this key: two validators setting up at once install once, the second copies. */
  async exclusive<T>(missionId: number, key: string, fn: () => Promise<T>): Promise<T> {
    const id = `${missionId}/${key}`;
    const previous = this.#locks.get(id) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(fn);
    this.#locks.set(id, next);
    try {
      return await next;
    } finally {
      if (this.#locks.get(id) === next) this.#locks.delete(id);
    }
  }

  /** Copies a kept setup into `checkout`; false when there is none for the key. */
  async restore(missionId: number, key: string, checkout: string): Promise<boolean> {
    if (!this.enabled) return false;
    const tree = join(this.#dir(missionId, key), 'tree');
    if (!existsSync(tree)) return false;
    // Used: the newest to keep when older ones are dropped.
    const now = new Date();
    utimesSync(this.#dir(missionId, key), now, now);
    const started = performance.now();
    // --reflink=auto: a copy-on-write clone where the filesystem has them (btrfs, XFS), a copy elsewhere.
    await run('cp', ['-a', '--reflink=auto', '--', `${tree}/.`, checkout]);
    this.counts.copyMs += performance.now() - started;
    return true;
  }

  /**
   * Keeps what setup just made in `checkout` (a clean checkout of `commit` before it ran), when all
   * of it can move. Returns whether it was kept.
   */
  async capture(missionId: number, key: string, checkout: string, gitDir: string, commit: string): Promise<boolean> {
    if (!this.enabled) return false;
    const made = await madeBySetup(gitDir, commit, checkout);
    if (!made?.every(relocatable)) return false;
    const dir = this.#dir(missionId, key);
    const partial = `${dir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(join(partial, 'tree'), { recursive: true });
    for (const entry of made) {
      const path = entry.replace(/\/$/, '');
      mkdirSync(dirname(join(partial, 'tree', path)), { recursive: true });
      await run('cp', ['-a', '--reflink=auto', '--', join(checkout, path), join(partial, 'tree', path)]);
    }
    writeFileSync(join(partial, 'entries.json'), JSON.stringify(made));
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
    this.#prune(missionId);
    return true;
  }

  /** Drops all but the newest few snapshots of a mission. */
  #prune(missionId: number): void {
    const root = join(this.#root, String(missionId));
    const kept = readdirSync(root)
      .filter((name) => !name.endsWith('.partial'))
      .map((name) => ({ name, time: statSync(join(root, name)).mtimeMs }))
      .sort((a, b) => b.time - a.time);
    for (const old of kept.slice(KEPT)) rmSync(join(root, old.name), { recursive: true, force: true });
  }
}

/**
 * The paths in `checkout` that are not in `commit` (whole directories as `dir/`), or null when a file
 * of the commit was changed or removed. Read through the app's own git directory and a throwaway
 * index: the checkout's `.git` was writable by setup, and git run on it could be made to run code
 * (core.fsmonitor, hooks).
 */
async function madeBySetup(gitDir: string, commit: string, checkout: string): Promise<string[] | null> {
  const index = join(dirname(checkout), `.setup-index-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const git = plainGit(checkout).env({ ...gitEnv(), GIT_DIR: gitDir, GIT_WORK_TREE: checkout, GIT_INDEX_FILE: index });
  try {
    await git.raw(['read-tree', commit]);
    // The fresh index has no stat data: --refresh compares contents and records it for the files
    // that match, so what ls-files then calls modified (deleted included) really differs.
    await git.raw(['-c', 'core.bare=false', 'update-index', '-q', '--refresh']).catch(() => '');
    if ((await git.raw(['-c', 'core.bare=false', 'ls-files', '-z', '--modified'])).length) return null;
    const others = await git.raw(['-c', 'core.bare=false', 'ls-files', '-z', '--others', '--directory']);
    return others.split('\0').filter(Boolean);
  } finally {
    rmSync(index, { force: true });
  }
}
