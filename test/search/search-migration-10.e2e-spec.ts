// Migration 10 (issue 22) on a database that already holds vectors: each `real[]` becomes the same float32
// components as big-endian bytes (what the vector index loads), and the store row gains its embedding counts
// column — on both adapters.
import { Database, runMigrations } from '@libs/database';
import { SEARCH_MIGRATIONS } from '@app/search/migrations';
import { DATABASE_ADAPTERS, unmigratedDatabase } from '../support/databases';

describe.each(DATABASE_ADAPTERS)('search migration 10 over stored vectors on %s', (adapter) => {
  const database = unmigratedDatabase(adapter);
  let db: Database;
  beforeAll(() => {
    db = database();
  });

  it('converts every real[] vector to float32 bytes, exactly', async () => {
    const before = SEARCH_MIGRATIONS.filter((m) => m.id < 10);
    expect(await runMigrations(db, before)).toEqual(before.map((m) => m.id));
    const store = '5c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5';
    const doc = '0b6f9f4e-3c1e-4d57-9a43-6f7b1c2d3e4f';
    await db.query("INSERT INTO search_stores (id, tenant_id, name) VALUES ($1, 'demo', 'legacy')", [store]);
    await db.query(
      `INSERT INTO search_documents (id, public_id, tenant_id, store_id, filename, content_type, bytes, checksum, text, chunk_count, ready)
       VALUES ($1, $1, 'demo', $2, 'legacy.txt', 'text/plain', 10, $3, 'two chunks', 2, true)`,
      [doc, store, 'e'.repeat(64)],
    );
    const vector = [0.5, -0.25, 0.1, 1e-7];
    await db.query(
      `INSERT INTO search_chunks (document_id, chunk_index, tenant_id, store_id, content, embedding, embedding_model, embedding_dims)
       VALUES ($1, 0, 'demo', $2, 'one', $3::real[], 'm', 4), ($1, 1, 'demo', $2, 'two', NULL, NULL, NULL)`,
      [doc, store, vector],
    );

    expect(
      await runMigrations(
        db,
        SEARCH_MIGRATIONS.filter((m) => m.id <= 10),
      ),
    ).toEqual([10]);
    const rows = await db.query<{ chunk: number; v: Uint8Array | null }>(
      'SELECT chunk_index AS chunk, embedding_f32 AS v FROM search_chunks ORDER BY chunk_index',
    );
    const bytes = Buffer.from(rows.rows[0].v ?? []);
    expect(bytes.length).toBe(16);
    const expected = Float32Array.from(vector);
    for (let i = 0; i < 4; i++) expect(bytes.readFloatBE(i * 4)).toBe(expected[i]);
    expect(rows.rows[1].v).toBeNull();
    const counts = await db.query<{ c: unknown }>('SELECT embedding_counts AS c FROM search_stores');
    expect(counts.rows[0].c).toBeNull();
  });
});
