import type { Migration } from '@libs/database';

/**
 * Replace in place, caller ids and per-store settings (issue 23, items 3 and 4).
 *
 * - `search_documents.public_id`: the id the API shows. A replacement is stored as a new row (its own
 *   internal `id`, `ready = false`, `public_id` = the replaced document's) in the bounded steps of migration 5;
 *   one short transaction then removes the old row and publishes the new one, so searches see the old passages
 *   until the new ones are committed and never a mix. Existing rows get `public_id = id`.
 * - `external_id`: the caller's own key (`externalId`), one published document per store and key.
 * - `updated_at`: when the document's content last changed (created, or replaced).
 * - `search_stores.settings`: synonyms and stop words applied at query time (no re-index).
 *
 * Unique indexes cover published rows only: a pending replacement shares its `public_id` (and `external_id`)
 * with the document it replaces until it is published.
 */
export const searchReplaceSettingsMigration: Migration = {
  id: 8,
  name: 'search_replace_settings',
  sql: `
DO $migration$ BEGIN
ALTER TABLE search_documents ADD COLUMN public_id uuid;
UPDATE search_documents SET public_id = id;
ALTER TABLE search_documents ALTER COLUMN public_id SET NOT NULL;
ALTER TABLE search_documents ADD COLUMN external_id text;
ALTER TABLE search_documents ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
UPDATE search_documents SET updated_at = created_at;
CREATE UNIQUE INDEX search_documents_public_id_key ON search_documents (store_id, public_id) WHERE ready;
CREATE UNIQUE INDEX search_documents_external_id_key ON search_documents (store_id, external_id)
  WHERE ready AND external_id IS NOT NULL;
ALTER TABLE search_stores ADD COLUMN settings jsonb NOT NULL DEFAULT '{}'::jsonb;
END $migration$;
`,
};
