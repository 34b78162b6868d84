import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import {
  createDatabase,
  Database,
  DatabaseTimeoutError,
  DatabaseUnavailableError,
  PGLITE_MAX_MEMORY_BYTES,
  PgliteDatabase,
  pgliteWorkerFlags,
} from '@libs/database';
import { createTestDatabase, DATABASE_ADAPTERS, DatabaseAdapter, TestDatabase } from '../support/databases';

// Runs until stopped from outside: PGlite ignores statement_timeout, Postgres cancels it.
const ENDLESS = 'SELECT count(*) FROM generate_series(1, 10000000000)';

// One data dir for the file: PGlite's initdb is the slowest part, done once (each describe closes its
// databases before the next one opens the same files).
let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'atrium-bounds-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

async function metric(registry: Registry, line: string): Promise<number> {
  const text = await registry.metrics();
  const m = new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** The longest gap between timer ticks while fn runs: what a blocked event loop shows. */
async function loopGapDuring<T>(
  fn: () => Promise<T>,
): Promise<{ result: PromiseSettledResult<T>; gapMs: number }> {
  let last = performance.now();
  let gapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    gapMs = Math.max(gapMs, now - last);
    last = now;
  }, 10);
  const [result] = await Promise.allSettled([fn()]);
  clearInterval(timer);
  return { result, gapMs };
}

describe.each(DATABASE_ADAPTERS)('statement bounds on %s', (adapter: DatabaseAdapter) => {
  let pg: TestDatabase | undefined;
  let db: Database;
  let registry: Registry;

  beforeAll(async () => {
    if (adapter === 'postgres') pg = await createTestDatabase();
    registry = new Registry();
    db = createDatabase({
      url: pg?.url,
      dataDir,
      poolMax: 2,
      statementTimeoutMs: 1500,
      queueTimeoutMs: 60_000, // a restart on a busy machine can take seconds; the queue bound is tested below
      migrations: [],
      registry,
      extensions: ['pg_trgm'],
    });
    if (db instanceof PgliteDatabase) await db.ready();
    await db.exec('CREATE TABLE kept (id int PRIMARY KEY, note text NOT NULL)');
  });
  afterAll(async () => {
    await db.close();
    await pg?.drop();
  });

  it('loads the contrib extensions the options ask for (pg_trgm)', async () => {
    await db.exec('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    const r = await db.query<{ s: number }>("SELECT similarity('handbook', 'handbok') AS s");
    expect(r.rows[0].s).toBeGreaterThan(0.3);
  });

  it('stops a statement over its bound with DatabaseTimeoutError; the event loop stays free meanwhile', async () => {
    const { result, gapMs } = await loopGapDuring(() => db.query(ENDLESS));
    expect(result.status).toBe('rejected');
    const err = (result as PromiseRejectedResult).reason as DatabaseTimeoutError;
    expect(err).toBeInstanceOf(DatabaseTimeoutError);
    expect(err.code).toBe('DATABASE_TIMEOUT');
    expect(err.adapter).toBe(adapter === 'postgres' ? 'pg' : 'pglite');
    // ticks every 10 ms; a statement on the event loop would show a gap of the whole 1.5 s bound
    expect(gapMs).toBeLessThan(750);
    const label = adapter === 'postgres' ? 'pg' : 'pglite';
    expect(await metric(registry, `db_query_timeouts_total{adapter="${label}"}`)).toBe(1);
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('a tighter bound for one call (withStatementTimeout) holds for its statements only', async () => {
    await expect(db.withStatementTimeout(300, () => db.query(ENDLESS))).rejects.toMatchObject({
      code: 'DATABASE_TIMEOUT',
      timeoutMs: 300,
    });
    // inside a transaction too
    await expect(
      db.withStatementTimeout(300, () => db.transaction((tx) => tx.query(ENDLESS))),
    ).rejects.toBeInstanceOf(DatabaseTimeoutError);
    if (adapter === 'postgres') {
      // the connection went back to the pool with the default bound, not the tight one
      const shown = await Promise.all(
        [1, 2].map(() => db.query<{ statement_timeout: string }>('SHOW statement_timeout')),
      );
      for (const r of shown) expect(r.rows[0].statement_timeout).toBe('1500ms');
    }
    await expect(db.query('SELECT 1')).resolves.toMatchObject({ rowCount: 1 });
  });

  it('keeps everything committed before a statement was stopped; the stopped transaction leaves nothing', async () => {
    await db.query("INSERT INTO kept VALUES (1, 'before')");
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO kept VALUES (2, 'committed')");
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query("INSERT INTO kept VALUES (3, 'lost')");
        await tx.query(ENDLESS);
      }),
    ).rejects.toBeInstanceOf(DatabaseTimeoutError);
    const r = await db.query<{ id: number; note: string }>('SELECT id, note FROM kept ORDER BY id');
    expect(r.rows).toEqual([
      { id: 1, note: 'before' },
      { id: 2, note: 'committed' },
    ]);
    // the table still takes writes: no lock or aborted transaction left behind
    await db.query("INSERT INTO kept VALUES (3, 'after')");
    expect((await db.query('SELECT 1 FROM kept')).rowCount).toBe(3);
  });
});

describe('the PGlite worker', () => {
  // the same files as createDatabase({dataDir}) uses
  const open = (extra: Partial<ConstructorParameters<typeof PgliteDatabase>[0]> = {}) =>
    new PgliteDatabase({
      dataDir: join(dataDir, 'pglite'),
      statementTimeoutMs: 1500,
      queueTimeoutMs: 60_000, // longer than a restart takes on a busy machine
      ...extra,
    });

  it('restarts the worker after a timeout and runs the statements queued behind it there', async () => {
    const registry = new Registry();
    const db = createDatabase({
      dataDir,
      poolMax: 1,
      statementTimeoutMs: 1500,
      queueTimeoutMs: 60_000, // longer than a restart takes on a busy machine
      migrations: [],
      registry,
    });
    try {
      if (db instanceof PgliteDatabase) await db.ready();
      await db.exec('CREATE TABLE t (id int PRIMARY KEY)');
      await db.query('INSERT INTO t VALUES (1)');
      const slow = db.query(ENDLESS);
      // queued behind the slow statement: never sent to the worker, so sent to the new one instead
      const queued = [db.query('INSERT INTO t VALUES (2)'), db.query('SELECT count(*)::int AS n FROM t')];
      expect(db.poolStats()).toMatchObject({ active: 1, waiting: 2 });
      await expect(slow).rejects.toBeInstanceOf(DatabaseTimeoutError);
      const [, count] = await Promise.all(queued);
      expect(count.rows).toEqual([{ n: 2 }]);
      expect(await metric(registry, 'db_worker_restarts_total')).toBe(1);
      expect(await metric(registry, 'db_query_timeouts_total{adapter="pglite"}')).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('a statement that waits longer than the queue bound fails without running', async () => {
    const db = open({ queueTimeoutMs: 300 });
    try {
      await db.ready();
      const slow = db.query(ENDLESS);
      const waiting = db.query('INSERT INTO t VALUES (99)');
      await expect(waiting).rejects.toMatchObject({ code: 'DATABASE_TIMEOUT', phase: 'queue' });
      await expect(slow).rejects.toMatchObject({ code: 'DATABASE_TIMEOUT', phase: 'statement' });
      await db.ready(); // the restarted worker
      expect((await db.query('SELECT 1 FROM t WHERE id = 99')).rowCount).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('replaces a worker that died on its own; its statement fails, the next one runs', async () => {
    const registry = new Registry();
    const db = createDatabase({ dataDir, poolMax: 1, statementTimeoutMs: 5000, migrations: [], registry });
    try {
      if (db instanceof PgliteDatabase) await db.ready();
      const running = db.query(ENDLESS);
      await new Promise((r) => setTimeout(r, 200));
      // as a WASM abort or the kernel's OOM killer would: the process ends without answering
      (db as unknown as { worker: { kill(signal: string): boolean } }).worker.kill('SIGKILL');
      await expect(running).rejects.toBeInstanceOf(DatabaseUnavailableError);
      expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 2 }]);
      expect(await metric(registry, 'db_worker_restarts_total')).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('gives memory back: a worker whose WASM heap passed the bound is replaced while idle', async () => {
    const db = open({ recycleAboveBytes: 1 });
    try {
      await db.ready();
      await db.query('INSERT INTO t VALUES (3)');
      // every statement now ends with a replacement; the data and the session survive them
      const rows = await Promise.all([4, 5, 6].map((id) => db.query('INSERT INTO t VALUES ($1)', [id])));
      expect(rows.map((r) => r.rowCount)).toEqual([1, 1, 1]);
      expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 6 }]);
    } finally {
      await db.close();
    }
  });

  it('starts the worker with its heap limits given at spawn, and reports its resident memory', async () => {
    const db = open();
    try {
      await db.ready();
      await db.query('SELECT 1');
      const pid = (db as unknown as { worker: { pid: number } }).worker.pid;
      // the flags are on the worker's command line (this Node accepts all of them), none set at run time
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toEqual(expect.arrayContaining(pgliteWorkerFlags(PGLITE_MAX_MEMORY_BYTES)));
      const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;
      expect(db.workerMemoryBytes).toBeGreaterThan(rss / 2);
      expect(db.workerMemoryBytes).toBeLessThan(rss * 2);
    } finally {
      await db.close();
    }
  });

  it('closes cleanly: queued statements fail with DatabaseUnavailableError, the data stays', async () => {
    const db = open();
    await db.ready();
    const busy = db.query('SELECT pg_sleep(0.3)');
    const queued = db.query('SELECT 1');
    await db.close();
    await expect(busy).resolves.toMatchObject({ rowCount: 1 });
    await expect(queued).rejects.toBeInstanceOf(DatabaseUnavailableError);
    await expect(db.query('SELECT 1')).rejects.toBeInstanceOf(DatabaseUnavailableError);
    const again = open();
    try {
      await again.ready();
      expect((await again.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 6 }]);
    } finally {
      await again.close();
    }
  });
});
