// Setup once per mission and dependency state. The first checkout that runs `setup` for a key (the
// command and the content of the files it reads: setupKey) leaves behind a copy of what setup made;
// every later checkout of the mission with the same key (validators, replays, later rounds, a
// worker's fresh checkout) gets it instead of installing again. A validator's or a replay's sees it
// through overlays (overlay.ts): no copying, and what its commands write lands in layers of its own.
// A worker's (whose file tools work outside any sandbox), and every checkout where overlays do not
// work, gets a copy of its own: moved in from a spare made in the background, else copied then.
// Either way one checkout's writes (a test that writes into node_modules/.cache, a worker that edits
// a dependency) never reach another's.
//
// Only what can move between checkouts is kept: dependency trees that refer to themselves by
// relative paths (node_modules at any depth, Yarn's cache and Plug'n'Play files). A setup that changed
// a tracked file, or made anything else (a build in dist/, a Python virtualenv whose scripts name
// their own absolute path, a submodule), is not kept: it runs again in every checkout, as it always did.
//
// The copy is taken right after setup exits, before any agent runs in the checkout, and is only ever
// put where the fresh checkout has nothing. Kept setups live in the app's data directory, which
// sandboxes never see.
import { execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { gitAt } from './git.ts';
import { KeyedLock } from './keyed-lock.ts';
import { MAX_OVERLAYS, overlaysFor, overlaysWork, type Overlay } from './overlay.ts';
import { removeLater } from './remove.ts';
import { commandWords, hasInstallHook, installSignature, installWords, setupReads } from './repo-commands.ts';
import { blobText, treeEntries } from './repo-files.ts';

/** Kept setups per mission: the newest few dependency states (a round's head, the one before). */
const KEPT = 3;
/**
 * Spare copies of a kept setup made ahead, in the background, so a checkout is set up by a rename
 * rather than a copy: one for each validator of a round (replays, after them, take the next ones),
 * where overlays do not work. Where they do, none: only a worker's fresh checkout copies, and that is
 * its first feature's (nothing kept yet) or one after a crash.
 */
const SPARES = 2;
/** Manifests a key reads one by one at most (a monorepo of thousands keys on its whole tree). */
const MAX_MANIFESTS = 500;
/** Days after which the kept setups of a mission nothing used are dropped. */
const IDLE_DAYS = 7;
/** A copy that takes longer is stuck (a FIFO, a full disk): it is killed and the checkout installs. */
const COPY_TIMEOUT_MS = 10 * 60_000;

/** Untracked paths setup may leave that are the same wherever the checkout is. */
function relocatable(path: string): boolean {
  const clean = path.replace(/\/$/, '');
  if (clean.split('/').includes('node_modules')) return true;
  return ['.yarn', '.yarn/cache', '.yarn/unplugged', '.yarn/install-state.gz', '.yarn/build-state.yml', '.pnp.cjs', '.pnp.js', '.pnp.loader.mjs', '.pnp.data.json'].includes(clean);
}

/**
 * The key of what `command` installs on `commit`: the command, and every file it reads by content
 * (setupReads: manifests, lockfiles and their settings at any depth, patches, Yarn's release, files
 * and directories named by the command, local dependencies), a package.json by what decides an install
 * (installSignature), so a new `test` script keeps the key. An install hook (`postinstall`, `prepare`)
 * may read any file (a generator's schema, a module its script requires), so with one anywhere the
 * key is the whole tree: the setup is shared only by checkouts of the same commit (a round's
 * validators and replays).
 */
export async function setupKey(gitDir: string, commit: string, command: string): Promise<string> {
  const git = () => gitAt(undefined, { GIT_DIR: gitDir });
  const entries = treeEntries(await git().raw(['ls-tree', '-r', '-z', commit]));
  const hash = createHash('sha256').update(`${command}\0`);
  const wholeTree = async () => hash.update(`tree ${(await git().raw(['rev-parse', `${commit}^{tree}`])).trim()}`).digest('hex').slice(0, 32);
  const manifests = entries.filter((e) => e.name.split('/').pop() === 'package.json');
  // Past MAX_MANIFESTS, reading each would cost more than an install saves: the whole tree decides.
  if (manifests.length > MAX_MANIFESTS) return wholeTree();
  const words = commandWords(command);
  const signatures = new Map<string, string>();
  for (const { type, sha, name: path } of manifests) {
    // A manifest that is not a file (a submodule named package.json) or of megabytes is not read.
    const text = type === 'blob' ? await blobText(gitDir, sha, 1024 * 1024) : null;
    if (text === null || hasInstallHook(text)) return wholeTree();
    signatures.set(path, installSignature(text) ?? sha);
    const dir = path.slice(0, -'package.json'.length);
    // The scripts the setup command runs (`npm ci && npm run codegen`) count like install hooks.
    words.push(...installWords(text, dir, dir ? [] : commandWords(command)));
  }
  for (const { mode, sha, name: path } of entries) {
    if (setupReads(path, words)) hash.update(`${mode} ${path}\0${signatures.get(path) ?? sha}\0`);
  }
  return hash.digest('hex').slice(0, 32);
}

export class PreparedSetups {
  readonly #root: string;
  readonly #locks = new KeyedLock<string>();
  /** Spare copies being made, by kept setup; and the copying processes, which close() ends. */
  #making = new Map<string, Promise<void>>();
  #children = new Map<ChildProcess, string>();
  #closed = false;
  /** False: every checkout installs (the baseline bench/real-package.ts measures against). */
  enabled = true;
  /** False: every checkout gets a copy, as where overlays do not work (a benchmark's baseline, a test of that path). */
  overlays = true;
  /**
   * Setups run (counted by MissionBranch.setUp), setups reused (overlaid or copied) and the time
   * spent restoring them on the way of a step, in this process: the benchmarks report them.
   */
  readonly counts = { installed: 0, reused: 0, overlaid: 0, restoreMs: 0 };

  readonly #log: Logger | undefined;

  /** `root`: a directory of the app's own, outside every checkout. */
  constructor(root: string, log?: Logger) {
    this.#root = root;
    this.#log = log;
  }

  #dir(missionId: number, key: string): string {
    return join(this.#root, String(missionId), key);
  }

  /** Runs `fn` alone for this key: two validators setting up at once install once, the second reuses it. */
  exclusive<T>(missionId: number, key: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(`${missionId}/${key}`, fn);
  }

  /**
   * Gives `checkout` (a fresh checkout: nothing has run in it yet) a kept setup, returning the
   * overlays its commands must mount (none: it got a copy); null when there is none for the key, or
   * when the checkout's own files are where it would go (the commit tracks a path under node_modules,
   * or a directory on the way is a link: a copy written through a committed link would land outside
   * the checkout). `overlay` (a checkout only sandboxed commands write in): the kept trees are shown
   * through overlays where they work here. Otherwise a copy of its own: a spare made in the background
   * moved in (a rename: instant), else copied now.
   */
  async restore(missionId: number, key: string, checkout: string, options: { overlay?: boolean } = {}): Promise<Overlay[] | null> {
    if (!this.enabled) return null;
    const dir = this.#dir(missionId, key);
    const tree = join(dir, 'tree');
    const entries = readEntries(dir);
    if (!entries || !entries.every((path) => placeable(checkout, path, false))) return null;
    // Used: the newest to keep when older ones are dropped.
    const now = new Date();
    utimesSync(dir, now, now);
    const started = performance.now();
    const overlays = options.overlay ? this.#overlay(tree, checkout, entries) : null;
    if (!overlays) this.#moveSpare(dir, checkout, entries);
    // What no spare or overlay gave (none ready, a move that failed part way, a file entry) is copied from the tree.
    try {
      for (const path of entries) {
        if (lstatSync(join(checkout, path), { throwIfNoEntry: false })) continue;
        mkdirSync(dirname(join(checkout, path)), { recursive: true });
        await this.#copy(join(tree, path), join(checkout, path));
      }
    } catch (error) {
      // A full disk, a copy killed at its timeout: what was put in goes, and the checkout installs.
      this.#log?.warn({ err: error, checkout }, 'a kept setup could not be copied; the checkout runs setup instead');
      for (const path of entries) rmSync(join(checkout, path), { recursive: true, force: true });
      return null;
    }
    this.counts.restoreMs += performance.now() - started;
    this.counts.reused++;
    if (overlays) this.counts.overlaid++;
    else this.#replenish(dir);
    return overlays ?? [];
  }

  /**
   * The overlays that show each directory entry of a kept tree in `checkout` (file entries, Yarn's
   * `.pnp.cjs`, are left to be copied); null when overlays do not work here (or are turned off), the
   * entries are too many, or a path cannot be mounted: the caller copies.
   */
  #overlay(tree: string, checkout: string, entries: string[]): Overlay[] | null {
    const dirs = entries.filter((path) => lstatSync(join(tree, path), { throwIfNoEntry: false })?.isDirectory());
    if (!dirs.length || dirs.length > MAX_OVERLAYS || !this.#overlaysWork()) return null;
    return overlaysFor(tree, checkout, dirs);
  }

  #overlaysWork(): boolean {
    return this.overlays && overlaysWork(this.#root, this.#log);
  }

  /** Moves a spare copy's entries into `checkout`; the spare is claimed by a rename first, so two restores never share one. */
  #moveSpare(dir: string, checkout: string, entries: string[]): void {
    const spare = readdirSync(dir).find((name) => /^spare-\d+$/.test(name));
    if (!spare) return;
    const claimed = join(dir, `taken-${process.pid}-${Math.random().toString(36).slice(2)}`);
    try {
      renameSync(join(dir, spare), claimed);
    } catch {
      return this.#moveSpare(dir, checkout, entries); // another restore took it first
    }
    try {
      for (const path of entries) {
        mkdirSync(dirname(join(checkout, path)), { recursive: true });
        renameSync(join(claimed, path), join(checkout, path));
      }
    } catch {
      // restore() copies what was not moved.
    } finally {
      rmSync(claimed, { recursive: true, force: true });
    }
  }

  /** Makes spare copies of a kept setup in the background, one at a time, until there are enough (SPARES). */
  #replenish(dir: string): void {
    if (this.#closed || this.#making.has(dir)) return;
    const making = (async () => {
      // A half-made spare here is a dead process's (this one makes one at a time, below).
      for (const name of readdirSync(dir)) if (name.endsWith('.partial') || name.startsWith('taken-')) rmSync(join(dir, name), { recursive: true, force: true });
      for (let n = 0; !this.#closed && existsSync(join(dir, 'tree')); n++) {
        const spares = readdirSync(dir).filter((name) => /^spare-\d+$/.test(name));
        if (spares.length >= (this.#overlaysWork() ? 0 : SPARES)) return;
        const name = `spare-${Date.now()}${n}`;
        const partial = join(dir, `${name}.partial`);
        await this.#copy(join(dir, 'tree'), partial);
        if (this.#closed || !existsSync(dir)) return rmSync(partial, { recursive: true, force: true });
        renameSync(partial, join(dir, name));
      }
    })()
      // A spare that could not be made (the setup dropped meanwhile, a full disk) is copied when needed.
      .catch((error: unknown) => {
        if (!this.#closed && existsSync(join(dir, 'tree'))) this.#log?.warn({ err: error, dir }, 'a spare copy of a kept setup could not be made');
      })
      .finally(() => this.#making.delete(dir));
    this.#making.set(dir, making);
  }

  /** `cp -a` (links copied as links), killed by close() or after COPY_TIMEOUT_MS. */
  #copy(from: string, to: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = execFile('cp', ['-a', '--reflink=auto', '--', from, to], { timeout: COPY_TIMEOUT_MS, killSignal: 'SIGKILL' }, (error) => {
        this.#children.delete(child);
        if (error) reject(error);
        else resolve();
      });
      this.#children.set(child, to);
    });
  }

  /** Stops making spares (a copy under way is killed) and waits for it: the process is ending. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const child of this.#children.keys()) child.kill('SIGKILL');
    await Promise.all(this.#making.values());
  }

  /**
   * Keeps what setup just made in `checkout` (a clean checkout of `commit` before it ran), when all
   * of it can move. Returns whether it was kept.
   */
  async capture(missionId: number, key: string, checkout: string, gitDir: string, commit: string): Promise<boolean> {
    if (!this.enabled) return false;
    const made = (await madeBySetup(gitDir, commit, checkout))?.map((entry) => entry.replace(/\/$/, ''));
    // Every entry movable, and read from where git listed it (no link on the way out of the checkout).
    // Nothing made in the checkout is nothing to keep: the setup may have worked elsewhere (a HOME that
    // lasts when unsandboxed), so it runs again.
    if (!made?.length || !made.every((path) => relocatable(path) && placeable(checkout, path, true))) return false;
    const dir = this.#dir(missionId, key);
    const partial = `${dir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(join(partial, 'tree'), { recursive: true });
    for (const path of made) {
      mkdirSync(dirname(join(partial, 'tree', path)), { recursive: true });
      await this.#copy(join(checkout, path), join(partial, 'tree', path));
    }
    writeFileSync(join(partial, 'entries.json'), JSON.stringify(made));
    this.#remove(dir);
    renameSync(partial, dir);
    this.#prune(missionId);
    // Spares for the checkouts to come (the validators', where overlays do not work), made while the worker works.
    this.#replenish(dir);
    return true;
  }

  /**
   * Drops all but the newest few kept setups of a mission (half-made ones of a dead process too), and
   * every setup of a mission nothing used for IDLE_DAYS (one cancelled, or abandoned while paused).
   */
  #prune(missionId: number): void {
    const root = join(this.#root, String(missionId));
    const names = readdirSync(root);
    const stale = names.filter((name) => name.endsWith('.partial') && !this.#locks.held(`${missionId}/${name.slice(0, -'.partial'.length)}`));
    const keys = names
      .filter((name) => !name.endsWith('.partial'))
      .map((name) => ({ name, time: statSync(join(root, name)).mtimeMs }))
      .sort((a, b) => b.time - a.time);
    for (const name of [...stale, ...keys.slice(KEPT).map((k) => k.name)]) this.#remove(join(root, name));
    const idle = Date.now() - IDLE_DAYS * 86_400_000;
    for (const other of readdirSync(this.#root).filter((name) => /^\d+$/.test(name) && name !== String(missionId))) {
      const dir = join(this.#root, other);
      const used = Math.max(statSync(dir).mtimeMs, ...readdirSync(dir).map((name) => statSync(join(dir, name)).mtimeMs));
      if (used < idle) this.#remove(dir);
    }
  }

  /** Drops every kept setup of a mission (it is done): its disk space is not held for a reopening. */
  drop(missionId: number): void {
    this.#remove(join(this.#root, String(missionId)));
  }

  /**
   * Removes a directory of kept setups, first stopping any spare being copied into it; moved aside at
   * once into the root (out of every mission's listing), deleted in the background.
   */
  #remove(dir: string): void {
    for (const [child, to] of this.#children) if (to.startsWith(`${dir}/`)) child.kill('SIGKILL');
    removeLater(dir, { into: this.#root, log: this.#log });
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
  const git = gitAt(checkout, { GIT_DIR: gitDir, GIT_WORK_TREE: checkout, GIT_INDEX_FILE: index });
  try {
    await git.raw(['read-tree', commit]);
    // A submodule setup checked out is tracked (a gitlink), so nothing would list what it made there.
    if (/(^|\0)160000 /.test(await git.raw(['ls-files', '-z', '--stage']))) return null;
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

/** The entries a kept setup holds (paths relative to the checkout), or null when there is none. */
function readEntries(dir: string): string[] | null {
  try {
    const entries = JSON.parse(readFileSync(join(dir, 'entries.json'), 'utf8')) as unknown;
    return Array.isArray(entries) && entries.every((e) => typeof e === 'string' && e && !e.split('/').includes('..')) ? entries : null;
  } catch {
    return null;
  }
}

/**
 * Whether `path` in `checkout` is reached through real directories only (a missing one is made
 * later), and is there (`present`: a source to copy from) or not (a destination to copy to).
 */
function placeable(checkout: string, path: string, present: boolean): boolean {
  const parts = path.split('/');
  let current = checkout;
  for (const part of parts.slice(0, -1)) {
    current = join(current, part);
    const stat = lstatSync(current, { throwIfNoEntry: false });
    if (!stat) return !present;
    if (!stat.isDirectory()) return false;
  }
  return !!lstatSync(join(checkout, path), { throwIfNoEntry: false }) === present;
}
