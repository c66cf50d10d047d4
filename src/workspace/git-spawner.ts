// The git helper process (git.ts starts it): runs each git command it is sent, as an argument list
// with the environment it came with, and answers with the command's output. It is a small process,
// so starting git from here is cheap, and the app's event loop never waits for git to start.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

interface Command {
  id: number;
  args: string[];
  cwd?: string;
  env: Record<string, string>;
}

process.on('message', (command: Command) => run(command));
// The app is gone (exited, crashed, killed): so is this helper. A git command under way finishes alone.
process.on('disconnect', () => process.exit(0));

/**
 * Past this, an answer is refused rather than built: a string past 512 MB cannot be made, and one
 * this large already takes up to twice its bytes in each process and holds the one channel every
 * mission's git shares while it crosses. A feature's diff or a large repository's tree listing fit.
 */
const MAX_OUTPUT_BYTES = 128 * 1024 * 1024;

function run({ id, args, cwd, env }: Command): void {
  // Said plainly: spawn would report a missing directory as git missing (ENOENT).
  if (cwd && !existsSync(cwd)) return answer({ id, error: `the directory ${cwd} does not exist` });
  let child: ChildProcess;
  try {
    child = spawn('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    // Thrown at once, not emitted: arguments too long for the kernel (E2BIG), say.
    return answer({ id, error: `could not be started: ${(error as Error).message}` });
  }
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let bytes = 0;
  let done = false;
  const collect = (into: Buffer[]) => (chunk: Buffer) => {
    if (done) return;
    bytes += chunk.length;
    if (bytes <= MAX_OUTPUT_BYTES) return void into.push(chunk);
    // A diff of a file as large as the sandbox allows: this command fails, and the helper stands.
    done = true;
    child.kill('SIGKILL');
    stdout.length = stderr.length = 0;
    answer({ id, error: `its output passed ${MAX_OUTPUT_BYTES / 1024 / 1024} MB, and it was stopped` });
  };
  child.stdout!.on('data', collect(stdout));
  child.stderr!.on('data', collect(stderr));
  const finish = (code: number | null, signal: NodeJS.Signals | null) => {
    if (done) return;
    done = true;
    answer({ id, code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
  };
  child.on('error', (error) => {
    if (!done) (done = true), answer({ id, error: `could not be started: ${error.message}` });
  });
  child.on('close', finish);
  // A process git leaves holding its pipe open (a background gc, a credential helper) must not hold
  // the command: it is done 50 ms after git exits, once the loop has read what waits in the pipes
  // (setImmediate runs after the next poll), so no answer loses its tail to a timer.
  child.on('exit', (code, signal) => setTimeout(() => setImmediate(() => finish(code, signal)), 50));
}

function answer(message: object): void {
  process.send?.(message);
}
