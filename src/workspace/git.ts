// Every git command the app runs, run by a helper process (git-spawner.ts) rather than spawned from
// the app's own. Node starts a process by forking the whole app, the embedded database's memory map
// included, and holds the event loop until the child has started git: about 20 ms a command on a 2-core
// machine, against under a millisecond to hand the command to the helper, whose own fork is small
// (`npm run bench -- build-overhead` prints both); a build step runs about twenty. The library used
// before, simple-git, cannot take another spawner, and running it inside the helper would leave only
// its argument guards, which the app's calls do not need: every option in them is the app's own
// (branch names start `missions/` or `refs/`, shas come from git, a clone's URL follows `--`).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The environment git runs with: enough to work, none of the app's secrets. */
function gitEnv(): Record<string, string> {
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
 * What git talking to GitHub gets beside gitEnv(): the installation token in a header (never in a URL, a
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
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(config.length) };
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/** A git command that failed: its output (stdout, then stderr) is the message, as git wrote it. */
export class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitError';
  }
}

/**
 * Git in `dir` (or where `extra`'s GIT_DIR says, or nowhere in particular for a clone). Its whole
 * environment is gitEnv(), which holds no secret, with `extra` over it (GIT_DIR, networkGitEnv's).
 */
export function gitAt(dir?: string, extra: Record<string, string> = {}) {
  const env = { ...gitEnv(), ...extra };
  return {
    /** The command's standard output; rejects with a GitError when git exits other than 0. */
    async raw(args: string[]): Promise<string> {
      const answer = await spawner.run({ args, env, ...(dir ? { cwd: dir } : {}) });
      if ('error' in answer) throw new GitError(`git ${args[0]}: ${answer.error}`);
      // Any other exit than 0 fails, stderr or not (simple-git took a silent one as success): the
      // callers that expect one (rev-parse --verify --quiet) catch it.
      if (answer.code !== 0) throw new GitError(`${answer.stdout}${answer.stderr}` || `git ${args[0]} ${answer.signal ? `was killed (${answer.signal})` : `exited ${answer.code}`}`);
      return answer.stdout;
    },
    /** `git clone <options> -- <from> <to>`: `--` so that no URL is ever read as an option. */
    clone(from: string, to: string, options: string[] = []): Promise<string> {
      return this.raw(['clone', ...options, '--', from, to]);
    },
  };
}

type Answer = { id: number; error: string } | { id: number; code: number | null; signal: string | null; stdout: string; stderr: string };
type Waiting = { child: ChildProcess; resolve: (answer: Answer) => void; reject: (error: Error) => void };

/** The helper process, started on the first command and again after it died. */
class Spawner {
  #child: ChildProcess | undefined;
  #next = 0;
  readonly #waiting = new Map<number, Waiting>();

  run(command: { args: string[]; cwd?: string; env: Record<string, string> }): Promise<Answer> {
    const child = (this.#child ??= this.#start());
    const id = this.#next++;
    return new Promise<Answer>((resolve, reject) => {
      this.#waiting.set(id, { child, resolve, reject });
      // While a command is out, the helper's channel keeps this process alive; idle, it does not.
      child.channel?.ref();
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
      // Only its own commands: those sent since went to the helper started after it.
      for (const [id, waiting] of [...this.#waiting]) if (waiting.child === child) this.#settle(id, (w) => w.reject(new GitError(`the git helper process ${why}`)));
    };
    child.on('exit', (code, signal) => gone(`exited (${signal ?? code}) while git ran`));
    // The channel can close before `exit` is seen, and with nothing else keeping this process alive
    // it would end with the commands still waiting.
    child.on('disconnect', () => gone('closed its channel while git ran'));
    child.on('error', (error) => gone(`failed: ${error.message}`));
    child.unref();
    child.channel?.unref();
    return child;
  }

  #settle(id: number, how: (waiting: Waiting) => void): void {
    const waiting = this.#waiting.get(id);
    if (!waiting) return;
    this.#waiting.delete(id);
    if (![...this.#waiting.values()].some((w) => w.child === waiting.child)) waiting.child.channel?.unref();
    how(waiting);
  }
}

const spawner = new Spawner();
