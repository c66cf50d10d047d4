// What a process claims before it touches anything shared: its port, and the embedded database
// (which belongs to one process). Checked first, so a second `npm start` on the same folder is
// refused before it opens the database or takes a job.
import { mkdirSync, statSync, unlinkSync } from 'node:fs';
import { connect, createServer } from 'node:net';
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
 * Claims the embedded database in `dir` by listening on a Unix socket there for as long as the
 * process lives. A socket that answers means a live holder, whatever its pid or PID namespace (two
 * containers on one volume); one that does not was left by a process that died, and is taken over.
 * Resolves to 'held' when another process holds it, 'ours' once it is ours, or 'unchecked' when the
 * path is too long for a socket (the caller says so).
 */
export async function claimEmbeddedDatabase(dir: string): Promise<'ours' | 'held' | 'unchecked'> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'missions.sock');
  // Linux's limit for a socket path (sun_path) is 107 bytes.
  if (Buffer.byteLength(path) > 107) return 'unchecked';
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await answers(path)) return 'held';
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const server = createServer((socket) => socket.end());
    const listened = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      server.once('error', resolve);
      server.listen(path, () => resolve(null));
    });
    // Another process listened between our look and ours: look again.
    if (listened?.code === 'EADDRINUSE') continue;
    if (listened) throw listened;
    // It must not keep the process alive; it goes with the process (only if it is still ours).
    server.unref();
    const inode = statSync(path).ino;
    process.once('exit', () => {
      try {
        if (statSync(path).ino === inode) unlinkSync(path);
      } catch {
        // Gone already.
      }
    });
    return 'ours';
  }
  return 'held';
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
