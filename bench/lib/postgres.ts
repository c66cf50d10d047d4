// A database of its own on the PostgreSQL server a benchmark runs against (MISSIONS_BENCH_DATABASE_URL,
// else this machine's 127.0.0.1:5432/test), dropped afterwards.
import pg from 'pg';

export const BENCH_SERVER = process.env.MISSIONS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh database's URL, or null when no server answers. */
export async function freshDatabase(): Promise<string | null> {
  const admin = new pg.Client({ connectionString: BENCH_SERVER, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const name = `missions_bench_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(BENCH_SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: BENCH_SERVER });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
  await admin.end();
}
