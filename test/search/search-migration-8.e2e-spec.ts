// Migration 8 (issue 23) on a database that already holds documents: each keeps its id as its public id, its
// creation time as its last update, and is found, replaced and deleted by that id afterwards — on both adapters.
import { Database, runMigrations } from '@libs/database';
import { SEARCH_MIGRATIONS } from '@app/search/migrations';
import { SearchRepository } from '@app/search/search.repository';
import { DATABASE_ADAPTERS, unmigratedDatabase } from '../support/databases';

describe.each(DATABASE_ADAPTERS)('search migration 8 over stored documents on %s', (adapter) => {
  const database = unmigratedDatabase(adapter);
  let db: Database;
  beforeAll(() => {
    db = database();
  });

  it('backfills public ids and update times, and the document is then replaced under its old id', async () => {
    const before = SEARCH_MIGRATIONS.filter((m) => m.id < 8);
    expect(await runMigrations(db, before)).toEqual(before.map((m) => m.id));
    const repository = new SearchRepository(db);
    const store = { id: '5c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5' };
    await db.query("INSERT INTO search_stores (id, tenant_id, name) VALUES ($1, 'demo', 'legacy')", [
      store.id,
    ]);
    // a document as the code before migration 8 stored it (its columns only; published)
    const id = '0b6f9f4e-3c1e-4d57-9a43-6f7b1c2d3e4f';
    await db.query(
      `INSERT INTO search_documents (id, tenant_id, store_id, filename, content_type, bytes, checksum, text, chunk_count, ready)
       VALUES ($1, 'demo', $2, 'legacy.txt', 'text/plain', 60, $3, $4, 1, true)`,
      [id, store.id, 'e'.repeat(64), 'The legacy aardvark document, stored before migration 8.'],
    );
    await db.query(
      `INSERT INTO search_chunks (document_id, chunk_index, tenant_id, store_id, content) VALUES ($1, 0, 'demo', $2, $3)`,
      [id, store.id, 'The legacy aardvark document, stored before migration 8.'],
    );

    expect(
      await runMigrations(
        db,
        SEARCH_MIGRATIONS.filter((m) => m.id <= 8),
      ),
    ).toEqual([8]);
    const row = await db.query<{ same: boolean; updated: boolean; settings: unknown }>(
      `SELECT d.public_id = d.id AS same, d.updated_at = d.created_at AS updated, s.settings
       FROM search_documents d JOIN search_stores s ON s.id = d.store_id WHERE d.id = $1`,
      [id],
    );
    expect(row.rows[0]).toEqual({ same: true, updated: true, settings: {} });
    // the app's statements run on the schema of today: the later migrations first (11 counts the document)
    const later = SEARCH_MIGRATIONS.filter((m) => m.id > 8);
    expect(await runMigrations(db, later)).toEqual(later.map((m) => m.id));
    expect(await repository.findDocument(store.id, id, false)).toMatchObject({ id, externalId: null });

    const next = ['The same document, replaced after migration 8: a pangolin now.'];
    expect(
      await repository.storeDocument('demo', store.id, {
        filename: 'legacy-v2.txt',
        contentType: 'text/plain',
        bytes: 64,
        checksum: 'f'.repeat(64),
        text: next[0],
        chunks: next,
        replaces: id,
      }),
    ).toEqual({ id, replaced: true });
    const docs = await repository.listDocuments(store.id, 0, 10);
    expect(docs.map((d) => [d.id, d.filename])).toEqual([[id, 'legacy-v2.txt']]);
    expect(await repository.deleteDocument(store.id, id)).toBe(true);
    expect(await repository.listDocuments(store.id, 0, 10)).toEqual([]);
  });
});
