// Removing directories a sandboxed command wrote in. A command may leave directories it cannot be
// listed or emptied (`chmod 000 dir`), or nested deeper than a path can name, and an overlay's work
// directory is left unreadable by the kernel: as anyone but root, a plain recursive removal then
// fails, and the next checkout of that name with it.
import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';

/** This process among others that used the same directories before it (a restarted container gets the same pid). */
const PROCESS = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
const ASIDE = '.removing-';
/** What earlier versions moved aside in the kept setups' directory (prepared.ts) before deleting. */
const LEGACY_ASIDE = '.deleting-';
/** Leftovers of dead processes this process is deleting: each once. */
const sweeping = new Set<string>();

/** `sh -c` removing "$1": plainly, else after giving its owner back every directory (GNU chmod follows no link). */
const REMOVE = 'rm -rf -- "$1" 2>/dev/null || { chmod -R u+rwx -- "$1"; rm -rf -- "$1"; }';

/** Removes `path` and everything under it, through REMOVE when Node's removal fails (a locked or too deep directory). */
export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    execFileSync('sh', ['-c', REMOVE, 'remove', path], { stdio: 'ignore' });
  }
}

/**
 * Moves `path` aside at once (a rename, into `into`: by default beside it) and removes it in the
 * background: a checkout's thousands of dependency files must not hold up the step that makes the
 * next one. What a process that died left aside there is removed too.
 */
export function removeLater(path: string, options: { into?: string; log?: Logger } = {}): void {
  // Disk not freed is no reason to fail the step that asked (a round's replayed verdicts, a finished
  // mission): said in the log instead. A checkout made again at this path then fails on its own.
  try {
    moveAsideAndRemove(path, options);
  } catch (error) {
    options.log?.warn({ err: error, path }, 'a directory could not be removed');
  }
}

function moveAsideAndRemove(path: string, options: { into?: string; log?: Logger }): void {
  const into = options.into ?? dirname(path);
  const aside = join(into, `${ASIDE}${PROCESS}-${basename(path)}-${Math.random().toString(36).slice(2)}`);
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') removeTree(path);
    return;
  }
  const leftovers = readdirSync(into)
    .filter((name) => (name.startsWith(ASIDE) || name.startsWith(LEGACY_ASIDE)) && !name.startsWith(`${ASIDE}${PROCESS}-`))
    .map((name) => join(into, name))
    .filter((path) => !sweeping.has(path));
  for (const path of [aside, ...leftovers]) {
    sweeping.add(path);
    execFile('sh', ['-c', REMOVE, 'remove', path], (error) => {
      sweeping.delete(path);
      if (error) options.log?.warn({ err: error, path }, 'a removed directory could not be deleted');
    });
  }
}
