import type { Migration } from '@libs/database';
import { searchMigration } from './0001_search';
import { searchRelevanceMigration } from './0002_search_relevance';
import { searchSecretsMigration } from './0003_search_secrets';
import { searchGinNoPendingListMigration } from './0004_search_gin_no_pending_list';
import { searchStagedUploadsMigration } from './0005_search_staged_uploads';
import { searchEmbeddingsMigration } from './0006_search_embeddings';
import { searchMetadataMigration } from './0007_search_metadata';
import { searchReplaceSettingsMigration } from './0008_search_replace_settings';
import { searchGinBoundedPendingListMigration } from './0009_search_gin_bounded_pending_list';
import { searchVectorBytesMigration } from './0010_search_vector_bytes';
import { searchStoreCountersMigration } from './0011_search_store_counters';
import { searchWrittenTsvectorMigration } from './0012_search_written_tsvector';

/**
 * The search schema, registered by SearchModule with `DatabaseModule.forFeature`. A change is a new
 * file and a new line here with the next free id; an applied migration is never edited (the runner
 * refuses a changed checksum) and ids are never reused.
 */
export const SEARCH_MIGRATIONS: Migration[] = [
  searchMigration,
  searchRelevanceMigration,
  searchSecretsMigration,
  searchGinNoPendingListMigration,
  searchStagedUploadsMigration,
  searchEmbeddingsMigration,
  searchMetadataMigration,
  searchReplaceSettingsMigration,
  searchGinBoundedPendingListMigration,
  searchVectorBytesMigration,
  searchStoreCountersMigration,
  searchWrittenTsvectorMigration,
];
