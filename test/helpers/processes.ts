// Child processes of a test: each one dies with the test's process (die-with-parent.ts) and is
// killed after every test, passed or failed, so a timed-out test never leaves one running. startApp
// runs the app's own entry (what `npm start` runs) and waits until it listens.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from './waiting.ts';
import { afterEach } from 'vitest';

const DIE_WITH_PARENT = fileURLToPath(new URL('./die-with-parent.ts', import.meta.url));
const live = new Set<ChildProcess>();

afterEach(async () => {
  await Promise.all([...live].map((child) => killed(child)));
});

/** `node script ...args` on this Node, with an IPC channel (`process.send` works in the child). */
export function startNode(script: string | URL, args: string[] = [], options: SpawnOptions = {}): ChildProcess {
  const path = script instanceof URL ? fileURLToPath(script) : script;
  const stdio = options.stdio ?? 'inherit';
  const child = spawn(process.execPath, ['--import', DIE_WITH_PARENT, path, ...args], {
    ...options,
    stdio: Array.isArray(stdio) ? [...stdio.slice(0, 3), 'ipc'] : [stdio, stdio, stdio, 'ipc'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** SIGKILLs the child and resolves once it is gone. */
export async function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Resolves with the exit code once the child has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** A port free on this machine right now (Probot's server takes PORT=0 as 3000, so children get a real one). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const MAIN = new URL('../../src/main.ts', import.meta.url);

/** `npm start`'s entry in `cwd` with exactly `env` (and PATH, HOME, a free PORT); resolves once it listens, with its URL. */
export async function startApp(cwd: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const port = await freePort();
  const child = startNode(MAIN, [], { cwd, env: { PATH: process.env.PATH!, HOME: cwd, PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`src/main.ts exited ${child.exitCode}:\n${output}`);
    return output.includes(`Listening on http://localhost:${port}`);
  }, 'the server to listen', 120_000);
  return { child, url: `http://localhost:${port}`, output: () => output };
}
