import type { Migration } from '@libs/database';

/**
 * Embeddings beside their chunks (issue 22): the vector (`real[]`, unit length, so a dot product is the
 * cosine), the model that made it (`local:use-lite-512`, `openai:<model>`) and its dimensions. A chunk whose
 * model is not the configured one is pending: the background indexer (re)embeds it, and searches never
 * compare it with a query embedded by another model. The index finds a store's pending chunks (model null,
 * or below or above the configured one: three ranges) and counts its embedded ones. Plain SQL that PGlite
 * and PostgreSQL both run (no pgvector: the ranking is SQL arithmetic over the arrays).
 */
export const searchEmbeddingsMigration: Migration = {
  id: 6,
  name: 'search_embeddings',
  sql: `
DO $migration$ BEGIN
ALTER TABLE search_chunks ADD COLUMN embedding real[];
ALTER TABLE search_chunks ADD COLUMN embedding_model text;
ALTER TABLE search_chunks ADD COLUMN embedding_dims integer;
CREATE INDEX search_chunks_embedding_model_idx ON search_chunks (store_id, embedding_model);
END $migration$;
`,
};
