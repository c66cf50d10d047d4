// Reading a repository's own files into a prompt (AGENTS.md, skills) without following links: a
// committed symlink to /proc/self/environ must not put the app's environment in front of a model.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import { gitAt } from './git.ts';

export interface RepoFiles {
  /** A regular file's text, or null when it is absent, a link, a directory or outside the repository. */
  read(path: string): Promise<string | null>;
  /** The names of the regular files directly in a directory (no links). */
  list(dir: string): Promise<string[]>;
}

const MAX_BYTES = 256 * 1024;

/**
 * A regular file's text under `root`, or null when it is absent, a link (at any component), not a
 * regular file (a FIFO, a device) or larger than `maxBytes`. Checked again on the open descriptor,
 * opened non-blocking, and read at most `maxBytes` + 1 bytes: a file swapped for `/dev/zero` or a
 * FIFO between the check and the read can neither block nor fill the process.
 */
export function readRegularFile(root: string, path: string, maxBytes = MAX_BYTES): string | null {
  const full = insideRoot(root, path);
  if (!full) return null;
  const stat = lstatSync(full, { throwIfNoEntry: false });
  if (!stat?.isFile() || stat.size > maxBytes) return null;
  let fd: number;
  try {
    fd = openSync(full, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile() || opened.size > maxBytes) return null;
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let n; length < buffer.length && (n = readSync(fd, buffer, length, buffer.length - length, null)) > 0; ) length += n;
    return length > maxBytes ? null : buffer.subarray(0, length).toString('utf8');
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Whether `path` under `root` is a regular file (no link on the way), without reading it. */
export function isRegularFile(root: string, path: string): boolean {
  const full = insideRoot(root, path);
  return !!full && !!lstatSync(full, { throwIfNoEntry: false })?.isFile();
}

/** `path` under `root` when every directory on the way is a real directory (no link), else null. */
function insideRoot(root: string, path: string): string | null {
  const rel = normalize(path);
  if (rel.startsWith('..') || rel.startsWith(sep)) return null;
  let current = root;
  for (const part of rel.split(sep).slice(0, -1)) {
    current = join(current, part);
    const stat = lstatSync(current, { throwIfNoEntry: false });
    if (!stat?.isDirectory()) return null;
  }
  return join(root, rel);
}

/** Files in a checkout on disk: every path component must be a real directory, the file a regular file. */
export function checkoutFiles(root: string): RepoFiles {
  return {
    async read(path) {
      return readRegularFile(root, path);
    },
    async list(dir) {
      if (!insideRoot(root, join(dir, 'x'))) return [];
      const directory = join(root, normalize(dir));
      if (!lstatSync(directory, { throwIfNoEntry: false })?.isDirectory()) return [];
      return readdirSync(directory, { withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name);
    },
  };
}

/** What a commit holds at a path: nothing, a regular file of at most MAX_BYTES (its text), or something else (a directory, a link, a submodule, a larger file). */
export type FileAt = { kind: 'absent' } | { kind: 'file'; text: string } | { kind: 'other' };

/** `ls-tree` of `path` in `commit`: one remembered answer for fileAt and commitFiles. */
function listing(gitDir: string, commit: string, path: string): Promise<string> {
  return remembered(gitDir, commit, `ls ${path}`, () => gitAt(undefined, { GIT_DIR: gitDir }).raw(['ls-tree', '-z', commit, '--', path]), LISTING);
}

/** What `commit` holds at `path`, in a git directory the app owns. */
export async function fileAt(gitDir: string, commit: string, path: string): Promise<FileAt> {
  const entry = treeEntries(await listing(gitDir, commit, path)).find((e) => e.name === path);
  if (!entry) return { kind: 'absent' };
  if (entry.type !== 'blob' || !['100644', '100755'].includes(entry.mode)) return { kind: 'other' };
  const text = await blobText(gitDir, entry.sha);
  return text === null ? { kind: 'other' } : { kind: 'file', text };
}

/** A blob's text, or null when it is larger than `maxBytes` (the size first: a worker's commit may hold gigabytes). */
export async function blobText(gitDir: string, sha: string, maxBytes = MAX_BYTES): Promise<string | null> {
  const git = () => gitAt(undefined, { GIT_DIR: gitDir });
  const size = Number((await remembered(gitDir, sha, 'size', () => git().raw(['cat-file', '-s', sha]), (out) => /^\d+\n?$/.test(out))).trim());
  if (size > maxBytes) return null;
  const blob = () => git().raw(['cat-file', 'blob', sha]);
  return size > REMEMBERED_BYTES ? blob() : remembered(gitDir, sha, 'blob', blob, (text) => Buffer.byteLength(text) === size);
}

/**
 * Answers of git about objects named by their hash, which never change: every step of a mission reads
 * its base's skills and its default branch's config again, and each git command costs a process
 * started (through the git helper, git.ts), where a remembered answer costs nothing.
 */
const answers = new Map<string, Promise<string>>();
/** Answers kept at most (the oldest go first); each of at most REMEMBERED_BYTES. */
const ANSWERS = 256;
const REMEMBERED_BYTES = 64 * 1024;
/** A whole `ls-tree -z` answer: nothing, or entries each ended by a NUL (a git killed part way answers less). */
const LISTING = (out: string) => out === '' || out.endsWith('\0');

/**
 * `ask()`'s answer about `object` (a hash: anything else is asked every time), once per process. One
 * that failed, is not `whole`, or is larger than REMEMBERED_BYTES is not kept.
 */
function remembered(gitDir: string, object: string, what: string, ask: () => Promise<string>, whole: (answer: string) => boolean): Promise<string> {
  if (!/^[0-9a-f]{40}$/.test(object)) return ask();
  const key = `${gitDir}\0${object}\0${what}`;
  const known = answers.get(key);
  if (known) return known;
  const answer = ask();
  answers.set(key, answer);
  const forget = () => answers.get(key) === answer && answers.delete(key);
  answer.then((text) => (text.length > REMEMBERED_BYTES || !whole(text)) && forget(), forget);
  if (answers.size > ANSWERS) answers.delete(answers.keys().next().value!);
  return answer;
}

/** `git ls-tree -z` output as entries; a name is everything after the first tab (a path may hold tabs). */
export function treeEntries(out: string) {
  return out
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t');
      const [mode, type, sha] = line.slice(0, tab).split(' ') as [string, string, string];
      return { mode, type, sha, name: line.slice(tab + 1) };
    });
}

/** Files of one commit in a git directory the app owns: regular blobs only (a link is its text, never followed). */
export function commitFiles(gitDir: string, commit: string): RepoFiles {
  const entries = async (path: string) => treeEntries(await listing(gitDir, commit, path).catch(() => ''));
  return {
    async read(path) {
      const [entry] = await entries(path);
      if (!entry || entry.type !== 'blob' || !['100644', '100755'].includes(entry.mode)) return null;
      return blobText(gitDir, entry.sha);
    },
    async list(dir) {
      const found = await entries(`${dir.replace(/\/+$/, '')}/`);
      return found.filter((e) => e.type === 'blob' && ['100644', '100755'].includes(e.mode)).map((e) => e.name.split('/').pop()!);
    },
  };
}
