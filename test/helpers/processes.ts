// Child processes of a test: each one dies with the test's process (die-with-parent.ts) and is
// killed after every test, passed or failed, so a timed-out test never leaves one running.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
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
