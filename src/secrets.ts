// The values the app must never let travel (into a commit, a comment, an agent's environment):
// its own credentials from the environment, and the installation token of the moment.
const SECRET_VARIABLES = ['PRIVATE_KEY', 'WEBHOOK_SECRET', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'DATABASE_URL', 'GITHUB_CLIENT_SECRET'];

export function secretValues(env: NodeJS.ProcessEnv, extra: (string | undefined)[] = []): string[] {
  const values: string[] = [];
  for (const key of SECRET_VARIABLES) {
    const value = env[key];
    if (!value) continue;
    values.push(value);
    // A PEM key may be copied line by line.
    if (value.includes('\n')) values.push(...value.split('\n').filter((l) => l.length >= 40));
  }
  for (const value of extra) if (value) values.push(value);
  return values.filter((v) => v.length >= 8);
}
