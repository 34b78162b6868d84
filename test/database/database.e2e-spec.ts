import { Registry } from 'prom-client';
import { createDatabase, Database, Migration, PgDatabase, runMigrations } from '@libs/database';
import { createTestDatabase, DATABASE_ADAPTERS, DatabaseAdapter, TestDatabase } from '../support/databases';

const M1: Migration = {
  id: 1,
  name: 'things',
  sql: 'CREATE TABLE things (id serial PRIMARY KEY, name text NOT NULL)',
};
const M2: Migration = {
  id: 2,
  name: 'thing_tags',
  sql: 'ALTER TABLE things ADD COLUMN tag text;\nCREATE INDEX things_tag_idx ON things (tag);', // several statements
};

describe.each(DATABASE_ADAPTERS)('Database on %s', (adapter: DatabaseAdapter) => {
  let pg: TestDatabase | undefined;
  let db: Database;
  let registry: Registry;

  const open = (reg = registry): Database =>
    createDatabase({ url: pg?.url, poolMax: 4, statementTimeoutMs: 5000, migrations: [], registry: reg });

  // one database per adapter for the whole sequence: each test builds on the schema of the one before
  beforeAll(async () => {
    if (adapter === 'postgres') pg = await createTestDatabase();
    registry = new Registry();
    db = open();
  });
  afterAll(async () => {
    await db.close();
    await pg?.drop();
  });

  it('uses the adapter the configuration asks for', () => {
    expect(db.kind).toBe(adapter);
    if (db instanceof PgDatabase) expect(db.description).not.toMatch(/:[^/]*@/); // never a password
  });

  it('applies migrations in id order exactly once, under a lock, even when replicas race', async () => {
    await db
      .query('DROP TABLE IF EXISTS things; DROP TABLE IF EXISTS schema_migrations')
      .catch(() => undefined);
    const others = adapter === 'postgres' ? [open(new Registry()), open(new Registry())] : [];
    try {
      const results = await Promise.all([db, ...others].map((d) => runMigrations(d, [M2, M1])));
      expect(results.flat().sort()).toEqual([1, 2]); // each applied by exactly one of the racers
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
    expect(await runMigrations(db, [M1, M2])).toEqual([]);
    const applied = await db.query<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id');
    expect(applied.rows.map((r) => Number(r.id))).toEqual([1, 2]);
    await db.query("INSERT INTO things (name, tag) VALUES ('a', 'b')");
  });

  it('refuses a migration whose text changed after it was applied', async () => {
    await expect(runMigrations(db, [{ ...M1, sql: M1.sql + ' -- edited' }, M2])).rejects.toThrow(
      /changed after it was applied/,
    );
  });

  it('a failing migration leaves nothing behind', async () => {
    const bad: Migration = {
      id: 3,
      name: 'broken',
      sql: 'CREATE TABLE half (id int); SELECT no_such_function()',
    };
    await expect(runMigrations(db, [M1, M2, bad])).rejects.toThrow();
    const half = await db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half'");
    expect(half.rowCount).toBe(0);
    expect((await db.query('SELECT id FROM schema_migrations WHERE id = 3')).rowCount).toBe(0);
  });

  it('transactions commit on success and roll back on error', async () => {
    await db.transaction(async (tx) => tx.query("INSERT INTO things (name) VALUES ('kept')"));
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO things (name) VALUES ('lost')");
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const names = (await db.query<{ name: string }>('SELECT name FROM things ORDER BY id')).rows.map(
      (r) => r.name,
    );
    expect(names).toContain('kept');
    expect(names).not.toContain('lost');
  });

  it('has full-text search (tsvector, websearch_to_tsquery, ts_rank_cd, ts_headline) with the same SQL', async () => {
    const r = await db.query<{ rank: number; snippet: string }>(
      `SELECT ts_rank_cd(to_tsvector('english', $1), websearch_to_tsquery('english', $2)) AS rank,
              ts_headline('english', $1, websearch_to_tsquery('english', $2), 'StartSel=<mark>,StopSel=</mark>') AS snippet`,
      ['The quick brown fox jumps', '"brown fox" -cat'],
    );
    expect(Number(r.rows[0].rank)).toBeGreaterThan(0);
    expect(r.rows[0].snippet).toContain('<mark>brown</mark>');
  });

  it('times every statement in db_query_duration_seconds{operation,table} and reports the pool', async () => {
    await db.query('SELECT count(*) FROM things');
    await db.query("UPDATE things SET tag = 'x' WHERE name = 'kept'");
    const text = await registry.metrics();
    expect(text).toMatch(/db_query_duration_seconds_count\{operation="select",table="things"\} [1-9]/);
    expect(text).toMatch(/db_query_duration_seconds_count\{operation="update",table="things"\} 1/);
    for (const state of ['active', 'idle', 'waiting', 'total', 'max'])
      expect(text).toContain(`db_pool_connections{state="${state}"}`);
  });
});

describe('destructive-test guard', () => {
  it('refuses a database whose name does not say test', async () => {
    const prev = process.env.TEST_DATABASE_URL;
    jest.resetModules();
    process.env.TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
    try {
      const mod = await import('../support/databases');
      await expect(mod.createTestDatabase()).rejects.toThrow(/does not say test/);
    } finally {
      if (prev === undefined) delete process.env.TEST_DATABASE_URL;
      else process.env.TEST_DATABASE_URL = prev;
    }
  });
});
