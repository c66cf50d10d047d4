import { readFileSync } from 'node:fs';
// The values the app must never let travel (into a commit, a comment, an agent's environment):
// its own credentials from the environment, and the installation token of the moment.
const SECRET_VARIABLES = ['PRIVATE_KEY', 'WEBHOOK_SECRET', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'DATABASE_URL', 'GITHUB_CLIENT_SECRET'];

export function secretValues(env: NodeJS.ProcessEnv, extra: (string | undefined)[] = []): string[] {
  const values: string[] = [];
  const keyFile = env.PRIVATE_KEY_PATH ? readKeyFile(env.PRIVATE_KEY_PATH) : undefined;
  for (const [key, value] of [...SECRET_VARIABLES.map((k) => [k, env[k]] as const), ['PRIVATE_KEY_PATH', keyFile] as const]) {
    if (!value || !key) continue;
    values.push(value);
    // A PEM key may be copied line by line.
    if (value.includes('\n')) values.push(...value.split('\n').filter((l) => l.length >= 40));
  }
  for (const value of extra) if (value) values.push(value);
  return values.filter((v) => v.length >= 8);
}

function readKeyFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** `text` with every secret value replaced, for anything the app posts that a model wrote. */
export function redactSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[redacted]');
  return out;
}
