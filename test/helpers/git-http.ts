// A git server over smart HTTP (git's own http-backend), in front of local bare repositories, that can
// answer the first pushes with 502 Bad Gateway as GitHub sometimes does, or take requests and never
// answer them, as a remote that hangs does.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname } from 'node:path';

export interface GitHttpServer {
  /** The HTTP clone URL of a bare repository made by `bareRepository`. */
  urlOf(bare: string): string;
  /** Pushes answered 502 so far. */
  refusedPushes: number;
  /** While true, every request is taken and never answered. */
  stalled: boolean;
  /** Requests left unanswered so far. */
  readonly stalledRequests: number;
  close(): Promise<void>;
}

/**
 * `failPushes`: pushes whose pack is answered 502. `stallPushes`: pushes left unanswered at their
 * first request (the ref advertisement, a GET) and then at their pack (the POST).
 */
export async function serveGitHttp(options: { failPushes?: number; stallPushes?: { advertisement?: number; pack?: number } } = {}): Promise<GitHttpServer> {
  let toFail = options.failPushes ?? 0;
  const toStall = { advertisement: options.stallPushes?.advertisement ?? 0, pack: options.stallPushes?.pack ?? 0 };
  const roots = new Map<string, string>();
  const state = { refusedPushes: 0, stalled: false, stalledRequests: 0 };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [, id, ...rest] = url.pathname.split('/');
    const root = roots.get(id!);
    if (!root) return void res.writeHead(404).end();
    const push = req.method === 'POST' && url.pathname.endsWith('/git-receive-pack');
    const advertisement = req.method === 'GET' && url.searchParams.get('service') === 'git-receive-pack';
    const stall = state.stalled || (advertisement && toStall.advertisement-- > 0) || (push && toStall.pack-- > 0);
    if (stall) {
      state.stalledRequests++;
      return void req.resume();
    }
    if (push && toFail > 0) {
      toFail--;
      state.refusedPushes++;
      req.resume();
      return void res.writeHead(502, { 'content-type': 'text/plain' }).end('Bad Gateway');
    }
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH!,
        GIT_PROJECT_ROOT: dirname(root),
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: 'missions',
        REMOTE_ADDR: '127.0.0.1',
        PATH_INFO: `/${basename(root)}/${rest.slice(1).join('/')}`,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method!,
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: req.headers['git-protocol'] as string } : {}),
      },
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let started = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (started) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      started = true;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const [key, ...value] = line.split(': ');
        if (key!.toLowerCase() === 'status') status = Number(value.join(': ').split(' ')[0]);
        else headers[key!] = value.join(': ');
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    child.on('close', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    urlOf(bare) {
      const id = String(roots.size + 1);
      roots.set(id, bare);
      return `http://127.0.0.1:${port}/${id}/${basename(bare)}`;
    },
    get refusedPushes() {
      return state.refusedPushes;
    },
    get stalled() {
      return state.stalled;
    },
    set stalled(value: boolean) {
      state.stalled = value;
    },
    get stalledRequests() {
      return state.stalledRequests;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // the stalled ones too
      }),
  };
}
