import type { Migration } from '@libs/database';

/**
 * `search_chunks.tsv` becomes a written column (it was generated from the content, migration 2): an upload
 * writes each plain chunk's tsvector built in the app from its words' lexemes (index-text.ts: the same value
 * as `to_tsvector('english', search_index_text(content))`, which the database no longer computes a second
 * time), and that expression itself for every other chunk (SearchRepository's insertChunks, the only writer of
 * chunks). DROP EXPRESSION keeps every stored value and the GIN index, and rewrites nothing.
 *
 * A row inserted without a tsvector still gets the generated one, from a trigger: during a rolling update a
 * replica of the code before this migration inserts chunks without the column (it was generated), and those
 * passages would otherwise be stored unsearchable. The trigger does nothing for rows that come with one.
 */
export const searchWrittenTsvectorMigration: Migration = {
  id: 12,
  name: 'search_written_tsvector',
  sql: `
ALTER TABLE search_chunks ALTER COLUMN tsv DROP EXPRESSION;

CREATE FUNCTION search_chunks_default_tsv() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.tsv := to_tsvector('english'::regconfig, search_index_text(NEW.content));
  RETURN NEW;
END
$fn$;

CREATE TRIGGER search_chunks_default_tsv BEFORE INSERT ON search_chunks
  FOR EACH ROW WHEN (NEW.tsv IS NULL) EXECUTE FUNCTION search_chunks_default_tsv();
`,
};
