import { RunningApp, startApp } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { form } from '../fixtures/documents/builders';
import { loadCorpus } from './corpus';
import { runQueries, scoreByStyle } from './evaluate';
import { generateQueries, RelevanceQuery, STYLES } from './queries';

const KEY = 'relevance-gate-key-0123456789';
/** Every PAGE_STRIDE-th page of the Python documentation: ~60 documents, a slice of the whole benchmark. */
const PAGE_STRIDE = 8;
const PER_STYLE = 8;

/**
 * The relevance benchmark's fast subset, as a quality gate: known-item queries of every style over a
 * slice of the real corpus (Debian's python3-doc, which .ci/run installs), on PostgreSQL (the SQL is the
 * same on PGlite; ranking happens in TypeScript). Relevance scores are not durations: they are asserted.
 * The full run, with latency on both adapters, is `npm run bench:relevance`.
 */
describe('search relevance on a slice of the Python documentation (quality gate)', () => {
  let db: TestDatabase;
  let app: RunningApp;
  let queries: RelevanceQuery[];

  beforeAll(async () => {
    const pages = loadCorpus().filter((_, i) => i % PAGE_STRIDE === 0);
    db = await createTestDatabase();
    app = await startApp({ AUTH_API_KEYS: `${KEY}=gate`, DATABASE_URL: db.url, LOG_LEVEL: 'warn' });
    const call = (path: string, init: RequestInit = {}) =>
      app.request(path, {
        ...init,
        headers: { 'X-API-Key': KEY, ...(init.headers as Record<string, string>) },
      });
    await call('/api/v1/stores', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'pydoc' }),
    });
    const ids = new Map<string, string>();
    for (let i = 0; i < pages.length; i += 20) {
      const up = await call('/api/v1/stores/pydoc/documents', {
        method: 'POST',
        body: form(pages.slice(i, i + 20).map((p) => [p.filename, p.data])),
      });
      expect(up.status).toBe(201);
      for (const d of up.body.documents) ids.set(d.filename, d.id);
    }
    const docs = [];
    for (const [key, id] of ids)
      docs.push({ key, text: (await call(`/api/v1/stores/pydoc/documents/${id}?include=text`)).body.text });
    queries = generateQueries(docs, { perStyle: PER_STYLE, chunkChars: 1200, chunkOverlapChars: 200 });
  }, 300_000); // ~60 real HTML pages extracted and indexed on two shared cores

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('ranks the right document first for nearly every query of every style', async () => {
    expect(queries.length).toBeGreaterThanOrEqual(STYLES.length * PER_STYLE - 4);
    const results = await runQueries(queries, async (q) => {
      const res = await app.request(`/api/v1/search?store=pydoc&limit=10&q=${encodeURIComponent(q)}`, {
        headers: { 'X-API-Key': KEY },
      });
      expect(res.status).toBe(200);
      return {
        filenames: res.body.results.map((r: { filename: string }) => r.filename),
        ms: 0,
        tookMs: 0,
        cache: null,
      };
    });
    const styles = scoreByStyle(results);
    for (const s of styles) {
      const misses = results
        .filter((r) => r.style === s.style && r.rank !== 1)
        .map((r) => `${JSON.stringify(r.query)} → ${r.target} at ${r.rank || '> 10'}, first ${r.top[0]}`);
      // The benchmark's target (MRR@10 ≥ 0.9 for every style) on the slice: with 8 queries a style passes
      // with one query ranked 2nd or 3rd, and fails with one query out of the top 10 (0.875). The received
      // object names the queries that fell short when the bar is missed.
      expect({ style: s.style, mrr: s.mrr, misses, meetsTarget: s.mrr >= 0.9 }).toMatchObject({
        meetsTarget: true,
      });
    }
    const overall = results.reduce((sum, r) => sum + (r.rank ? 1 / r.rank : 0), 0) / results.length;
    expect(overall).toBeGreaterThanOrEqual(0.95);
  }, 120_000);
});
