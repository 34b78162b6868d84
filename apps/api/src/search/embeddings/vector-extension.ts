import type { Queryable } from '@libs/database';

/** What the database offers for vectors, read at start-up (PostgreSQL only; PGlite ships no `vector`). */
export interface VectorExtensionState {
  /** `vector` can be created here (pg_available_extensions). */
  available: boolean;
  /** Its version when it is created in this database. */
  installed: string | null;
}

/** How semantic ranking runs: the vector index's child (portable), or pgvector's HNSW (see `vectorBackend`). */
export type VectorBackend = 'index-child' | 'pgvector';

/**
 * Whether this database has pgvector (`vector`), available or created. PGlite has none: nothing is asked.
 */
export async function detectVectorExtension(
  db: Queryable & { kind: 'postgres' | 'pglite' },
): Promise<VectorExtensionState> {
  if (db.kind !== 'postgres') return { available: false, installed: null };
  const r = await db.query<{ available: boolean; installed: string | null }>(
    `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available,
       (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS installed`,
  );
  const row = r.rows[0];
  return { available: !!row?.available || !!row?.installed, installed: row?.installed ?? null };
}

/**
 * The ranking a database gets. pgvector's HNSW path is not built yet (issue 22: it needs a per-dimension
 * expression index and iterative scans, pgvector ≥ 0.8, so that a store's filter does not starve the index's
 * candidates), so every database ranks in the vector index's child; detection is logged at start-up so an
 * operator sees what the database offers.
 */
export function vectorBackend(_state: VectorExtensionState): VectorBackend {
  return 'index-child';
}
