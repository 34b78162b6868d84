// Migration 11 on a database that already holds documents: each store row gains its published documents'
// count, total length in tokens and total bytes, added up from the documents stored before it (a document still
// being stored, `ready = false`, left out; a store without documents at zero) — on both adapters. The app's own
// statements then keep the backfilled counters exact.
import { Database, runMigrations } from '@libs/database';
import { SEARCH_MIGRATIONS } from '@app/search/migrations';
import { SearchRepository } from '@app/search/search.repository';
import { DATABASE_ADAPTERS, unmigratedDatabase } from '../support/databases';

const FULL = '6d2e3f40-5b6c-4d7e-8f90-a1b2c3d4e5f6';
const EMPTY = '7e3f4051-6c7d-4e8f-9a01-b2c3d4e5f607';
const OTHER = '8f405162-7d8e-4f90-8b12-c3d4e5f60718';

describe.each(DATABASE_ADAPTERS)('search migration 11 over stored documents on %s', (adapter) => {
  const database = unmigratedDatabase(adapter);
  let db: Database;
  beforeAll(() => {
    db = database();
  });

  const counters = async () =>
    (
      await db.query<{ id: string; documents: number; terms: number; bytes: number }>(
        `SELECT id, document_count::float8 AS documents, document_terms::float8 AS terms,
           document_bytes::float8 AS bytes
         FROM search_stores ORDER BY name`,
      )
    ).rows.map((r) => ({
      ...r,
      documents: Number(r.documents),
      terms: Number(r.terms),
      bytes: Number(r.bytes),
    }));

  it('backfills every store’s counters from its published documents, and the app keeps them from there', async () => {
    const before = SEARCH_MIGRATIONS.filter((m) => m.id < 11);
    expect(await runMigrations(db, before)).toEqual(before.map((m) => m.id));
    await db.query(
      `INSERT INTO search_stores (id, tenant_id, name) VALUES ($1, 'demo', 'full'), ($2, 'demo', 'empty'),
         ($3, 'demo', 'other')`,
      [FULL, EMPTY, OTHER],
    );
    // [store, terms, bytes, ready]
    const documents: Array<[string, number, number, boolean]> = [
      [FULL, 120, 1000, true],
      [FULL, 30, 250, true],
      [FULL, 7, 64, true],
      [FULL, 500, 9000, false], // still being stored when the migration runs: not counted
      // sums past a 32-bit integer (a document's terms is one): the counters are bigint
      [OTHER, 2_000_000_000, 3_000_000_000, true],
      [OTHER, 2_000_000_000, 3_000_000_000, true],
    ];
    const ids: string[] = [];
    for (const [i, [store, terms, bytes, ready]] of documents.entries()) {
      const id = `0c7e8f90-a1b2-4c3d-8e4f-5a6b7c8d9e${String(i).padStart(2, '0')}`;
      ids.push(id);
      await db.query(
        `INSERT INTO search_documents (id, public_id, tenant_id, store_id, filename, content_type, bytes, checksum,
           text, chunk_count, ready, terms)
         VALUES ($1, $1, 'demo', $2, $3, 'text/plain', $4, $5, 'stored before migration 11', 0, $6, $7)`,
        [id, store, `legacy-${i}.txt`, bytes, String(i).repeat(64), ready, terms],
      );
    }

    expect(
      await runMigrations(
        db,
        SEARCH_MIGRATIONS.filter((m) => m.id <= 11),
      ),
    ).toEqual([11]);
    expect(await counters()).toEqual([
      { id: EMPTY, documents: 0, terms: 0, bytes: 0 },
      { id: FULL, documents: 3, terms: 157, bytes: 1314 },
      { id: OTHER, documents: 2, terms: 4_000_000_000, bytes: 6_000_000_000 },
    ]);
    const repository = new SearchRepository(db);
    expect(await repository.storeKey('demo', 'full')).toMatchObject({
      id: FULL,
      documents: 3,
      totalTerms: 157,
    });
    expect(await repository.findStore('demo', 'full')).toMatchObject({ documentCount: 3, bytes: 1314 });

    // a document stored before the migration is taken off exactly by the app's delete
    expect(await repository.deleteDocument(FULL, ids[1])).toBe(true);
    expect((await counters())[1]).toEqual({ id: FULL, documents: 2, terms: 127, bytes: 1064 });
  });
});
