// Where agent commands run. With bubblewrap: the checkout writable, the rest of the filesystem
// read-only, the app's own files (data dir, working directory, home, private key) hidden, a private
// /tmp, its own PID namespace (so a timeout kills the whole tree) and no network unless allowed.
// Every command gets hard limits (memory, file size, processes) and an environment built from an
// allow-list, never the app's. Without bubblewrap nothing runs unless the operator opted in
// (MISSIONS_UNSANDBOXED=1) or the caller chose it (the sandbox's own tests).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { withOverlays, type Overlay } from './overlay.ts';

export interface CommandResult {
  exitCode: number | null;
  output: string;
  timedOut: boolean;
  truncated: boolean;
}

export interface RunOptions {
  timeoutMs: number;
  /** May the command reach the network (agents per `sandbox.network`; setup per setupMayUseNetwork). */
  network: boolean;
  /** Kills the command (and its children) when aborted: a stopped run does not wait for it. */
  signal?: AbortSignal;
}

const OUTPUT_LIMIT = 100 * 1024;

/**
 * Resource limits on every command, set as hard rlimits before it starts: memory (RLIMIT_DATA: heap
 * and anonymous mappings), file size (RLIMIT_FSIZE) and processes (RLIMIT_NPROC; the kernel does not
 * hold root to it, so it binds only when the app runs as another user). Time is the timeout.
 */
export interface SandboxLimits {
  memoryMb: number;
  fileMb: number;
  processes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = { memoryMb: 4096, fileMb: 1024, processes: 512 };

let detected: boolean | undefined;

/** Whether bubblewrap is installed and can make namespaces here; checked once per process. */
export function hasBubblewrap(): boolean {
  detected ??= spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-net', '--unshare-pid', '--dev', '/dev', '--proc', '/proc', 'true'], { stdio: 'ignore' }).status === 0;
  return detected;
}

let warned = false;

export class Sandbox {
  readonly checkout: string;
  readonly #hidden: string[];
  readonly #readOnly: string[];
  readonly #bubblewrap: boolean;
  readonly #limits: SandboxLimits;
  /** Mounted for every command where the checkout's kept dependency trees belong (overlay.ts). */
  #overlays: Overlay[] = [];
  /**
   * The command running, while there are overlays: their layers take one mount at a time (a second
   * on the same upper layer breaks the first's writes), so commands wait their turn (the SDK runs an
   * agent's tool calls side by side).
   */
  #running: Promise<unknown> = Promise.resolve();

  /**
   * `hide`: paths the command must not see (the app's data directory, its key file); the app's
   * working directory and home are always hidden. `readOnly`: paths inside hidden ones it may read
   * (the repository cache the checkout borrows its objects from).
   */
  constructor(checkout: string, options: { hide?: string[]; readOnly?: string[]; log: Logger; bubblewrap?: boolean; limits?: Partial<SandboxLimits> }) {
    this.checkout = resolve(checkout);
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#bubblewrap = options.bubblewrap ?? hasBubblewrap();
    // Without bubblewrap only when the operator said so (MISSIONS_UNSANDBOXED=1; start-up refuses
    // otherwise) or a caller chose it explicitly (the sandbox's own tests).
    if (!this.#bubblewrap && options.bubblewrap === undefined && process.env.MISSIONS_UNSANDBOXED !== '1') {
      throw new Error('bubblewrap (bwrap) cannot make a sandbox here, and MISSIONS_UNSANDBOXED is not 1: agent commands are not run.');
    }
    if (!this.#bubblewrap && !warned) {
      warned = true;
      options.log.warn(
        'bubblewrap (bwrap) is not available: agent commands run with a scrubbed environment but can read the filesystem, other processes and the network (MISSIONS_UNSANDBOXED=1).',
      );
    }
    // Besides what the caller names: the app's working directory (.env files), every home, runtime
    // state (/run: sockets, mounted secrets) and the key file.
    const hide = [
      ...(options.hide ?? []),
      process.cwd(),
      homedir(),
      '/home',
      '/root',
      '/run',
      '/var/run/secrets',
      ...(process.env.PRIVATE_KEY_PATH ? [process.env.PRIVATE_KEY_PATH] : []),
    ];
    // A hidden directory that holds the checkout is still hidden: the checkout is mounted after it.
    this.#hidden = [...new Set(hide.map((p) => resolve(p)))].filter((p) => p !== '/' && existsSync(p)).sort((a, b) => a.length - b.length);
    // With /run hidden, a resolv.conf that links into it (systemd-resolved) is shown again, read-only.
    const resolver = existsSync('/etc/resolv.conf') ? realpathSync('/etc/resolv.conf') : '';
    this.#readOnly = [...(options.readOnly ?? []), ...(resolver.startsWith('/run/') ? [resolver] : [])].map((p) => resolve(p)).filter((p) => existsSync(p));
  }

  /** Whether commands run under bubblewrap: only then can kept dependency trees be overlaid. */
  get usesBubblewrap(): boolean {
    return this.#bubblewrap;
  }

  /** Whether every command mounts overlays (a checkout set up from a kept setup at no copying cost). */
  get overlaid(): boolean {
    return this.#overlays.length > 0;
  }

  /**
   * Mounts `overlays` for every later command: writes under their targets land in their own layers.
   * Refused without bubblewrap, where commands would see no overlay.
   */
  mountForEachCommand(overlays: Overlay[]): void {
    if (overlays.length && !this.#bubblewrap) throw new Error('overlays need bubblewrap to be mounted');
    this.#overlays = [...overlays];
  }

  /** The environment a command sees: an allow-list, nothing inherited. */
  env(): Record<string, string> {
    const scratch = this.#bubblewrap ? '/tmp' : join(dirname(this.checkout), 'scratch');
    return {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: join(scratch, 'home'),
      TMPDIR: scratch,
      LANG: 'C.UTF-8',
      TERM: 'dumb',
      CI: 'true',
    };
  }

  run(command: string, options: RunOptions): Promise<CommandResult> {
    if (!this.#overlays.length) return this.#run(command, options);
    const run = this.#running.then(() => (options.signal?.aborted ? { exitCode: null, output: 'stopped before it started', timedOut: false, truncated: false } : this.#run(command, options)));
    this.#running = run.catch(() => {});
    return run;
  }

  #run(command: string, options: RunOptions): Promise<CommandResult> {
    const env = this.env();
    // The limits are set by a first shell (hard, so the command cannot raise them), which then
    // becomes the command's shell; the command is its argument, never spliced into its text.
    const { memoryMb, fileMb, processes } = this.#limits;
    const limited = ['/bin/bash', '--noprofile', '--norc', '-c', `ulimit -H -S -d ${memoryMb * 1024} -f ${fileMb * 1024} -u ${processes} && exec /bin/bash --noprofile --norc -c "$1"`, 'sandbox', command];
    const [file, args] =
      !this.#bubblewrap ? [limited[0]!, limited.slice(1)]
      : this.#overlays.length ? withOverlays(this.#overlays, [...this.#bubblewrapArgs(options, env), ...limited])
      : ['bwrap', [...this.#bubblewrapArgs(options, env), ...limited]];
    if (!this.#bubblewrap) {
      mkdirSync(env.HOME!, { recursive: true });
    }
    return new Promise((resolvePromise) => {
      let child: ReturnType<typeof spawn>;
      try {
        child = spawn(file, args as string[], { cwd: this.checkout, env: this.#bubblewrap ? {} : env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      } catch (error) {
        // Thrown, not emitted, for a command too long for the kernel (E2BIG): the command's failure, not the step's.
        return resolvePromise({ exitCode: null, output: String(error), timedOut: false, truncated: false });
      }
      let output = '';
      let truncated = false;
      let timedOut = false;
      const append = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.length > OUTPUT_LIMIT) {
          output = output.slice(output.length - OUTPUT_LIMIT);
          truncated = true;
        }
      };
      child.stdout!.on('data', append);
      child.stderr!.on('data', append);
      const kill = () => {
        // The process group; under bubblewrap the PID namespace dies with it, children included.
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, options.timeoutMs);
      if (options.signal?.aborted) kill();
      options.signal?.addEventListener('abort', kill, { once: true });
      child.on('close', (code) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', kill);
        resolvePromise({ exitCode: code, output: truncated ? `[output truncated]\n${output}` : output, timedOut, truncated });
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', kill);
        resolvePromise({ exitCode: null, output: String(error), timedOut, truncated });
      });
    });
  }

  #bubblewrapArgs(options: RunOptions, env: Record<string, string>): string[] {
    // No capability, even when the app runs as root (bubblewrap would keep root's: a command could
    // then unmount what hides the app's data directory).
    const args = ['--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try'];
    if (!options.network) args.push('--unshare-net');
    // /tmp is memory (tmpfs): sized, or a command could fill the host's memory past its own limits.
    args.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--size', String(this.#limits.fileMb * 1024 * 1024), '--tmpfs', '/tmp');
    for (const path of this.#hidden) {
      if (statSync(path).isDirectory()) args.push('--tmpfs', path);
      else args.push('--ro-bind', '/dev/null', path);
    }
    for (const path of this.#readOnly) args.push('--ro-bind', path, path);
    args.push('--bind', this.checkout, this.checkout, '--dir', env.HOME!);
    // Hidden directories stay empty and read-only around the mounts made inside them.
    for (const path of this.#hidden) if (statSync(path).isDirectory()) args.push('--remount-ro', path);
    args.push('--chdir', this.checkout, '--clearenv');
    for (const [key, value] of Object.entries(env)) args.push('--setenv', key, value);
    args.push('--');
    return args;
  }
}
