// What a process claims before it touches anything shared: its port, and the embedded database
// (which belongs to one process). Checked first, so a second `npm start` on the same folder is
// refused before it opens the database or takes a job.
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';

const STALE_MS = 10_000;

/** Null when `host:port` can be listened on now, else the system's reason (EADDRINUSE, ENOTFOUND, …). */
export async function listenProblem(host: string, port: number): Promise<string | null> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
}

/**
 * Claims the embedded database in `dir` for as long as the process lives, with proper-lockfile (an
 * atomic `mkdir`, kept fresh while the process runs, stale 10 s after it died, whatever its pid or
 * PID namespace). A holder that died is waited out; a live one answers 'held' once the wait is over (about 12 s). `onLost` is called
 * if the claim is ever lost while running.
 */
export async function claimEmbeddedDatabase(dir: string, onLost: (error: Error) => void, onWait: (seconds: number) => void): Promise<'ours' | 'held'> {
  mkdirSync(dir, { recursive: true });
  const retries = Math.ceil(STALE_MS / 1000) + 2;
  if (existsSync(join(dir, 'missions.lock'))) onWait(retries);
  try {
    await lockfile.lock(dir, {
      lockfilePath: join(dir, 'missions.lock'),
      stale: STALE_MS,
      // Long enough to outlast the claim of a process that was just killed (a supervisor's restart).
      retries: { retries, minTimeout: 1000, maxTimeout: 1000 },
      realpath: false,
      onCompromised: onLost,
    });
    return 'ours';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') return 'held';
    throw error;
  }
}
