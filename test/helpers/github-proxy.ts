// GitHub for other processes: an HTTP server that replays each request against api.github.com in
// this process, where nock answers it (and checks it against OpenAPI). Child processes point their
// Probot at it with `baseUrl`, or with GHE_HOST as GitHub Enterprise Server (`/api/v3` paths), so
// several processes share one fake GitHub.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export async function startGitHubProxy(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return; // the client went away (a worker process that was killed)
    }
    const headers: Record<string, string> = {};
    for (const name of ['accept', 'authorization', 'content-type', 'user-agent']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    try {
      const path = req.url!.replace(/^\/api\/v3(?=\/)/, '').replace(/^\/api\/graphql/, '/graphql');
      const answer = await fetch(`https://api.github.com${path}`, {
        method: req.method!,
        headers,
        ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
      });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await answer.arrayBuffer()));
    } catch (error) {
      res.writeHead(599, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `no mock answered: ${String(error)}` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
