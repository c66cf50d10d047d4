// The databases the store and queue suites run on: always embedded PGlite, and a PostgreSQL server
// when MISSIONS_TEST_DATABASE_URL names one (CI sets it). Each server run gets a database of its own.
import pg from 'pg';

export interface TestDatabaseTarget {
  name: string;
  /** A fresh database URL, or undefined for the in-memory embedded engine. */
  create(): Promise<string | undefined>;
  drop(): Promise<void>;
}

export function databaseTargets(): TestDatabaseTarget[] {
  const targets: TestDatabaseTarget[] = [{ name: 'embedded PGlite', create: async () => undefined, drop: async () => {} }];
  const server = process.env.MISSIONS_TEST_DATABASE_URL;
  if (server) {
    const created: string[] = [];
    targets.push({
      name: 'PostgreSQL server',
      async create() {
        const name = `missions_test_${process.pid}_${Date.now()}_${created.length}`;
        const admin = new pg.Client({ connectionString: server });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${name}`);
        await admin.end();
        created.push(name);
        const url = new URL(server);
        url.pathname = `/${name}`;
        return url.toString();
      },
      async drop() {
        const admin = new pg.Client({ connectionString: server });
        await admin.connect();
        for (const name of created.splice(0)) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      },
    });
  }
  return targets;
}
