import { createHash } from 'node:crypto';
import type { Database } from './database';

export interface Migration {
  /** Ordered, unique, never reused: 1, 2, 3… */
  id: number;
  name: string;
  sql: string;
}

const LOCK_KEY = 727_1001; // pg_advisory_xact_lock key reserved for Atrium migrations

function checksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex').slice(0, 16);
}

/**
 * Applies pending migrations in id order, in one transaction under an advisory lock, so replicas that
 * start together apply each migration exactly once and a failing migration leaves nothing behind.
 * A migration whose text changed after it was applied stops startup (edit by adding a new one).
 */
export async function runMigrations(db: Database, migrations: Migration[]): Promise<number[]> {
  const sorted = [...migrations].sort((a, b) => a.id - b.id);
  sorted.forEach((m, i) => {
    if (i > 0 && sorted[i - 1].id === m.id) throw new Error(`Duplicate migration id ${m.id}`);
  });
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const applied = new Map(
      (
        await tx.query<{ id: number; checksum: string; name: string }>(
          'SELECT id, name, checksum FROM schema_migrations',
        )
      ).rows.map((r) => [Number(r.id), r]),
    );
    const done: number[] = [];
    for (const m of sorted) {
      const prior = applied.get(m.id);
      if (prior) {
        if (prior.checksum !== checksum(m.sql))
          throw new Error(
            `Migration ${m.id} (${m.name}) changed after it was applied; add a new migration instead`,
          );
        continue;
      }
      await tx.exec(m.sql); // a migration may hold several statements
      await tx.query('INSERT INTO schema_migrations (id, name, checksum) VALUES ($1, $2, $3)', [
        m.id,
        m.name,
        checksum(m.sql),
      ]);
      done.push(m.id);
    }
    return done;
  });
}
