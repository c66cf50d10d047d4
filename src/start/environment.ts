// The process's environment (PRODUCT.md §5), read once at start: `.env` first (what Probot's setup
// page writes), then every setting the app, Probot and the Anthropic SDK need, checked together.
// A configuration that cannot work becomes one line naming the variable and the fix.
import { createHmac, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { getPrivateKey } from '@probot/get-private-key';
import { z } from 'zod';
import { hasBubblewrap } from '../workspace/sandbox.ts';

/** Where GitHub delivers webhooks (Probot's default path). */
export const WEBHOOK_PATH = '/api/github/webhooks';

/** What this process does (MISSIONS_ROLE); not to be confused with an agent's role. */
export type ProcessRole = 'all' | 'web' | 'worker';

/** Settings for a process that runs the app (it has GitHub App credentials). */
export interface RunSettings {
  mode: 'run';
  role: ProcessRole;
  appId: number;
  privateKey: string;
  webhookSecret: string;
  /** GitHub's API root for GitHub Enterprise Server (GHE_HOST), else undefined for github.com. */
  githubBaseUrl?: string;
  webhookProxyUrl?: string;
  publicUrl?: string;
  host: string;
  port: number;
  dataDir: string;
  databaseUrl?: string;
  /** Probot's REDIS_URL: Octokit's throttling shared by every process through this Redis. */
  redisUrl?: string;
  /** Steps this process runs at once (MISSIONS_STEPS_PER_PROCESS); the queue's default when absent. */
  stepsPerProcess?: number;
  /** Steps of one installation running at once on all processes (MISSIONS_STEPS_PER_INSTALLATION); the queue's default when absent. */
  stepsPerInstallation?: number;
  plannerTurns: number;
  workerTurns: number;
  /** Mission Control's sign-in (GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, as Probot's setup saves them); absent without them. */
  signIn?: SignInSettings;
}

export interface SignInSettings {
  clientId: string;
  clientSecret: string;
  /** Signs session cookies: MISSIONS_SESSION_SECRET, else one derived from WEBHOOK_SECRET (`derived`). */
  sessionSecret: string;
  derived: boolean;
}

/** Settings for a process without credentials: Probot's setup page registers the app. */
export interface SetupSettings {
  mode: 'setup';
  /** Where the setup page listens (Probot's default: this machine only). */
  host: string;
  port: number;
  /** The webhook URL the registration will carry; undefined lets Probot create a smee.io channel. */
  webhookUrl: string | undefined;
}

export const NO_WEBHOOK_URL =
  'no webhook URL for the app registration: set WEBHOOK_PROXY_URL to a smee.io channel (a laptop) or MISSIONS_PUBLIC_URL to where GitHub reaches this server.';

/** A configuration that cannot work: one line for the operator. */
export interface Refusal {
  mode: 'refuse';
  line: string;
}

export type Startup = RunSettings | SetupSettings | Refusal;

/**
 * Adds the variables of `<cwd>/.env` that the environment does not set already (the environment
 * wins, as dotenv's convention goes), then drops every blank variable: a blank value is unset, for
 * this module and for Probot and the SDK, which read the environment after it. Parsed with Node's
 * own parser, as Probot parses it.
 */
export function loadDotEnv(env: NodeJS.ProcessEnv, cwd: string): { loaded: string[] } | Refusal {
  let text = '';
  const path = join(cwd, '.env');
  try {
    // Only a regular file of sensible size: a FIFO or /dev/zero would block the start for ever.
    if (!regularFile(path)) return refuse(`.env in ${cwd} is not a regular file of at most 1 MB: replace it with one, or remove it.`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return refuse(`.env in ${cwd} cannot be read (${code}): fix its permissions or remove it.`);
  }
  const loaded: string[] = [];
  for (const [key, value] of Object.entries(parseEnv(text))) {
    if (!blank(env[key])) continue;
    env[key] = value;
    if (!blank(value)) loaded.push(key);
  }
  for (const key of Object.keys(env)) if (blank(env[key])) delete env[key];
  return { loaded };
}

const positiveWhole = (name: string) =>
  z.coerce.number({ error: () => `${name} must be a positive whole number` }).int(`${name} must be a positive whole number`).positive(`${name} must be a positive whole number`);

const variables = z.object({
  MISSIONS_ROLE: z.string().default('all'),
  MISSIONS_DATA_DIR: z.string().min(1, 'MISSIONS_DATA_DIR is empty: unset it (default ./.data) or name a folder').default('./.data'),
  MISSIONS_PLANNER_TURNS: positiveWhole('MISSIONS_PLANNER_TURNS').default(60),
  MISSIONS_WORKER_TURNS: positiveWhole('MISSIONS_WORKER_TURNS').default(200),
  MISSIONS_STEPS_PER_PROCESS: positiveWhole('MISSIONS_STEPS_PER_PROCESS').optional(),
  MISSIONS_STEPS_PER_INSTALLATION: positiveWhole('MISSIONS_STEPS_PER_INSTALLATION').optional(),
  // Not 0: Probot's server would take it as 3000, and probes need a port they can know.
  PORT: z.coerce
    .number({ error: () => 'PORT must be a port number (1 to 65535)' })
    .int('PORT must be a port number (1 to 65535)')
    .min(1, 'PORT must be a port number (1 to 65535)')
    .max(65535, 'PORT must be a port number (1 to 65535)')
    .default(3000),
  LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], { error: () => 'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent' })
    .optional(),
});

const ROLES: ProcessRole[] = ['all', 'web', 'worker'];

/** What this process will do, or why it cannot: every check of PRODUCT.md §5 that needs no network. */
export function readStartup(env: NodeJS.ProcessEnv, cwd: string): Startup {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  const parsed = variables.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => (v ?? '').trim() !== '')));
  if (!parsed.success) return refuse(`${parsed.error.issues[0]!.message}.`);
  const v = parsed.data;
  if (!ROLES.includes(v.MISSIONS_ROLE as ProcessRole)) {
    return refuse(`MISSIONS_ROLE=${printable(v.MISSIONS_ROLE)} is not a role: set it to all (webhooks and jobs, the default), web (webhooks only) or worker (jobs only).`);
  }
  const role = v.MISSIONS_ROLE as ProcessRole;

  const publicUrl = set('MISSIONS_PUBLIC_URL') ? httpUrl(env.MISSIONS_PUBLIC_URL!) : undefined;
  if (publicUrl === null) return refuse('MISSIONS_PUBLIC_URL must be an http(s) URL where users and GitHub reach this app, e.g. https://missions.example.com.');
  const proxyUrl = set('WEBHOOK_PROXY_URL') ? httpUrl(env.WEBHOOK_PROXY_URL!) : undefined;
  if (proxyUrl === null) return refuse('WEBHOOK_PROXY_URL must be an http(s) URL (a smee.io channel such as https://smee.io/abc123).');
  if (set('PRIVATE_KEY_PATH') && existsSync(resolve(cwd, env.PRIVATE_KEY_PATH!)) && !regularFile(resolve(cwd, env.PRIVATE_KEY_PATH!))) {
    return refuse(`PRIVATE_KEY_PATH=${printable(env.PRIVATE_KEY_PATH!)} is not a regular file of at most 1 MB: point it at the app's .pem file.`);
  }
  if (set('DATABASE_URL') && !postgresUrl(env.DATABASE_URL!)) {
    return refuse('DATABASE_URL must be a PostgreSQL URL such as postgres://user:password@host:5432/missions (percent-encode @ : / ? # in the password); unset it to use the embedded database.');
  }
  if (set('REDIS_URL') && !/^rediss?:\/\/[^\s]+$/i.test(env.REDIS_URL!.trim())) {
    return refuse('REDIS_URL must be a Redis URL such as redis://:password@redis:6379 (rediss:// for TLS); unset it to throttle GitHub calls per process.');
  }
  if (set('GHE_PROTOCOL') && !['http', 'https'].includes(env.GHE_PROTOCOL!)) return refuse('GHE_PROTOCOL must be http or https.');
  if (set('GHE_HOST') && !/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d+)?$/i.test(env.GHE_HOST!.trim())) {
    return refuse('GHE_HOST must be the GitHub Enterprise Server host name, such as ghe.example.com (no https://, no path); GHE_PROTOCOL sets the scheme.');
  }

  // GitHub App credentials, as Probot reads them (a key in PRIVATE_KEY, a file at PRIVATE_KEY_PATH, or one .pem in the folder).
  let privateKey: string | null;
  try {
    privateKey = getPrivateKey({ env, cwd });
  } catch {
    if (set('PRIVATE_KEY')) return refuse('PRIVATE_KEY is not a PEM private key: paste the whole .pem file GitHub gave for the app (newlines as \\n), or use PRIVATE_KEY_PATH.');
    if (set('PRIVATE_KEY_PATH')) return refuse(`PRIVATE_KEY_PATH=${printable(env.PRIVATE_KEY_PATH!)} cannot be read: point it at the app's .pem file.`);
    return refuse(`more than one .pem file in ${cwd}: set PRIVATE_KEY_PATH to the app's key.`);
  }
  if (privateKey && !isPrivateKey(privateKey)) {
    return refuse("the private key (PRIVATE_KEY, PRIVATE_KEY_PATH or the folder's .pem) is not a usable RSA key: use the .pem file GitHub gave for the app.");
  }
  const hasAppId = set('APP_ID');
  if (hasAppId && !/^[1-9]\d*$/.test(env.APP_ID!.trim())) return refuse("APP_ID must be the GitHub App's numeric id (on the app's settings page).");

  if (!hasAppId && !privateKey) {
    // No credentials: only the default role may serve the setup page; the others have nothing to run.
    if (role !== 'all') {
      return refuse(`MISSIONS_ROLE=${role} needs the GitHub App's credentials: set APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET, or register the app first with \`npm start\` and MISSIONS_ROLE unset.`);
    }
    if (env.NODE_ENV === 'production') {
      return refuse('no GitHub App credentials and NODE_ENV=production, where the setup page is not served: set APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET.');
    }
    // Probot reads the registration's permissions and events from app.yml in the working folder.
    if (!existsSync(join(cwd, 'app.yml'))) return refuse(`no app.yml in ${cwd}: run \`npm start\` in the Missions folder, where app.yml and .env live.`);
    const webhookUrl = proxyUrl ?? (publicUrl ? `${publicUrl}${WEBHOOK_PATH}` : undefined);
    // Without one, Probot creates a smee.io channel, unless told not to (NO_SMEE_SETUP, as Probot reads it).
    if (!webhookUrl && env.NO_SMEE_SETUP === 'true') return refuse(NO_WEBHOOK_URL);
    return { mode: 'setup', host: env.HOST || 'localhost', port: v.PORT, webhookUrl };
  }
  if (!hasAppId) return refuse('a private key is set but APP_ID is not: set APP_ID to the GitHub App\'s numeric id, which goes with that key.');
  if (!privateKey) return refuse('APP_ID is set but no private key is: set PRIVATE_KEY (the .pem file\'s contents) or PRIVATE_KEY_PATH (its path).');
  if (!set('WEBHOOK_SECRET')) {
    return refuse("WEBHOOK_SECRET is not set: set it to the GitHub App's webhook secret (the setup page saves it in .env); without it anyone could forge webhooks.");
  }
  if (env.WEBHOOK_SECRET === 'development') {
    return refuse("WEBHOOK_SECRET is Probot's example value `development`, which anyone can sign webhooks with: set a random secret here and in the GitHub App's settings.");
  }
  if (role !== 'web' && !set('ANTHROPIC_API_KEY') && !set('ANTHROPIC_AUTH_TOKEN')) {
    return refuse(`ANTHROPIC_API_KEY is not set: MISSIONS_ROLE=${role} runs the agents and needs a key for the Claude API (or run this process as MISSIONS_ROLE=web).`);
  }
  // No silent fallback: without a sandbox an agent's command reads /proc/$PPID/environ (every secret).
  if (role !== 'web' && env.MISSIONS_UNSANDBOXED !== '1' && !hasBubblewrap()) {
    return refuse(
      'bubblewrap (bwrap) cannot make a sandbox here, so agent commands would run with the app\'s own rights: install it (apt-get install bubblewrap) and allow unprivileged user namespaces (in Docker: see the README), or set MISSIONS_UNSANDBOXED=1 to run them unsandboxed (only for repositories and issues you trust).',
    );
  }
  if (set('GITHUB_CLIENT_ID') !== set('GITHUB_CLIENT_SECRET')) {
    return refuse(`${set('GITHUB_CLIENT_ID') ? 'GITHUB_CLIENT_SECRET' : 'GITHUB_CLIENT_ID'} is not set but ${set('GITHUB_CLIENT_ID') ? 'GITHUB_CLIENT_ID' : 'GITHUB_CLIENT_SECRET'} is: Mission Control signs users in with both (the app's settings page shows the client id and makes secrets); set both, or neither to go without Mission Control.`);
  }
  if (set('MISSIONS_SESSION_SECRET') && env.MISSIONS_SESSION_SECRET!.trim().length < 32) {
    return refuse('MISSIONS_SESSION_SECRET must be at least 32 characters (it signs Mission Control sessions): use a random value, e.g. `openssl rand -hex 32`.');
  }
  if (role !== 'all' && !set('DATABASE_URL')) {
    return refuse(`MISSIONS_ROLE=${role} needs DATABASE_URL: the embedded database belongs to one process and cannot be shared; point every process at one PostgreSQL server, or run a single process with MISSIONS_ROLE=all.`);
  }
  return {
    mode: 'run',
    role,
    appId: Number(env.APP_ID),
    privateKey,
    webhookSecret: env.WEBHOOK_SECRET!,
    ...(set('GHE_HOST') ? { githubBaseUrl: `${env.GHE_PROTOCOL || 'https'}://${env.GHE_HOST!.trim()}/api/v3` } : {}),
    ...(proxyUrl ? { webhookProxyUrl: proxyUrl } : {}),
    ...(publicUrl ? { publicUrl } : {}),
    // Probot's default: only this machine, unless HOST says otherwise (the Docker image sets 0.0.0.0).
    host: env.HOST || 'localhost',
    port: v.PORT,
    dataDir: resolve(cwd, v.MISSIONS_DATA_DIR),
    ...(set('DATABASE_URL') ? { databaseUrl: env.DATABASE_URL! } : {}),
    ...(set('REDIS_URL') ? { redisUrl: env.REDIS_URL!.trim() } : {}),
    ...(v.MISSIONS_STEPS_PER_PROCESS ? { stepsPerProcess: v.MISSIONS_STEPS_PER_PROCESS } : {}),
    ...(v.MISSIONS_STEPS_PER_INSTALLATION ? { stepsPerInstallation: v.MISSIONS_STEPS_PER_INSTALLATION } : {}),
    plannerTurns: v.MISSIONS_PLANNER_TURNS,
    workerTurns: v.MISSIONS_WORKER_TURNS,
    ...(set('GITHUB_CLIENT_ID') ?
      {
        signIn: {
          clientId: env.GITHUB_CLIENT_ID!.trim(),
          clientSecret: env.GITHUB_CLIENT_SECRET!.trim(),
          // Without its own secret, one derived from the webhook secret: as secret, stable across
          // restarts and shared by every web process, and never the webhook secret itself.
          sessionSecret: set('MISSIONS_SESSION_SECRET') ? env.MISSIONS_SESSION_SECRET!.trim() : createHmac('sha256', env.WEBHOOK_SECRET!).update('missions session').digest('hex'),
          derived: !set('MISSIONS_SESSION_SECRET'),
        },
      }
    : {}),
  };
}

/**
 * The URL with its password masked and its parameters (which may carry one) left out, for messages
 * and logs. Read from the text itself: a URL parser takes an unencoded password such as `2024#x` for
 * a port and a fragment.
 */
export function withoutPassword(url: string): string {
  // Up to the last @: masking too much is harmless, too little is not.
  const masked = url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:).*@/i, '$1***@');
  const cut = masked.search(/[?#]/);
  return cut < 0 ? masked : `${masked.slice(0, cut)}?…`;
}

/** `text` (a driver's error message) with the URL and its password, as written, masked. */
export function withoutPasswordIn(text: string, url: string): string {
  const password = /^[a-z][a-z0-9+.-]*:\/\/[^:/@]*:(.*)@/i.exec(url)?.[1];
  const masked = text.split(url).join(withoutPassword(url));
  return password ? masked.split(password).join('***') : masked;
}

function isPrivateKey(pem: string): boolean {
  try {
    return createPrivateKey(pem).asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}

const blank = (value: string | undefined) => (value ?? '').trim() === '';

function refuse(line: string): Refusal {
  return { mode: 'refuse', line };
}

/** An http(s) URL without its trailing slash, or null. */
function httpUrl(value: string): string | null {
  try {
    const url = new URL(value);
    return ['http:', 'https:'].includes(url.protocol) ? value.replace(/\/+$/, '') : null;
  } catch {
    return null;
  }
}

/** As written, with `//` and nothing before it: the password masking reads the text the same way. */
function postgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** A regular file (links followed) of at most 1 MB; throws ENOENT when there is none. */
function regularFile(path: string): boolean {
  const stat = statSync(path);
  return stat.isFile() && stat.size <= 1_000_000;
}

/** A value echoed in a refusal: short, one line, never mistaken for more of the message. */
function printable(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(clean.length > 80 ? `${clean.slice(0, 80)}…` : clean);
}
