// The issue and pull request numbers that have a mission, held in memory so that the commonest
// delivery (a comment on an issue that has nothing to do with a mission) costs no database read.
// Only for the embedded engine: one process owns it (start/claims.ts), so every write that can give
// a number a mission is this process's and adds it here. On a server another process may create
// the mission, so there every comment is looked up.
import type { Database } from './database.ts';

export class MissionNumbers {
  readonly #db: Database;
  readonly #numbers = new Set<string>();
  #loaded: Promise<void> | undefined;

  constructor(db: Database) {
    this.#db = db;
  }

  /** False only when no mission has ever had this issue or pull request number in the repository. */
  async mayHave(repoId: number, number: number): Promise<boolean> {
    // Missions are never deleted and their numbers only added: what was loaded once, with every
    // number added since (by `add`, which may run while the load is under way), stays true.
    this.#loaded ??= this.#load().catch((error: unknown) => {
      this.#loaded = undefined;
      throw error;
    });
    await this.#loaded;
    return this.#numbers.has(key(repoId, number));
  }

  /** A mission now has this number (called once the write is committed). */
  add(repoId: number, number: number): void {
    this.#numbers.add(key(repoId, number));
  }

  async #load(): Promise<void> {
    const rows = await this.#db.query<{ repo_id: number; issue_number: number; pr_number: number | null }>('SELECT repo_id, issue_number, pr_number FROM missions');
    for (const row of rows) {
      this.add(row.repo_id, row.issue_number);
      if (row.pr_number !== null) this.add(row.repo_id, row.pr_number);
    }
  }
}

const key = (repoId: number, number: number) => `${repoId}#${number}`;

const numbers = new WeakMap<Database, MissionNumbers>();

/** The database's numbers, shared by every store over it in this process; none on a server. */
export function missionNumbers(db: Database): MissionNumbers | undefined {
  if (db.kind !== 'embedded') return undefined;
  let held = numbers.get(db);
  if (!held) numbers.set(db, (held = new MissionNumbers(db)));
  return held;
}
