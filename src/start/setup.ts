// Without credentials: Probot's own setup page registers the GitHub App from app.yml and saves the
// credentials in .env, which the next `npm start` runs with. Probot builds the manifest's webhook URL
// from WEBHOOK_PROXY_URL, else from the request's host with the wrong path (`/`), and it offers no
// option for it: so the URL of PRODUCT.md §5 (decided in environment.ts) is handed to it through that
// variable, which also keeps Probot from creating a smee.io channel. The server itself gets an
// environment without it, so no proxy client starts in setup mode.
import { run } from 'probot';
import type { Logger } from 'pino';
import type { SetupSettings } from './environment.ts';

export async function serveSetupPage(settings: SetupSettings, log: Logger): Promise<{ webhookUrl: string | undefined }> {
  const serverEnv = { ...process.env };
  delete serverEnv.WEBHOOK_PROXY_URL;
  if (settings.webhookUrl) process.env.WEBHOOK_PROXY_URL = settings.webhookUrl;
  const ours = { ...process.env };
  // Probot creates a smee.io channel here when it has no URL (and writes it to .env).
  await run(() => {}, { log, env: serverEnv });
  // run() copies .env over the environment; ours (where the environment wins) is put back, and only
  // what Probot added (a new channel) stays.
  for (const [key, value] of Object.entries(ours)) process.env[key] = value;
  for (const key of Object.keys(process.env)) if (!process.env[key]?.trim()) delete process.env[key];
  if (!['localhost', '127.0.0.1', '::1'].includes(settings.host)) {
    log.warn({ host: settings.host }, "the setup page is reachable from other machines: anyone who reaches it can write credentials into .env through Probot's import form; serve it on localhost, or only while registering");
  }
  return { webhookUrl: process.env.WEBHOOK_PROXY_URL };
}
