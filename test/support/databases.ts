import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import { createDatabase, Database } from '@libs/database';

/** Where the Postgres tier of the suite runs; CI starts this server. Its database name must say test. */
export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  url: string;
  /** The server's `server_version` (benchmark reports name it). */
  serverVersion: string;
  drop(): Promise<void>;
}

/**
 * Creates a throwaway database (`<prefix>_<random>`, default `test_atrium_…`) next to TEST_DATABASE_URL so
 * suites and benchmarks never share state, and refuses to touch a server whose database name does not say
 * "test".
 */
export async function createTestDatabase(
  opts: {
    prefix?: string;
    /** `CREATE DATABASE` options, e.g. a locale (a constant of the spec) */ with?: string;
  } = {},
): Promise<TestDatabase> {
  const base = new URL(TEST_POSTGRES_URL);
  if (!/test/i.test(base.pathname))
    throw new Error(`Refusing destructive tests against ${base.pathname}: its name does not say test`);
  const prefix = opts.prefix ?? 'test_atrium';
  // unquoted in SQL below: lower case (as Postgres folds it), letters, digits and underscores only
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix)) throw new Error(`Invalid test database prefix "${prefix}"`);
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  let serverVersion: string;
  try {
    serverVersion = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]
      .server_version;
    await admin.query(`CREATE DATABASE ${name}${opts.with ? ` ${opts.with}` : ''}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    serverVersion,
    drop: async () => {
      const c = new Client({ connectionString: TEST_POSTGRES_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** The two adapters every database-backed e2e suite runs against: embedded PGlite and real Postgres. */
export const DATABASE_ADAPTERS = ['pglite', 'postgres'] as const;
export type DatabaseAdapter = (typeof DATABASE_ADAPTERS)[number];

/**
 * For a migration spec: registers hooks that open a database of `adapter` with no migrations run (a fresh
 * PGlite, or a throwaway Postgres database) and close it after; the spec runs the migrations it is about.
 * Returns the open database (call it inside a test).
 */
export function unmigratedDatabase(adapter: DatabaseAdapter, opts: { with?: string } = {}): () => Database {
  let pg: TestDatabase | undefined;
  let db: Database | undefined;
  beforeAll(async () => {
    if (adapter === 'postgres') pg = await createTestDatabase({ with: opts.with });
    db = createDatabase({
      url: pg?.url,
      poolMax: 2,
      statementTimeoutMs: 10_000,
      migrations: [],
      registry: new Registry(),
      extensions: ['pg_trgm'],
    });
  });
  afterAll(async () => {
    await db?.close();
    await pg?.drop();
  });
  return () => {
    if (!db) throw new Error('the database opens in beforeAll: call this inside a test');
    return db;
  };
}
