// The mission branch: one commit per feature, stacked, pushed after each. The app makes each commit
// itself from what the worker left in the checkout, through a git directory of its own outside the
// checkout (the worker gets a separate repository in the checkout for its own use), and pushes from
// the repository cache: git never runs a hook, filter or config a worker could have written.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitFiles, fileAt, type FileAt, type RepoFiles } from './repo-files.ts';
import { setupKey } from './prepared.ts';
import { layersOf } from './overlay.ts';
import { removeLater } from './remove.ts';
import type { Sandbox } from './sandbox.ts';
import { CheckoutError, firstLine, type CheckoutRequest, type Workspaces } from './checkout.ts';
import { gitAt, networkGitEnv } from './git.ts';
import { containsSecret } from '../secrets.ts';

export interface GitIdentity {
  name: string;
  email: string;
}

export interface StackCommit {
  sha: string;
  featureId: string;
  subject: string;
}

export interface FeatureCommit {
  featureId: string;
  title: string;
  summary: string;
  assertionIds: string[];
}

export const FEATURE_TRAILER = 'Mission-Feature';
export const ASSERTIONS_TRAILER = 'Mission-Assertions';

/** `missions/<issue-number>-<slug>` (PRODUCT.md §1 step 5). */
export function branchName(issueNumber: number, title: string): string {
  const slug = title
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `missions/${issueNumber}-${slug || 'mission'}`;
}

export function commitMessage(feature: FeatureCommit): string {
  const trailers = [`${FEATURE_TRAILER}: ${feature.featureId}`];
  if (feature.assertionIds.length) trailers.push(`${ASSERTIONS_TRAILER}: ${feature.assertionIds.join(', ')}`);
  const body = feature.summary.trim();
  return `feat(${feature.featureId}): ${feature.title}\n\n${body ? `${body}\n\n` : ''}${trailers.join('\n')}\n`;
}

export class MissionBranch {
  readonly #workspaces: Workspaces;
  readonly #request: CheckoutRequest;
  readonly branch: string;
  readonly #keys = new Map<string, Promise<string>>();

  constructor(workspaces: Workspaces, request: CheckoutRequest, branch: string) {
    this.#workspaces = workspaces;
    this.#request = request;
    this.branch = branch;
  }

  get missionId(): number {
    return this.#request.missionId;
  }

  get dir(): string {
    return this.#workspaces.checkoutPath(this.#request.missionId);
  }

  get #cache(): string {
    return this.#workspaces.cachePath(this.#request.repoId);
  }

  /** Refreshes the cache; returns the default branch's newest commit (where a new branch starts). */
  async refresh(): Promise<string> {
    await this.#workspaces.refresh(this.#request);
    return (await gitAt(this.#cache).raw(['rev-parse', 'HEAD'])).trim();
  }

  /** The repository's files at a commit, read from the app's cache. */
  files(commit: string): RepoFiles {
    return commitFiles(this.#cache, commit);
  }

  /** What a commit holds at `path`, read from the app's cache. */
  fileAt(commit: string, path: string): Promise<FileAt> {
    return fileAt(this.#cache, commit, path);
  }

  /**
   * How the checkout of `sandbox` (fresh, at `commit`) is set up: from what an earlier checkout of
   * this mission installed with the same command and the same files it reads, or by running `install`
   * and keeping what it made. `overlay`: a checkout only sandboxed commands need dependencies in (a
   * validator's, a replay's), which may see the kept setup through overlays its sandbox mounts.
   */
  async setUp(sandbox: Sandbox, commit: string, command: string, install: () => Promise<void>, options: { overlay?: boolean } = {}): Promise<'reused' | 'installed'> {
    const { prepared } = this.#workspaces;
    const missionId = this.#request.missionId;
    const checkout = sandbox.checkout;
    const installed = async () => {
      await install();
      prepared.counts.installed++;
    };
    if (!prepared.enabled) {
      await installed();
      return 'installed';
    }
    // A key that cannot be made (a git error on a strange tree) means no reuse, never no setup.
    const key = await this.#setupKey(commit, command).catch(() => null);
    if (key === null) {
      await installed();
      return 'installed';
    }
    const restore = async () => {
      const overlays = await prepared.restore(missionId, key, checkout, { overlay: options.overlay && sandbox.usesBubblewrap });
      if (overlays) sandbox.mountForEachCommand(overlays);
      return overlays !== null;
    };
    // A kept setup is restored without waiting for others (the validators' run side by side);
    // without one, the first checkout installs and any other waiting on the key then restores it.
    if (await restore()) return 'reused';
    return prepared.exclusive(missionId, key, async () => {
      if (await restore()) return 'reused';
      await installed();
      // Not kept (a full disk, a git error): the next checkout installs too, as it always did.
      await prepared.capture(missionId, key, checkout, this.#cache, commit).catch(() => false);
      return 'installed';
    });
  }

  /** The setup key of a commit, read once per branch object (a round's checkouts all ask for the same one). */
  #setupKey(commit: string, command: string): Promise<string> {
    const id = `${commit}\0${command}`;
    if (!this.#keys.has(id)) this.#keys.set(id, setupKey(this.#cache, commit, command));
    return this.#keys.get(id)!;
  }

  /** The paths that differ between two commits. */
  async changedPaths(from: string, to: string): Promise<string[]> {
    const out = await gitAt(this.#cache).raw(['diff', '--name-only', '-z', '--no-renames', from, to]);
    return out.split('\0').filter(Boolean);
  }

  async diff(from: string, to: string): Promise<string> {
    return gitAt(this.#cache).raw(['diff', '--no-ext-diff', '--no-textconv', from, to]);
  }

  /**
   * A checkout of `commit` that nothing comes back from (a validator's, a replay's): a fresh clone
   * of the cache, detached. The cache is read-only inside the sandbox, so a push from it goes nowhere.
   */
  async throwaway(commit: string, name: string): Promise<string> {
    const dir = this.#workspaces.throwawayPath(this.#request.missionId, name);
    // What an earlier checkout of the name left goes first.
    this.discard(dir);
    mkdirSync(dir, { recursive: true });
    await gitAt().clone(this.#cache, dir, ['--shared', '--no-checkout']);
    await gitAt(dir).raw(['checkout', '--detach', commit]);
    return dir;
  }

  /** Removes a throwaway checkout and its overlay layers, in the background. */
  discard(dir: string): void {
    removeLater(dir, { log: this.#workspaces.log });
    removeLater(layersOf(dir), { log: this.#workspaces.log });
  }

  /** The pushed tip of the branch, or null before the first push. */
  async pushedTip(): Promise<string | null> {
    const out = await gitAt(this.#cache).raw(['for-each-ref', '--format=%(objectname)', `refs/heads/${this.branch}`]);
    return out.trim() || null;
  }

  /** The feature commits on the pushed branch since `base`, oldest first, read from their trailers. */
  async stack(base: string): Promise<StackCommit[]> {
    const tip = await this.pushedTip();
    if (!tip) return [];
    const out = await gitAt(this.#cache).raw(['log', '--reverse', `--format=%H%x1f%s%x1f%(trailers:key=${FEATURE_TRAILER},valueonly,separator=%x2c)%x1e`, `${base}..${tip}`]);
    return out
      .split('\x1e')
      .map((r) => r.trim())
      .filter(Boolean)
      .map((r) => {
        const [sha, subject, feature] = r.split('\x1f') as [string, string, string];
        return { sha, subject, featureId: feature.trim() };
      });
  }

  get #gitDir(): string {
    return this.#workspaces.gitDirPath(this.#request.missionId);
  }

  /** git on the checkout's files through the app's own git directory; nothing in the checkout configures it. */
  #appGit() {
    return gitAt(this.dir, { GIT_DIR: this.#gitDir, GIT_WORK_TREE: this.dir });
  }

  /**
   * A clean checkout of the branch as pushed (or of `base` before the first push), on which the
   * next feature is built. Whatever an interrupted run left is discarded; ignored files (installed
   * dependencies) stay, so `setup` need not run again. The checkout gets a fresh `.git` of its own
   * for the worker (history, diffs, its own commits); the app never runs git in it.
   */
  async checkoutTip(base: string, identity: GitIdentity): Promise<{ dir: string; head: string; fresh: boolean }> {
    const dir = this.dir;
    const fresh = !existsSync(join(this.#gitDir, 'HEAD')) || !existsSync(dir);
    if (fresh) {
      rmSync(this.#gitDir, { recursive: true, force: true });
      // Whatever a checkout without its git directory holds (a crash between the two) goes too: its
      // ignored files (a node_modules a worker changed) would otherwise be kept as a clean setup.
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      await gitAt().clone(this.#cache, this.#gitDir, ['--quiet', '--bare', '--shared']);
    }
    this.#trustConfig(identity);
    const git = this.#appGit();
    await git.raw(['fetch', '--quiet', '--prune', '--force', 'origin', '+refs/heads/*:refs/remotes/origin/*']);
    const target = (await this.pushedTip()) ?? base;
    // Whatever the worker made of its .git (a symlink, a commondir, hooks) goes; rmSync removes a link, not its target.
    rmSync(join(dir, '.git'), { recursive: true, force: true });
    await git.raw(['checkout', '--force', '-B', this.branch, target]);
    await git.raw(['clean', '-ffdq']);
    await this.#workerRepository(target);
    return { dir, head: target, fresh };
  }

  /** A new repository in the checkout at `target`, borrowing the cache's objects (readable in the sandbox). */
  async #workerRepository(target: string): Promise<void> {
    const workerGitDir = join(this.dir, '.git');
    const git = gitAt(this.dir, { GIT_DIR: workerGitDir, GIT_WORK_TREE: this.dir });
    // Fewer commands: each one starts a process (through the git helper).
    await git.raw(['init', `--initial-branch=${this.branch}`]);
    writeFileSync(join(workerGitDir, 'objects', 'info', 'alternates'), `${join(this.#cache, 'objects')}\n`);
    await git.raw(['reset', '--mixed', target]);
  }

  /**
   * Makes the feature's one commit on top of `base` from everything in the checkout: the worker's
   * changes, and so the content of any commits it made itself, folded into one. Returns its sha.
   */
  async commit(base: string, feature: FeatureCommit, identity: GitIdentity, secrets: string[]): Promise<string> {
    this.#trustConfig(identity);
    const git = this.#appGit();
    // The worker's own `.git` at the root stays out of the commit (git never adds one); repositories
    // it left further down are unnested, so their files are committed as files.
    await this.#unnestRepositories();
    await git.raw(['add', '--all']);
    await git.raw(['reset', '--quiet', '--soft', base]);
    // Every byte as text: binary files, -diff attributes and textconv cannot hide a secret.
    const staged = await git.raw(['diff', '--cached', '--text', '--no-textconv', '--no-ext-diff', base]);
    const message = commitMessage(feature);
    // In any encoding a worker might use to get it past a plain search (base64, hex, spread out).
    if (containsSecret(staged, secrets) || containsSecret(message, secrets)) {
      await git.raw(['reset', '--quiet', '--mixed', base]);
      throw new SecretInCommit();
    }
    // The message as an argument (no file anyone else could write); whitespace cleanup keeps lines starting with #.
    await git.raw(['commit', '--allow-empty', '--no-verify', '--cleanup=whitespace', '-m', message]);
    return (await git.raw(['rev-parse', 'HEAD'])).trim();
  }

  /**
   * A git repository the worker left inside the checkout (a clone, a `git init`) would be committed
   * as a bare gitlink, and its files would silently vanish from the branch. Its `.git` goes, so its
   * files are committed as files; repeated, since a repository can hold another. Submodules the
   * repository declares are tracked paths, not listed here, and stay as they are.
   */
  async #unnestRepositories(): Promise<void> {
    const git = this.#appGit();
    for (let depth = 0; depth < 50; depth++) {
      const nested = (await git.raw(['ls-files', '-z', '--others', '--exclude-standard'])).split('\0').filter((p) => p.endsWith('/'));
      if (!nested.length) return;
      // rmSync removes a link named .git, never what it points at.
      for (const path of nested) rmSync(join(this.dir, path, '.git'), { recursive: true, force: true });
    }
    throw new CheckoutError('the checkout holds git repositories nested more than 50 deep; nothing was committed');
  }

  /**
   * Pushes the feature's commit as the branch: its objects into the cache, then from the cache to
   * GitHub, fast-forward only. Under the cache's lock, so another mission's refresh of the same
   * repository cannot move refs in between.
   */
  async push(sha: string): Promise<void> {
    await this.#workspaces.withLock(this.#request.repoId, () => this.#push(sha));
  }

  async #push(sha: string): Promise<void> {
    const cache = gitAt(this.#cache);
    await cache.raw(['fetch', '--quiet', this.#gitDir, `+refs/heads/${this.branch}:refs/missions-push/${this.#request.missionId}`]);
    try {
      // GitHub answering 502 (or a connection dropping) is not a refusal: the committed feature is
      // pushed again rather than thrown away with the step.
      for (let attempt = 1; ; attempt++) {
        try {
          await gitAt(this.#cache, networkGitEnv(this.#request.token, this.#workspaces.stallSeconds)).raw(['push', 'origin', `${sha}:refs/heads/${this.branch}`]);
          break;
        } catch (error) {
          if (attempt >= PUSH_ATTEMPTS || !transientPushError(error)) throw error;
          await new Promise((resolve) => setTimeout(resolve, PUSH_RETRY_MS * 4 ** (attempt - 1)));
        }
      }
      // The cache now knows the pushed tip, as a refresh would have fetched it.
      await cache.raw(['update-ref', `refs/heads/${this.branch}`, sha]);
    } catch (error) {
      // GitHub's reason is on the rejected ref's line (a workflow file without the workflows
      // permission, someone else's commit on the branch); git's own summary line says less.
      const text = error instanceof Error ? error.message : String(error);
      const rejected = text.split('\n').find((l) => /\[(remote )?rejected\]/.test(l));
      throw new CheckoutError(`could not push ${this.branch}: ${rejected ? rejected.replace(/^\s*!\s*/, '').trim() : firstLine(error)}`);
    }
  }

  /** The app's git config for the build: written by the app, every time, with no hooks or filters. */
  #trustConfig(identity: GitIdentity): void {
    const quote = (v: string) => `"${v.replace(/["\\]/g, '\\$&')}"`;
    writeFileSync(
      join(this.#gitDir, 'config'),
      [
        '[core]',
        '\trepositoryformatversion = 0',
        '\tfilemode = true',
        '\tbare = false',
        '\thooksPath = /dev/null',
        '\tfsmonitor = false',
        '[remote "origin"]',
        `\turl = ${quote(this.#cache)}`,
        '\tfetch = +refs/heads/*:refs/remotes/origin/*',
        '[user]',
        `\tname = ${quote(identity.name)}`,
        `\temail = ${quote(identity.email)}`,
        '[commit]',
        '\tgpgsign = false',
        '',
      ].join('\n'),
    );
  }
}

/** Pushes tried before a transient failure stops the step, and the first wait between them (×4 each time). */
const PUSH_ATTEMPTS = 4;
const PUSH_RETRY_MS = 1_000;

/** A push failure worth trying again: the server or the connection, not a refusal of the change. */
function transientPushError(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  if (/\[(remote )?rejected\]/.test(text)) return false;
  // "Operation too slow": the stall limit (networkGitEnv) cut off a remote that stopped answering.
  return /\b(50[0-4]|429)\b|RPC failed|early EOF|Connection (reset|refused|timed out)|timed out|Operation too slow|Could not resolve host|unexpected disconnect|the remote end hung up/i.test(text);
}

/** Something secret was found in what the worker left; nothing was committed. */
export class SecretInCommit extends Error {
  constructor() {
    super("the feature's changes contain one of the app's secrets; nothing was committed or pushed");
    this.name = 'SecretInCommit';
  }
}
