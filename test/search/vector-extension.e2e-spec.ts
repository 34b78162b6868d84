import { Client } from 'pg';
import { detectVectorExtension } from '@app/search/embeddings/vector-extension';
import { TEST_POSTGRES_URL } from '../support/databases';

/**
 * pgvector detection against the real PostgreSQL of the test machine, which has no `vector` extension: the
 * absent path, asked as the app asks it at start-up. (A database with pgvector is not available here.)
 */
describe('pgvector detection (PostgreSQL)', () => {
  let client: Client;
  beforeAll(async () => {
    client = new Client({ connectionString: TEST_POSTGRES_URL });
    await client.connect();
  });
  afterAll(() => client.end());

  const asDatabase = (kind: 'postgres' | 'pglite') => ({
    kind,
    query: async <T>(sql: string, params?: unknown[]) => {
      const r = await client.query(sql, params);
      return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
    },
    exec: async (sql: string) => {
      await client.query(sql);
    },
  });

  it('reports what pg_available_extensions and pg_extension say about vector', async () => {
    const truth = await client.query<{ available: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available`,
    );
    const state = await detectVectorExtension(asDatabase('postgres'));
    expect(state.available).toBe(truth.rows[0].available);
    if (!truth.rows[0].available) expect(state).toEqual({ available: false, installed: null });
  });

  it('asks PGlite nothing (it ships no vector extension)', async () => {
    const db = asDatabase('pglite');
    const query = jest.spyOn(db, 'query');
    expect(await detectVectorExtension(db)).toEqual({ available: false, installed: null });
    expect(query).not.toHaveBeenCalled();
  });
});
