import type { Migration } from '@libs/database';

/**
 * Passage vectors as bytes, and embedding progress on the store row (issue 22, search latency):
 * - `search_chunks.embedding_f32`: the vector as float32 big-endian `bytea` (float4send per component,
 *   4 bytes each), replacing `embedding real[]` (existing vectors converted here). The vector index loads a
 *   store's vectors in pages of these bytes into its own child process and ranks there
 *   (embeddings/vector-index.ts) instead of an `unnest` per passage per query in SQL.
 * - `search_stores.embedding_counts`: `{version, model, pending, embedded}` — the store's published passages
 *   waiting for / embedded by `model` at store `version`; read with the store's key, so a search (a cache hit
 *   above all) counts nothing. Refreshed by the embedder after each batch and by a search when the version
 *   moved; null until then.
 */
export const searchVectorBytesMigration: Migration = {
  id: 10,
  name: 'search_vector_bytes',
  sql: `
DO $migration$ BEGIN
ALTER TABLE search_chunks ADD COLUMN embedding_f32 bytea;
UPDATE search_chunks c
SET embedding_f32 = (SELECT string_agg(float4send(x.v), ''::bytea ORDER BY x.o)
                     FROM unnest(c.embedding) WITH ORDINALITY AS x(v, o))
WHERE c.embedding IS NOT NULL;
ALTER TABLE search_chunks DROP COLUMN embedding;
ALTER TABLE search_stores ADD COLUMN embedding_counts jsonb;
END $migration$;
`,
};
