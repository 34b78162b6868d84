// Migration 7 (issue 23) on a database holding documents stored before it: they get Atrium's own metadata keys
// from their columns, and a filter on metadata runs as compiled (parameterised) on both adapters.
import { randomUUID } from 'node:crypto';
import { Database, runMigrations } from '@libs/database';
import { SEARCH_MIGRATIONS } from '@app/search/migrations';
import { parseFilter } from '@app/search/filter/filter-parser';
import { filterSql } from '@app/search/filter/filter-sql';
import { DATABASE_ADAPTERS, unmigratedDatabase } from '../support/databases';

describe.each(DATABASE_ADAPTERS)('search metadata migration on %s', (adapter) => {
  const database = unmigratedDatabase(adapter);
  let db: Database;
  beforeAll(() => {
    db = database();
  });

  it("backfills Atrium's keys for documents stored before it, and filters on them", async () => {
    if (adapter === 'postgres') await db.exec('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    expect(
      await runMigrations(
        db,
        SEARCH_MIGRATIONS.filter((m) => m.id < 7),
      ),
    ).toEqual(SEARCH_MIGRATIONS.filter((m) => m.id < 7).map((m) => m.id));
    const store = randomUUID();
    await db.query("INSERT INTO search_stores (id, tenant_id, name) VALUES ($1, 'demo', 'old')", [store]);
    const docs: Array<[string, string, number]> = [
      ['a.pdf', 'application/pdf', 1000],
      ['b.md', 'text/markdown', 20],
    ];
    for (const [filename, type, bytes] of docs)
      await db.query(
        `INSERT INTO search_documents (id, tenant_id, store_id, filename, content_type, bytes, checksum, text, chunk_count, created_at)
         VALUES ($1, 'demo', $2, $3, $4, $5, $6, 'text', 0, '2025-06-01T12:00:00Z')`,
        [randomUUID(), store, filename, type, bytes, filename.padEnd(64, '0')],
      );
    expect(
      await runMigrations(
        db,
        SEARCH_MIGRATIONS.filter((m) => m.id <= 7),
      ),
    ).toEqual([7]);
    const rows = await db.query<{ filename: string; metadata: Record<string, unknown> }>(
      'SELECT filename, metadata FROM search_documents ORDER BY filename',
    );
    expect(rows.rows).toEqual([
      {
        filename: 'a.pdf',
        metadata: {
          contentType: 'application/pdf',
          type: 'pdf',
          bytes: 1000,
          uploadedAt: '2025-06-01T12:00:00.000Z',
        },
      },
      {
        filename: 'b.md',
        metadata: {
          contentType: 'text/markdown',
          type: 'markdown',
          bytes: 20,
          uploadedAt: '2025-06-01T12:00:00.000Z',
        },
      },
    ]);
    const params: unknown[] = [];
    const where = filterSql(
      parseFilter('type IN (pdf, docx) AND bytes >= 1000 AND uploadedAt < 2025-06-02 AND NOT title EXISTS'),
      'd.metadata',
      (v) => `$${params.push(v)}`,
    );
    const hit = await db.query<{ filename: string }>(
      `SELECT filename FROM search_documents d WHERE ${where}`,
      params,
    );
    expect(hit.rows).toEqual([{ filename: 'a.pdf' }]);
    const index = await db.query<{ indexdef: string }>(
      "SELECT indexdef FROM pg_indexes WHERE indexname = 'search_documents_metadata_idx'",
    );
    expect(index.rows[0]?.indexdef).toMatch(/USING gin \(metadata jsonb_path_ops\)/);
  });
});
