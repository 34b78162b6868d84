import type { Migration } from '@libs/database';

/**
 * Search: stores, documents and their full-text chunks. Plain PostgreSQL that PGlite runs unchanged.
 * The tenant is part of every uniqueness rule; `version` is bumped with every change to a store's
 * documents and is part of the search cache key, so a change makes old cached results unreachable.
 */
export const searchMigration: Migration = {
  id: 1,
  name: 'search_stores_documents_chunks',
  // One DO block: the migration runner sends each migration as one prepared statement, and PGlite
  // refuses several statements in one of those.
  sql: `
DO $migration$ BEGIN
CREATE TABLE search_stores (
  id uuid PRIMARY KEY,
  tenant_id text NOT NULL,
  name text NOT NULL,
  version bigint NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT search_stores_tenant_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE search_documents (
  id uuid PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  tenant_id text NOT NULL,
  store_id uuid NOT NULL REFERENCES search_stores (id) ON DELETE CASCADE,
  filename text NOT NULL,
  content_type text NOT NULL,
  bytes bigint NOT NULL CHECK (bytes >= 0),
  checksum char(64) NOT NULL,
  text text NOT NULL,
  chunk_count integer NOT NULL CHECK (chunk_count >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT search_documents_checksum_key UNIQUE (tenant_id, store_id, checksum)
);
CREATE INDEX search_documents_store_seq_idx ON search_documents (store_id, seq);

CREATE TABLE search_chunks (
  document_id uuid NOT NULL REFERENCES search_documents (id) ON DELETE CASCADE,
  chunk_index integer NOT NULL,
  tenant_id text NOT NULL,
  store_id uuid NOT NULL,
  content text NOT NULL,
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
  PRIMARY KEY (document_id, chunk_index)
);
CREATE INDEX search_chunks_tsv_idx ON search_chunks USING GIN (tsv);
CREATE INDEX search_chunks_store_idx ON search_chunks (store_id);
END $migration$;
`,
};
