import type { Database } from './database';

/** A real round trip (SELECT 1) so readiness fails when the database does not answer. */
export async function pingDatabase(
  db: Database,
): Promise<{ kind: string; pool: ReturnType<Database['poolStats']> }> {
  await db.query('SELECT 1');
  return { kind: db.kind, pool: db.poolStats() };
}
