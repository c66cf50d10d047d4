// One interface over the two PostgreSQL engines the app runs on: embedded PGlite (default) and a
// server reached through DATABASE_URL. Both get the same schema (migrations.ts) and the same queue.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { migrate } from './migrations.ts';

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Database extends Queryable {
  readonly kind: 'embedded' | 'server';
  /** Several statements in a transaction of their own; `fn` sees every statement it runs through `tx`. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** The PGlite instance behind an embedded database (pg-boss runs over it), undefined on a server. */
  readonly pglite?: PGlite;
  /** The connection string of a server database (pg-boss opens its own pool to it). */
  readonly connectionString?: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A PostgreSQL server; when absent the embedded engine is used. */
  databaseUrl?: string;
  /** Where the embedded engine keeps its files; absent means in memory (tests). */
  dataDir?: string;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const db = options.databaseUrl ? openServer(options.databaseUrl) : await openEmbedded(options.dataDir);
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}

async function openEmbedded(dataDir: string | undefined): Promise<Database> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // int8 as a JS number, as on the server below: ids and token counts stay well inside 2^53.
  const pglite = await PGlite.create(dataDir, { parsers: { 20: Number } });
  return {
    kind: 'embedded',
    pglite,
    async query<T>(sql: string, params?: unknown[]) {
      return (await pglite.query<T>(sql, params)).rows;
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      return pglite.transaction(async (tx) =>
        fn({ query: async <R>(sql: string, params?: unknown[]) => (await tx.query<R>(sql, params)).rows }),
      );
    },
    async close() {
      if (!pglite.closed) await pglite.close();
    },
  };
}

function openServer(connectionString: string): Database {
  pg.types.setTypeParser(20, Number);
  // A server that never answers fails the connection after 10 s instead of hanging the caller.
  const pool = new pg.Pool({ connectionString, max: 10, connectionTimeoutMillis: 10_000 });
  // An idle client that loses its server must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return {
    kind: 'server',
    connectionString,
    async query<T>(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params)).rows as T[];
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({ query: async <R>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as R[] });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}
