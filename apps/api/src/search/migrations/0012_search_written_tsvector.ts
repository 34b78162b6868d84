import type { Migration } from '@libs/database';

/**
 * `search_chunks.tsv` becomes a written column (it was generated from the content, migration 2): an upload
 * writes each plain chunk's tsvector built in the app from its words' lexemes (index-text.ts: the same value
 * as `to_tsvector('english', search_index_text(content))`, which the database no longer computes a second
 * time), and that expression itself for every other chunk (SearchRepository's insertChunks, the only writer of
 * chunks). DROP EXPRESSION keeps every stored value and the GIN index, and rewrites nothing.
 */
export const searchWrittenTsvectorMigration: Migration = {
  id: 12,
  name: 'search_written_tsvector',
  sql: `
ALTER TABLE search_chunks ALTER COLUMN tsv DROP EXPRESSION;
`,
};
