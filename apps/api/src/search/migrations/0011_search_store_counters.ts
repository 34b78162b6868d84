import type { Migration } from '@libs/database';

/**
 * The store's published documents counted on its row:
 * `search_stores.document_count`, `document_terms` (their lengths in tokens summed: BM25's N and average
 * document length) and `document_bytes` (their sizes summed: the store's `documentCount` and `bytes`). A search
 * reads them with the store's key (SearchRepository.storeKey), where every search before this added up the
 * store's documents — a scan growing with the store. Kept by the statements that change what is published, in
 * their own transaction and under the store's row lock: the publication of an upload or a replacement (+ the
 * new document, − the replaced one) and a document's delete (−); a store's delete takes its row with it.
 * Each is an increment by what that statement itself published or deleted (`SET n = n + d.terms` over the
 * row it returns), never a total computed beforehand, so concurrent uploads to one store cannot lose one.
 * Never negative (CHECK): a bug that would take them below zero fails its transaction instead.
 * Backfilled here from the published documents already stored.
 */
export const searchStoreCountersMigration: Migration = {
  id: 11,
  name: 'search_store_counters',
  sql: `
DO $migration$ BEGIN
ALTER TABLE search_stores ADD COLUMN document_count bigint NOT NULL DEFAULT 0 CHECK (document_count >= 0);
ALTER TABLE search_stores ADD COLUMN document_terms bigint NOT NULL DEFAULT 0 CHECK (document_terms >= 0);
ALTER TABLE search_stores ADD COLUMN document_bytes bigint NOT NULL DEFAULT 0 CHECK (document_bytes >= 0);
UPDATE search_stores s SET document_count = d.n, document_terms = d.terms, document_bytes = d.bytes
FROM (
  SELECT store_id, count(*) AS n, coalesce(sum(terms), 0) AS terms, coalesce(sum(bytes), 0) AS bytes
  FROM search_documents WHERE ready GROUP BY store_id
) d
WHERE d.store_id = s.id;
END $migration$;
`,
};
