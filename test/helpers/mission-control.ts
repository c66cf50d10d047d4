// Mission Control served as the web process serves it (the same handler Probot's server is given),
// on its own local port, signing in against a local GitHub (github-web.ts).
import { createServer } from 'node:http';
import pino from 'pino';
import type { Database } from '../../src/store/database.ts';
import { missionControl } from '../../src/web/routes.ts';
import { startGitHubWeb, type GitHubWeb } from './github-web.ts';

export const CLIENT_ID = 'Iv1.testclient';
export const CLIENT_SECRET = 'test-client-secret-0123456789';
export const SESSION_SECRET = 'test-session-secret-0123456789abcdef';

export interface MissionControlServer {
  url: string;
  github: GitHubWeb;
  close(): Promise<void>;
}

export async function serveMissionControl(
  db: Database,
  readers: Record<string, string[]>,
  options: { ids?: Record<string, number>; publicUrl?: string } = {},
): Promise<MissionControlServer> {
  const github = await startGitHubWeb({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, readers, ...(options.ids ? { ids: options.ids } : {}) });
  const handler = missionControl({
    db,
    log: pino({ level: process.env.TEST_LOG ?? 'silent' }),
    signIn: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, sessionSecret: SESSION_SECRET },
    githubBaseUrl: github.apiUrl,
    publicUrl: options.publicUrl,
    env: { GITHUB_CLIENT_SECRET: CLIENT_SECRET },
  });
  const server = createServer((req, res) => {
    void handler(req, res).then((answered) => {
      if (!answered) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    github,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await github.close();
    },
  };
}
