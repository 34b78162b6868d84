import type { Migration } from '@libs/database';

/**
 * The search feature's GIN indexes (chunks' tsvector, vocabulary's trigrams) without a pending list.
 *
 * With `fastupdate` on (PostgreSQL's default) a GIN index keeps new entries in an unsorted pending list of up
 * to `gin_pending_list_limit` (4 MB) until a VACUUM or a full list merges them, and every search through the
 * index reads that whole list: after an upload, each typo lookup and each chunk statement of a query paid for
 * the documents stored since the last merge (on PGlite, which runs PostgreSQL as WebAssembly, tens of
 * milliseconds a statement). Search latency matters more here than upload speed, which PostgreSQL's
 * documentation names as the reason to turn it off. Entries already pending are merged now.
 */
export const searchGinNoPendingListMigration: Migration = {
  id: 4,
  name: 'search_gin_no_pending_list',
  sql: `
DO $migration$ BEGIN
ALTER INDEX search_chunks_tsv_idx SET (fastupdate = off);
ALTER INDEX search_words_trgm_idx SET (fastupdate = off);
PERFORM gin_clean_pending_list('search_chunks_tsv_idx'::regclass);
PERFORM gin_clean_pending_list('search_words_trgm_idx'::regclass);
END $migration$;
`,
};
