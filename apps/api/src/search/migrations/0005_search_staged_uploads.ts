import type { Migration } from '@libs/database';

/**
 * Uploads stored in bounded steps (issue 25): a document is inserted `ready = false`, its chunks, postings and
 * words follow in statements of a few hundred chunks each — each its own turn of the database (on PGlite, one
 * session shared by every tenant) — and one short transaction publishes it (`ready = true`, the vocabulary, the
 * store's version). Until then lists, counts and searches leave it out; a failed upload's rows are removed,
 * and those of an upload whose process died are swept later (the partial index finds them).
 *
 * `search_upload_words` holds a pending document's distinct vocabulary words (collected per batch of chunks),
 * merged into `search_words` when it is published.
 */
export const searchStagedUploadsMigration: Migration = {
  id: 5,
  name: 'search_staged_uploads',
  sql: `
DO $migration$ BEGIN
ALTER TABLE search_documents ADD COLUMN ready boolean NOT NULL DEFAULT true;
CREATE INDEX search_documents_pending_idx ON search_documents (store_id, created_at) WHERE NOT ready;
CREATE TABLE search_upload_words (
  document_id uuid NOT NULL REFERENCES search_documents (id) ON DELETE CASCADE,
  word text COLLATE "C" NOT NULL,
  PRIMARY KEY (document_id, word)
);
END $migration$;
`,
};
