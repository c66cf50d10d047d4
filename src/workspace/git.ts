// Every git command the app runs, run by a helper process (git-spawner.ts) rather than spawned from
// the app's own. Node starts a process by forking the whole app, the embedded database's memory map
// included, and holds the event loop until the child has started git: 14–28 ms a command on a 2-core
// machine, against under 0.5 ms to hand the command to the helper, whose own fork is small (a
// `rev-parse` took 18.5–38.7 ms from the app against 8.9–10.7 ms through the helper). A build step
// runs about twenty. simple-git, used before, cannot take another spawner; the app's git calls are
// plain argument lists with every option its own, so the helper runs them as they are, with no shell.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
 * The environment of git talking to GitHub: the installation token in a header (never in a URL, a
 * file or a log line), and a transfer that stalls (a remote that takes the connection and stops
 * answering) aborted once it has moved less than 1 kB a second for `stallSeconds`, rather than
 * holding the step until its job expires hours later. A push so aborted is tried again like any
 * other dropped connection.
 */
export function networkGitEnv(token: string | undefined, stallSeconds: number): Record<string, string> {
  const config: [string, string][] = [
    ['http.lowSpeedLimit', '1000'],
    ['http.lowSpeedTime', String(stallSeconds)],
  ];
  if (token) config.push(['http.extraHeader', `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`]);
  const env = gitEnv();
  env.GIT_CONFIG_COUNT = String(config.length);
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/** A git command that failed: its output (stdout, then stderr) is the message, as git wrote it. */
export class GitError extends Error {
  readonly exitCode: number | null;
  constructor(exitCode: number | null, message: string) {
    super(message);
    this.name = 'GitError';
    this.exitCode = exitCode;
  }
}

/** Git in `dir` (or wherever the arguments say) with `env`, which is all the environment it gets. */
export class Git {
  readonly #dir: string | undefined;
  readonly #env: Record<string, string>;

  constructor(dir?: string, env: Record<string, string> = gitEnv()) {
    this.#dir = dir;
    this.#env = env;
  }

  env(env: Record<string, string>): Git {
    return new Git(this.#dir, env);
  }

  /** The command's standard output; rejects with a GitError when git exits other than 0. */
  async raw(args: string[]): Promise<string> {
    const answer = await spawner.run({ args, env: this.#env, ...(this.#dir ? { cwd: this.#dir } : {}) });
    if ('error' in answer) throw new GitError(null, `git ${args[0]} could not be started: ${answer.error}`);
    if (answer.code !== 0) throw new GitError(answer.code, `${answer.stdout}${answer.stderr}` || `git ${args[0]} ${answer.signal ? `was killed (${answer.signal})` : `exited ${answer.code}`}`);
    return answer.stdout;
  }

  /** `git clone <options> -- <from> <to>`: `--` so that no URL is ever read as an option. */
  clone(from: string, to: string, options: string[] = []): Promise<string> {
    return this.raw(['clone', ...options, '--', from, to]);
  }

  fetch(args: string[]): Promise<string> {
    return this.raw(['fetch', ...args]);
  }
}

/** Git in `dir`, or with no directory of its own (a clone). */
export function gitAt(dir?: string): Git {
  return new Git(dir);
}

type Answer = { id: number; error: string } | { id: number; code: number | null; signal: string | null; stdout: string; stderr: string };

/** The helper process, started on the first command and again after it died. */
class Spawner {
  #child: ChildProcess | undefined;
  #next = 0;
  readonly #waiting = new Map<number, { resolve: (answer: Answer) => void; reject: (error: Error) => void }>();

  run(command: { args: string[]; cwd?: string; env: Record<string, string> }): Promise<Answer> {
    const child = (this.#child ??= this.#start());
    const id = this.#next++;
    return new Promise<Answer>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      // While a command is out, the helper's channel keeps this process alive; idle, it does not.
      if (this.#waiting.size === 1) child.channel?.ref();
      child.send({ id, ...command }, (error) => {
        if (error) this.#settle(id, (w) => w.reject(error));
      });
    });
  }

  #start(): ChildProcess {
    const child = fork(fileURLToPath(new URL('./git-spawner.ts', import.meta.url)), [], {
      // Nothing of the app's environment: each command brings its own.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      execArgv: [],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.on('message', (answer: Answer) => this.#settle(answer.id, (w) => w.resolve(answer)));
    const gone = (why: string) => {
      if (this.#child === child) this.#child = undefined;
      for (const id of [...this.#waiting.keys()]) this.#settle(id, (w) => w.reject(new GitError(null, `the git helper process ${why}`)));
    };
    child.on('exit', (code, signal) => gone(`exited (${signal ?? code}) while git ran`));
    child.on('error', (error) => gone(`failed: ${error.message}`));
    child.unref();
    child.channel?.unref();
    return child;
  }

  #settle(id: number, how: (waiting: { resolve: (answer: Answer) => void; reject: (error: Error) => void }) => void): void {
    const waiting = this.#waiting.get(id);
    if (!waiting) return;
    this.#waiting.delete(id);
    if (this.#waiting.size === 0) this.#child?.channel?.unref();
    how(waiting);
  }
}

const spawner = new Spawner();
