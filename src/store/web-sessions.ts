// Mission Control's signed-in users. The cookie carries only a random id; the user's GitHub token
// stays here, so a stolen or leaked cookie value never holds a credential GitHub would take. Rows are
// keyed by the id's SHA-256: a copy of the table (a backup) holds no cookie that signs anyone in.
import { createHash, randomBytes } from 'node:crypto';
import type { Database } from './database.ts';

/** As long as GitHub's user-to-server tokens live (eight hours), so a session never outlives its token. */
export const SESSION_HOURS = 8;

export interface WebSession {
  id: string;
  login: string;
  token: string;
}

export class WebSessions {
  readonly #db: Database;
  constructor(db: Database) {
    this.#db = db;
  }

  async create(login: string, token: string): Promise<WebSession> {
    const id = randomBytes(32).toString('base64url');
    await this.#db.query(`INSERT INTO web_sessions (id, login, token, expires_at) VALUES ($1, $2, $3, now() + make_interval(hours => $4))`, [digest(id), login, token, SESSION_HOURS]);
    // Expired sessions go when new ones come: no timer, and the table stays as small as its users.
    await this.#db.query('DELETE FROM web_sessions WHERE expires_at < now()');
    return { id, login, token };
  }

  async find(id: string): Promise<WebSession | null> {
    const [row] = await this.#db.query<WebSession>('SELECT login, token FROM web_sessions WHERE id = $1 AND expires_at > now()', [digest(id)]);
    return row ? { ...row, id } : null;
  }

  async end(id: string): Promise<void> {
    await this.#db.query('DELETE FROM web_sessions WHERE id = $1', [digest(id)]);
  }
}

const digest = (id: string) => createHash('sha256').update(id).digest('base64url');
