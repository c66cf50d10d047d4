import { readFileSync } from 'node:fs';
// The values the app must never let travel (into a commit, a comment, an agent's environment):
// its own credentials from the environment, and the installation token of the moment.
const SECRET_VARIABLES = ['PRIVATE_KEY', 'WEBHOOK_SECRET', 'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'DATABASE_URL', 'REDIS_URL', 'GITHUB_CLIENT_SECRET', 'MISSIONS_SESSION_SECRET'];

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

/**
 * The forms a secret can be written in: as is, hex, percent-encoded byte by byte, and base64 (and
 * base64url) at each of the three alignments it can start at, keeping only the characters that do
 * not depend on its neighbours.
 */
export function encodedForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const hex = bytes.toString('hex');
  const forms = [secret, hex, hex.toUpperCase(), hex.replace(/../g, '%$&'), hex.toUpperCase().replace(/../g, '%$&'), encodeURIComponent(secret)];
  for (let offset = 0; offset < 3; offset++) {
    const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
    const encoded = padded.toString('base64').replace(/=+$/, '');
    // Characters mixing in a neighbour's bits: up to two at the start, up to two at the end.
    const inner = encoded.slice(offset === 0 ? 0 : offset + 1, encoded.length - 2);
    forms.push(inner, inner.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...new Set(forms.filter((f) => f.length >= 8))];
}

/** Separators a secret can be spread out with: whitespace (split across lines, spaced out), quotes and `+` (concatenated), and invisible format characters (zero-width spaces, soft hyphens). */
const SPREAD = /[\s'"`+,\\\p{Cf}]/gu;

/**
 * Whether `text` holds one of `secrets` in any of its encoded forms, as is or spread out. The
 * checks run on the text and on the text without separators; a secret is long and random, so a
 * match there is no accident.
 */
export function containsSecret(text: string, secrets: string[]): boolean {
  const squeezed = text.replace(SPREAD, '');
  const squeezedLower = squeezed.toLowerCase();
  return secrets.some((secret) =>
    encodedForms(secret).some((form) => {
      const bare = form.replace(SPREAD, '');
      return text.includes(form) || (bare.length >= 8 && (squeezed.includes(bare) || (/^[0-9a-f%]+$/i.test(bare) && squeezedLower.includes(bare.toLowerCase()))));
    }),
  );
}

/** `text` with every secret value (and its encoded forms) replaced, for anything the app posts that a model wrote. */
export function redactSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) for (const form of encodedForms(s)) out = out.split(form).join('[redacted]');
  return out;
}

/**
 * `redactSecrets` for many texts against the same secrets (a page of transcripts): every form in one
 * compiled pattern, built once. A text that still holds a secret spread out (split over lines, spaced)
 * cannot be redacted in place, so it is withheld whole.
 */
export function secretRedactor(secrets: string[]): (text: string) => string {
  const forms = [...new Set(secrets.flatMap(encodedForms))].sort((a, b) => b.length - a.length);
  if (!forms.length) return (text) => text;
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const exact = new RegExp(forms.map(escape).join('|'), 'g');
  const bare = [...new Set(forms.map((f) => f.replace(SPREAD, '')).filter((b) => b.length >= 8))];
  const spreadExact = new RegExp(bare.map(escape).join('|'));
  const hex = bare.filter((b) => /^[0-9a-f%]+$/i.test(b));
  const spreadHex = hex.length ? new RegExp(hex.map(escape).join('|'), 'i') : null;
  return (text) => {
    const out = text.replace(exact, '[redacted]');
    const squeezed = out.replace(SPREAD, '');
    return spreadExact.test(squeezed) || spreadHex?.test(squeezed) ? WITHHELD : out;
  };
}

export const WITHHELD = '[withheld: this text holds a secret written in a form that cannot be redacted in place]';
