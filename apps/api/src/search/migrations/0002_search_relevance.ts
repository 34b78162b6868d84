import type { Migration } from '@libs/database';

/**
 * Search relevance: what typed tokens, typos, prefixes and document ranking need.
 *
 * - `search_index_text(content)`: the text the index sees — every run of characters that are not letters or
 *   digits becomes a space, so URLs, hosts, paths, dotted/underscored identifiers and hyphenated words are
 *   indexed by their parts (`github.com/foo` → `github com foo`), and each dotted/underscored/hyphenated
 *   compound is appended once more joined (`node.js` → `nodejs`, `e-mail` → `email`). The chunks' tsvector is
 *   generated from it (English stemming kept), and it is SQL so PostgreSQL and PGlite index identically.
 * - `search_postings`: a per-document inverted index (store, lexeme, document, term frequency, document
 *   length) maintained in the upload transaction — document matching and BM25 read posting lists instead
 *   of every chunk, and never join the documents for their length.
 * - `search_words`: each store's vocabulary (surface words of at most 64 characters, their lexeme, how many
 *   documents hold them): typo candidates through a trigram GIN index (pg_trgm's `%`, then the store),
 *   prefixes through the C-collated primary key, highlighting through (store, lexeme).
 * - `search_documents.terms`: document length in tokens (BM25 length normalisation).
 *
 * Existing documents are backfilled here, so a store uploaded before this migration is searchable at once.
 */
export const searchRelevanceMigration: Migration = {
  id: 2,
  name: 'search_relevance_postings_vocabulary',
  sql: `
DO $migration$ BEGIN
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE FUNCTION search_index_text(content text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
  SELECT regexp_replace(content, '[^[:alnum:]]+', ' ', 'g') || coalesce(' ' || (
    SELECT string_agg(regexp_replace(m[1], '[^[:alnum:]]+', '', 'g'), ' ')
    FROM regexp_matches(content, '([[:alnum:]]+(?:[._-][[:alnum:]]+)+)', 'g') AS m
  ), '')
$fn$;

ALTER TABLE search_chunks DROP COLUMN tsv;
ALTER TABLE search_chunks ADD COLUMN tsv tsvector
  GENERATED ALWAYS AS (to_tsvector('english'::regconfig, search_index_text(content))) STORED;
CREATE INDEX search_chunks_tsv_idx ON search_chunks USING GIN (tsv);

ALTER TABLE search_documents ADD COLUMN terms integer NOT NULL DEFAULT 0;

CREATE TABLE search_postings (
  store_id uuid NOT NULL REFERENCES search_stores (id) ON DELETE CASCADE,
  lexeme text COLLATE "C" NOT NULL,
  document_id uuid NOT NULL,
  tf integer NOT NULL,
  dl integer NOT NULL,
  -- tf and dl in the key's leaf pages: a posting list is one index range, read without the table
  PRIMARY KEY (store_id, lexeme, document_id) INCLUDE (tf, dl)
);

-- a small sample is enough for the planner here (the statements go through the primary key), and keeps
-- the ANALYZE that PGlite needs (it has no autovacuum) short
ALTER TABLE search_postings ALTER COLUMN lexeme SET STATISTICS 10, ALTER COLUMN document_id SET STATISTICS 10,
  ALTER COLUMN store_id SET STATISTICS 10, ALTER COLUMN tf SET STATISTICS 10, ALTER COLUMN dl SET STATISTICS 10;

CREATE TABLE search_words (
  store_id uuid NOT NULL REFERENCES search_stores (id) ON DELETE CASCADE,
  word text COLLATE "C" NOT NULL,
  lexeme text COLLATE "C" NOT NULL,
  docs integer NOT NULL CHECK (docs > 0),
  PRIMARY KEY (store_id, word)
);
CREATE INDEX search_words_lexeme_idx ON search_words (store_id, lexeme);
CREATE INDEX search_words_trgm_idx ON search_words USING GIN (word gin_trgm_ops);

INSERT INTO search_postings (store_id, lexeme, document_id, tf, dl)
  SELECT c.store_id, u.lexeme, c.document_id, sum(coalesce(array_length(u.positions, 1), 1)), 0
  FROM search_chunks c, unnest(c.tsv) u
  GROUP BY c.store_id, u.lexeme, c.document_id;
UPDATE search_documents d SET terms = p.terms
  FROM (SELECT document_id, sum(tf)::int AS terms FROM search_postings GROUP BY document_id) p
  WHERE p.document_id = d.id;
UPDATE search_postings p SET dl = d.terms FROM search_documents d WHERE d.id = p.document_id;
INSERT INTO search_words (store_id, word, lexeme, docs)
  SELECT w.store_id, w.word, min(u.lexeme), count(DISTINCT w.document_id)
  FROM (
    SELECT DISTINCT c.store_id, c.document_id, lower(t) AS word
    FROM search_chunks c, regexp_split_to_table(search_index_text(c.content), ' ') AS t
    WHERE t <> '' AND length(t) <= 64
  ) w, unnest(to_tsvector('english', w.word)) u
  GROUP BY w.store_id, w.word;
END $migration$;
`,
};
