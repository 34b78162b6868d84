import type { Migration } from '@libs/database';

/**
 * The search feature's GIN indexes (chunks' tsvector, vocabulary's trigrams) with a small pending list
 * (issue 23, item 8), instead of none (migration 4).
 *
 * Without a pending list every chunk inserted walks the GIN tree once per distinct lexeme it holds: measured,
 * that was half the cost of storing a chunk. With one, inserts append to the list, and when it outgrows
 * `gin_pending_list_limit` the inserting statement merges it into the tree in one sorted pass (or VACUUM
 * does, which SearchRepository.noteChanges runs after uploads). A search through the index reads the list
 * too: migration 4 turned it off because a 4 MB list (the default limit) cost every typo lookup and chunk
 * statement tens of milliseconds on PGlite. The limits here (kB, the smallest PostgreSQL allows for the
 * vocabulary) keep what a search can find pending to a few hundred kB at most, merged during uploads.
 */
export const searchGinBoundedPendingListMigration: Migration = {
  id: 9,
  name: 'search_gin_bounded_pending_list',
  sql: `
DO $migration$ BEGIN
ALTER INDEX search_chunks_tsv_idx SET (fastupdate = on, gin_pending_list_limit = 256);
ALTER INDEX search_words_trgm_idx SET (fastupdate = on, gin_pending_list_limit = 64);
END $migration$;
`,
};
