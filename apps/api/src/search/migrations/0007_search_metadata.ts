import type { Migration } from '@libs/database';

/**
 * Document metadata (issue 23): one jsonb object per document holding the user's keys and Atrium's own
 * (contentType, type, bytes, uploadedAt; title and language for documents stored from now on). Documents
 * stored before get Atrium's keys from their columns. The GIN index (jsonb_path_ops: containment, `@>`)
 * serves the filters' equality and IN conditions, which are compiled to containment (filter/filter-sql.ts).
 */
export const searchMetadataMigration: Migration = {
  id: 7,
  name: 'search_metadata',
  sql: `
DO $migration$ BEGIN
ALTER TABLE search_documents ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb;
UPDATE search_documents SET metadata = jsonb_build_object(
  'contentType', content_type,
  'type', CASE content_type
    WHEN 'application/pdf' THEN 'pdf'
    WHEN 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' THEN 'docx'
    WHEN 'text/html' THEN 'html'
    WHEN 'text/markdown' THEN 'markdown'
    WHEN 'text/plain' THEN 'text'
    WHEN 'text/csv' THEN 'csv'
    WHEN 'application/json' THEN 'json'
    ELSE split_part(content_type, '/', 2) END,
  'bytes', bytes,
  'uploadedAt', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
CREATE INDEX search_documents_metadata_idx ON search_documents USING gin (metadata jsonb_path_ops);
END $migration$;
`,
};
