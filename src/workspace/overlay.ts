// A kept dependency tree shown to a sandbox without copying it: every sandboxed command of the
// checkout runs with an overlay mounted where the tree belongs (node_modules), its lower layer the
// kept tree itself, so what the command writes there lands in a directory of the checkout's own (the
// upper layer) and never in the shared files (the kernel copies a file up before its first write).
// The mounts are made in a user and mount namespace of the command's own (util-linux `unshare`),
// which then runs bubblewrap as before; they vanish with it.
//
// Outside the sandbox the directory is empty: nothing of the kept tree is in the checkout, so no
// command can reach it by moving a directory out from under its mount, and the app's own file tools
// (which run outside every mount) see no dependencies. A role whose file tools must (the worker, who
// also writes with them) gets a copy instead (prepared.ts).
//
// Needs what bubblewrap needs (user namespaces) plus overlayfs in them (Linux 5.11 and later) on the
// data directory's filesystem; probed once per process, and without it kept setups are copied.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { removeTree } from './remove.ts';

/** One directory of a checkout shown through an overlay: a kept tree below, `upper` and `work` its own. */
export interface Overlay {
  /** The kept tree, read-only to the command. */
  lower: string;
  /** Where it is mounted: the directory in the checkout. */
  target: string;
  upper: string;
  work: string;
}

/**
 * Beyond this many directories (a monorepo's node_modules by the hundred) a setup is copied instead:
 * every command mounts each one, a few milliseconds apiece.
 */
export const MAX_OVERLAYS = 64;

/**
 * Paths the mount options carry as they are (they separate options with `,` and layers with `:`). The
 * leading `/` also keeps a path from being taken for the `--` that ends the mount script's arguments.
 */
const PLAIN_PATH = /^\/[\w./@+-]*$/;

function mountable(o: Overlay): boolean {
  return [o.lower, o.target, o.upper, o.work].every((path) => PLAIN_PATH.test(path));
}

/** Where a checkout's overlay layers live: beside it, in a directory its sandbox never sees. */
export function layersOf(checkout: string): string {
  return join(dirname(checkout), `.layers-${basename(checkout)}`);
}

/**
 * The overlays that show each of `dirs` (paths in a kept `tree`) at the same path in `checkout`, with
 * their layers made (any earlier ones removed) and the empty directories to mount on; null when one
 * cannot be mounted (a path the options cannot carry).
 */
export function overlaysFor(tree: string, checkout: string, dirs: string[]): Overlay[] | null {
  const layers = layersOf(checkout);
  // The target as the mount script checks it: without a link on the way (a data directory reached through one).
  mkdirSync(checkout, { recursive: true });
  const real = realpathSync(checkout);
  const overlays = dirs.map((path, i) => ({ lower: join(tree, path), target: join(real, path), upper: join(layers, String(i), 'upper'), work: join(layers, String(i), 'work') }));
  if (!overlays.every(mountable)) return null;
  removeTree(layers);
  for (const o of overlays) for (const path of [o.upper, o.work, o.target]) mkdirSync(path, { recursive: true });
  return overlays;
}

/**
 * The command that runs bubblewrap with `args` with each overlay mounted first. A mount that fails
 * fails the command, so nothing runs without its overlays; so does a target that is no longer where
 * it was made (a command moved its parent, or put a link on the way): the mount would land elsewhere.
 * Bubblewrap gets a user namespace of its own, as the app's user, with no capability: the mounts
 * reach it locked, so no command can take one down. The paths are arguments of the shell, never
 * spliced into its text.
 */
export function withOverlays(overlays: Overlay[], args: string[]): [string, string[]] {
  if (!overlays.every(mountable)) {
    throw new Error('an overlay path holds a character mount options cannot carry');
  }
  const script = [
    'set -e',
    'while [ "$1" != "--" ]; do',
    '  if [ "$(realpath -e -- "$4")" != "$4" ]; then echo "missions: $4 was moved; the checkout cannot be used" >&2; exit 125; fi',
    '  mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3,userxattr" "$4"',
    '  shift 4',
    'done',
    'shift',
    'exec "$@"',
  ].join('\n');
  const mounts = overlays.flatMap((o) => [o.lower, o.upper, o.work, o.target]);
  const identity = ['--unshare-user', '--uid', String(process.getuid?.() ?? 0), '--gid', String(process.getgid?.() ?? 0), '--cap-drop', 'ALL'];
  return ['unshare', ['--user', '--map-root-user', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'overlays', ...mounts, '--', 'bwrap', ...identity, ...args]];
}

let probed: boolean | undefined;

/**
 * Whether overlays work here, on `scratch`'s filesystem (where checkouts and kept setups live): a
 * write, a new file and a deletion through one must land in the upper layer and leave the kept files
 * as they were. Once per process; the answer is logged.
 */
export function overlaysWork(scratch: string, log?: Logger): boolean {
  if (probed !== undefined) return probed;
  mkdirSync(scratch, { recursive: true });
  const dir = mkdtempSync(join(scratch, '.overlay-probe-'));
  try {
    const lower = join(dir, 'lower');
    mkdirSync(lower);
    writeFileSync(join(lower, 'file'), 'kept\n');
    writeFileSync(join(lower, 'gone'), 'kept\n');
    const [o] = overlaysFor(lower, join(dir, 'checkout'), ['.'])!;
    const sandbox = ['--ro-bind', '/', '/', '--bind', dir, dir, '--dev', '/dev', '--proc', '/proc', '--unshare-pid', '--unshare-net'];
    const command = ['--', '/bin/sh', '-c', 'echo written > "$1"/file && echo made > "$1"/new && rm "$1"/gone', 'probe', o!.target];
    const [file, args] = withOverlays([o!], [...sandbox, ...command]);
    const run = spawnSync(file, args, { stdio: 'ignore', timeout: 10_000 });
    probed =
      run.status === 0 &&
      readFileSync(join(lower, 'file'), 'utf8') === 'kept\n' &&
      existsSync(join(lower, 'gone')) &&
      readFileSync(join(o!.upper, 'file'), 'utf8') === 'written\n' &&
      existsSync(join(o!.upper, 'new'));
  } catch {
    probed = false;
  } finally {
    removeTree(dir);
  }
  log?.info(
    probed ?
      'validators and replays see kept setups through overlays'
    : 'overlays do not work here (they need user namespaces, overlayfs in them and `unshare`): validators and replays get copies of kept setups',
  );
  return probed;
}
