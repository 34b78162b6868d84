import { childCommand, ExtractionPool } from '@app/extraction';
import type { VectorHit, VectorJob, VectorPage, VectorReply } from './vector-index.protocol';

/** The vector index's child, for real (its own process), spoken to as VectorIndex does. */
describe('the vector index child', () => {
  let pool: ExtractionPool;
  const run = (job: VectorJob) => pool.run<VectorReply>(job);

  beforeAll(() => {
    pool = new ExtractionPool({
      ...childCommand(require.resolve('./vector-index'), 'vector-index.worker'),
      size: 1,
      heapMb: 128,
      rssMb: 512,
      maxJobsPerWorker: Number.MAX_SAFE_INTEGER,
      timeoutMs: 60_000,
      cpuMs: 60_000,
      queueMax: 16,
      idleMs: 60_000,
    });
  });
  afterAll(() => pool.close());

  // deterministic unit vectors
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const unit = (dims: number) => {
    const v = Array.from({ length: dims }, random);
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const page = (rows: Array<{ doc: string; chunk: number; v: number[] }>): VectorPage => {
    const bytes = Buffer.alloc(rows.length * rows[0].v.length * 4);
    rows.forEach((r, i) => r.v.forEach((x, j) => bytes.writeFloatBE(x, (i * r.v.length + j) * 4)));
    return { documentIds: rows.map((r) => r.doc), chunkIndexes: rows.map((r) => r.chunk), vectors: bytes };
  };
  const doc = (i: number) => `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`;
  const exact = (rows: Array<{ doc: string; chunk: number; v: number[] }>, q: number[]) =>
    rows
      .map((r) => ({
        documentId: r.doc,
        chunkIndex: r.chunk,
        similarity: r.v.reduce((s, x, i) => s + x * q[i], 0),
      }))
      .sort((a, b) => b.similarity - a.similarity);

  const DIMS = 64;
  const rows = Array.from({ length: 300 }, (_, i) => ({
    doc: doc(i % 30),
    chunk: Math.floor(i / 30),
    v: unit(DIMS),
  }));

  it('ranks a loaded store like the exact cosine (int8 within 0.02), and says when a key is not loaded', async () => {
    const q = unit(DIMS);
    expect(await run({ kind: 'rank', key: 's1:1', query: q, limit: 10 })).toEqual({ kind: 'missing' });
    expect(
      (
        await run({
          kind: 'begin',
          key: 's1:1',
          store: 's1',
          rows: rows.length,
          dims: DIMS,
          budgetBytes: 1e6,
        })
      ).kind,
    ).toBe('ok');
    for (let i = 0; i < rows.length; i += 128)
      expect((await run({ kind: 'append', key: 's1:1', page: page(rows.slice(i, i + 128)) })).kind).toBe(
        'ok',
      );
    expect((await run({ kind: 'end', key: 's1:1' })).kind).toBe('ok');
    const reply = await run({ kind: 'rank', key: 's1:1', query: q, limit: 10 });
    if (reply.kind !== 'hits') throw new Error(reply.kind);
    const truth = exact(rows, q);
    expect(reply.hits).toHaveLength(10);
    reply.hits.forEach((h: VectorHit, i) => {
      const t = truth.find((x) => x.documentId === h.documentId && x.chunkIndex === h.chunkIndex);
      expect(Math.abs((t?.similarity ?? 9) - h.similarity)).toBeLessThan(0.02);
      if (i > 0) expect(h.similarity).toBeLessThanOrEqual(reply.hits[i - 1].similarity);
    });
    // the best is the exact best (random vectors: no near tie at the top)
    expect(reply.hits[0]).toMatchObject({ documentId: truth[0].documentId, chunkIndex: truth[0].chunkIndex });
    // a query of other dimensions is never compared with these vectors
    expect(await run({ kind: 'rank', key: 's1:1', query: unit(32), limit: 10 })).toEqual({ kind: 'missing' });
  });

  it("applies the query's phrases (only) and exclusions to documents", async () => {
    const q = unit(DIMS);
    const only = await run({
      kind: 'rank',
      key: 's1:1',
      query: q,
      limit: 50,
      only: [doc(3), doc(4)],
      exclude: [doc(4)],
    });
    if (only.kind !== 'hits') throw new Error(only.kind);
    expect(new Set(only.hits.map((h) => h.documentId))).toEqual(new Set([doc(3)]));
    expect(only.hits).toHaveLength(10); // the 10 chunks of document 3
  });

  it('refuses a store over the budget, drops the least recently used store for a new one, one version per store', async () => {
    const small = rows.slice(0, 10);
    const load = async (key: string, store: string, budgetBytes: number) => {
      const begun = await run({ kind: 'begin', key, store, rows: small.length, dims: DIMS, budgetBytes });
      if (begun.kind !== 'ok') return begun.kind;
      await run({ kind: 'append', key, page: page(small) });
      return (await run({ kind: 'end', key })).kind;
    };
    const q = unit(DIMS);
    expect(await load('big:1', 'big', 100)).toBe('refused');
    // 10 rows × (64 + 12) + 64 = 824 bytes per store: a budget of two
    expect(await load('a:1', 'a', 1700)).toBe('ok'); // s1 (the oldest) dropped to make room
    expect(await load('b:1', 'b', 1700)).toBe('ok');
    expect((await run({ kind: 'rank', key: 's1:1', query: q, limit: 1 })).kind).toBe('missing');
    expect((await run({ kind: 'rank', key: 'a:1', query: q, limit: 1 })).kind).toBe('hits'); // a used last
    expect(await load('c:1', 'c', 1700)).toBe('ok'); // b dropped, not a
    expect((await run({ kind: 'rank', key: 'b:1', query: q, limit: 1 })).kind).toBe('missing');
    expect((await run({ kind: 'rank', key: 'a:1', query: q, limit: 1 })).kind).toBe('hits');
    expect(await load('a:2', 'a', 1700)).toBe('ok'); // a's next version replaces its first
    expect((await run({ kind: 'rank', key: 'a:1', query: q, limit: 1 })).kind).toBe('missing');
  });

  it('ranks one page without keeping it (a store over the budget)', async () => {
    const q = unit(DIMS);
    const reply = await run({
      kind: 'scan',
      query: q,
      limit: 3,
      page: page(rows.slice(0, 50)),
      exclude: [doc(0)],
    });
    if (reply.kind !== 'hits') throw new Error(reply.kind);
    const truth = exact(
      rows.slice(0, 50).filter((r) => r.doc !== doc(0)),
      q,
    );
    expect(reply.hits[0]).toMatchObject({ documentId: truth[0].documentId, chunkIndex: truth[0].chunkIndex });
    expect(reply.hits).toHaveLength(3);
  });
});
