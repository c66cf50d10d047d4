// What a process claims before it touches anything shared: its port and its data directory. Checked
// first, so a second `npm start` in the same folder is refused before it opens the embedded database
// (which belongs to one process) or takes a job.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Null when `host:port` can be listened on now, else the system's reason (EADDRINUSE, ENOTFOUND, …). */
export async function listenProblem(host: string, port: number): Promise<string | null> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
}

/**
 * Takes `<dataDir>/missions.pid` for this process. Returns the pid of a live process that holds it
 * already, or null once it is ours (a file left by a process that died is taken over). The file goes
 * when this process exits.
 */
export function claimDataDir(dataDir: string): number | null {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'missions.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      process.once('exit', () => rmSync(path, { force: true }));
      return null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(path, 'utf8').trim());
      if (holder && holder !== process.pid && alive(holder)) return holder;
      rmSync(path, { force: true });
    }
  }
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
