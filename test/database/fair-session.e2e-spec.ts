// Issue 25, item 3: PGlite's one session is shared fairly between tenants. The key of a statement is an
// opaque string the importer supplies (the app: the tenant of the current request or job); waiting
// statements are served in turn by key, so one tenant's burst cannot keep another's statement waiting
// behind all of it. The proof is an order of completions, never a duration.
import { AsyncLocalStorage } from 'node:async_hooks';
import { PgliteDatabase } from '@libs/database';

describe('PGlite session: turns between keys', () => {
  const tenant = new AsyncLocalStorage<string>();
  let db: PgliteDatabase;

  beforeAll(async () => {
    db = new PgliteDatabase({ statementTimeoutMs: 30_000, fairnessKey: () => tenant.getStore() });
    await db.ready();
  });
  afterAll(() => db?.close());

  it("a key's one statement runs right after the statement holding the session, ahead of another key's queue", async () => {
    const done: string[] = [];
    const as = (key: string, label: string) =>
      tenant.run(key, () => db.query('SELECT pg_sleep(0.05)').then(() => void done.push(label)));
    // tenant a queues twenty statements at once; b's one arrives after all of them
    const burst = Array.from({ length: 20 }, (_, i) => as('a', `a${i}`));
    await new Promise((r) => setImmediate(r));
    expect(db.poolStats()).toMatchObject({ active: 1, waiting: 19 });
    const quiet = as('b', 'b');
    await Promise.all([...burst, quiet]);
    // served in turn: b right after the statement of a's that held the session (first come would be 21st)
    expect(done.indexOf('b')).toBe(1);
    expect(done.filter((l) => l !== 'b')).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`));
  });

  it('statements without a key share one key, and a transaction holds the session from BEGIN to COMMIT', async () => {
    const done: string[] = [];
    const tx = tenant.run('a', () =>
      db.transaction(async (t) => {
        await t.query('SELECT pg_sleep(0.05)');
        await new Promise((r) => setTimeout(r, 50)); // between its statements nobody else gets in
        await t.query('SELECT 1');
        done.push('tx');
      }),
    );
    await new Promise((r) => setImmediate(r));
    const other = tenant.run('b', () => db.query('SELECT 2').then(() => void done.push('b')));
    const anonymous = db.query('SELECT 3').then(() => void done.push('none'));
    await Promise.all([tx, other, anonymous]);
    expect(done[0]).toBe('tx');
    expect(done.slice(1).sort()).toEqual(['b', 'none']);
  });
});
