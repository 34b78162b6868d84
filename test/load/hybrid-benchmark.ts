/**
 * Hybrid search latency (issue 22; the target is 10k passages: DOCS=100, the default): Atrium from source as its
 * own process — PGlite, the embedded default, or PostgreSQL when DATABASE_URL is given — EMBEDDINGS_PROVIDER=openai
 * pointed at the test protocol server (test/support/embeddings-server.ts, 512-dimension bag-of-words vectors: the
 * size of USE lite's, so the vector index does the same arithmetic; their meaning is not what is measured here,
 * relevance is the relevance benchmark's), a store of ≥ 10,000 passages uploaded through the API and embedded by
 * the background indexer. Then, one at a time over HTTP: the first semantic query (it loads the store's vectors
 * into the vector index's child), the same number of distinct queries per mode, interleaved (lexical, semantic,
 * hybrid, lexical, …) and cold (every query and page new to the caches): p50/p95 per mode, lexical the baseline of
 * the same run; the database statements a cache hit costs (db_query_duration_seconds_count from /metrics, over
 * repeated identical searches); the vector index child's resident memory. Run from the repository root (Node 24),
 * under the benchmark lock:
 *
 *   flock /tmp/atrium-bench.lock npx node -r @swc-node/register -r tsconfig-paths/register test/load/hybrid-benchmark.ts
 *   DATABASE_URL=postgres://…/atrium_bench flock /tmp/atrium-bench.lock npx node … test/load/hybrid-benchmark.ts
 *
 * (`DOCS=20 QUERIES=20` for a smaller store: ~100 passages per document.) Each run replaces its database's entry
 * in test/load/reports/hybrid-latency.json and writes hybrid-latency.md from every entry there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmbeddingsServer } from '../support/embeddings-server';
import { seededRandom } from '../support/seeded-random';
import { startSearchApp } from './lib/processes';

const ROOT = resolve(__dirname, '..', '..');
const KEY = 'bench-hybrid-key-0123456789';
const DOCS = Number(process.env.DOCS ?? 100);
const CHUNKS_PER_DOC = 100;
const QUERIES = Number(process.env.QUERIES ?? 60);
const DATABASE_URL = process.env.DATABASE_URL;
const DB = DATABASE_URL ? 'postgres' : 'pglite';
const REPEATS = 20;
const MODES = ['lexical', 'semantic', 'hybrid'] as const;

interface Entry {
  database: string;
  passages: number;
  dims: number;
  queries: number;
  uploadedMs: number;
  embeddedMs: number;
  firstSemanticMs: number;
  statementsPerCacheHit: number;
  vectorChildRssMb: number | null;
  loadAverage: number[];
  results: Record<string, { p50: number; p95: number; max: number }>;
  node: string;
  date: string;
}

/** Resident memory (MB) of the app's child running the vector index, found among its descendants. */
function vectorChildRssMb(rootPid: number | undefined): number | null {
  if (!rootPid) return null;
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,rss=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().match(/^(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), rssKb: Number(m[3]), args: m[4] }));
  const mine = new Set([rootPid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const r of rows)
      if (mine.has(r.ppid) && !mine.has(r.pid)) {
        mine.add(r.pid);
        grew = true;
      }
  }
  const child = rows.find((r) => mine.has(r.pid) && r.args.includes('vector-index.worker'));
  return child ? Math.round(child.rssKb / 1024) : null;
}

/** Database statements the app has run (db_query_duration_seconds_count, every label). */
async function statements(url: string, headers: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  let n = 0;
  for (const line of text.split('\n'))
    if (line.startsWith('db_query_duration_seconds_count')) n += Number(line.split(' ').pop());
  return n;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const random = seededRandom(22);
  const vocabulary = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}x${(i * 7919) % 997}`);
  const word = () => vocabulary[Math.floor(random() ** 2 * vocabulary.length)];
  const paragraph = (n: number) => Array.from({ length: n }, word).join(' ');

  const server = await startEmbeddingsServer({ dims: 512 });
  const dataDir = mkdtempSync(join(tmpdir(), 'atrium-hybrid-'));
  const app = await startSearchApp({
    name: 'hybrid',
    cwd: ROOT,
    dataDir,
    apiKey: KEY,
    chunkChars: 1200,
    chunkOverlapChars: 200,
    env: {
      EMBEDDINGS_PROVIDER: 'openai',
      EMBEDDINGS_URL: server.url,
      EMBEDDINGS_MODEL: 'bag-of-words-512',
      EMBEDDINGS_BATCH: '64',
      SEARCH_STATEMENT_TIMEOUT_MS: '30000',
      ...(DATABASE_URL ? { DATABASE_URL } : {}),
    },
    readyTimeoutMs: 60_000,
  });
  const headers = { 'X-API-Key': KEY };
  try {
    await fetch(`${app.url}/api/v1/stores`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench' }),
    });
    const uploadStarted = Date.now();
    for (let d = 0; d < DOCS; d++) {
      // ~100 passages of 1200 characters with 200 of overlap: ~100 KB of words
      const text = Array.from({ length: CHUNKS_PER_DOC }, () => paragraph(120)).join('\n\n');
      const body = new FormData();
      body.append('files', new Blob([text]), `doc-${d}.txt`);
      const res = await fetch(`${app.url}/api/v1/stores/bench/documents`, { method: 'POST', headers, body });
      if (res.status !== 201) throw new Error(`upload ${d}: ${res.status} ${await res.text()}`);
    }
    const uploadedMs = Date.now() - uploadStarted;
    let store: { embedding: { status: string; embedded: number; total: number } };
    for (;;) {
      store = (await (await fetch(`${app.url}/api/v1/stores/bench`, { headers })).json()) as typeof store;
      if (store.embedding.status === 'ready') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const embeddedMs = Date.now() - uploadStarted;
    const passages = store.embedding.total;
    console.log(`${passages} passages uploaded in ${uploadedMs} ms, all embedded after ${embeddedMs} ms`);

    const ask = async (query: string, mode: string) => {
      const started = performance.now();
      const res = await fetch(
        `${app.url}/api/v1/search?store=bench&q=${encodeURIComponent(query)}&mode=${mode}`,
        { headers },
      );
      await res.text();
      if (res.status !== 200) throw new Error(`${mode} query: ${res.status}`);
      return performance.now() - started;
    };
    // the first semantic query loads the store's vectors into the vector index's child
    const firstSemanticMs = await ask(`${word()} first`, 'semantic');
    console.log(`first semantic query (loads the vector index): ${firstSemanticMs.toFixed(0)} ms`);

    const times: Record<string, number[]> = { lexical: [], semantic: [], hybrid: [] };
    for (let q = 0; q < QUERIES; q++)
      for (const mode of MODES) times[mode].push(await ask(`${word()} ${word()} ${mode}${q}`, mode));
    const results: Entry['results'] = {};
    for (const mode of MODES) {
      const sorted = times[mode].sort((a, b) => a - b);
      results[mode] = {
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        max: sorted[sorted.length - 1],
      };
      console.log(mode, results[mode]);
    }

    // a cache hit: the same hybrid search again; what it costs the database
    await ask('cached hybrid question', 'hybrid');
    const before = await statements(app.url, headers);
    for (let i = 0; i < REPEATS; i++) await ask('cached hybrid question', 'hybrid');
    const statementsPerCacheHit = ((await statements(app.url, headers)) - before) / REPEATS;
    console.log(`database statements per cache hit: ${statementsPerCacheHit}`);

    const entry: Entry = {
      database: DB,
      passages,
      dims: 512,
      queries: QUERIES,
      uploadedMs,
      embeddedMs,
      firstSemanticMs,
      statementsPerCacheHit,
      vectorChildRssMb: vectorChildRssMb(app.child.pid),
      loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
      results,
      node: process.version,
      date: new Date().toISOString().slice(0, 10),
    };
    const jsonPath = join(ROOT, 'test/load/reports/hybrid-latency.json');
    const previous = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as unknown) : {};
    const entries: Record<string, Entry> =
      previous && typeof previous === 'object' && 'pglite' in previous
        ? (previous as Record<string, Entry>)
        : {};
    entries[DB] = entry;
    writeFileSync(jsonPath, JSON.stringify(entries, null, 2) + '\n');
    writeFileSync(join(ROOT, 'test/load/reports/hybrid-latency.md'), report(entries));
  } finally {
    await app.stop();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(entries: Record<string, Entry>): string {
  const lines = [
    '# Hybrid search latency (issue 22)',
    '',
    'Machine-made by `test/load/hybrid-benchmark.ts` (its header gives the command), one section per database.',
    'One store of ~100 passages of 1200 characters per document, vectors of 512 dimensions (the protocol test',
    "server, the size of USE lite) stored as float32 bytes and ranked in the vector index's child (int8, dot",
    'product). Each mode asked the same number of distinct queries, interleaved, cold (no result or query-vector',
    'cache hit), one at a time over HTTP. Times in ms; the last column is p95 against lexical p95 of the same run.',
    'Two CPUs shared with other work: the load average is the one at the end of the run.',
  ];
  for (const e of Object.values(entries)) {
    const row = (m: string) =>
      `| ${m} | ${e.results[m].p50.toFixed(0)} | ${e.results[m].p95.toFixed(0)} | ${e.results[m].max.toFixed(0)} | ${(e.results[m].p95 / e.results.lexical.p95).toFixed(2)}× |`;
    lines.push(
      '',
      `## ${e.database === 'pglite' ? 'PGlite (embedded default)' : 'PostgreSQL'}: ${e.passages} passages`,
      '',
      `${e.date}, Node ${e.node}, load average ${e.loadAverage.join(' / ')}, ${e.queries} queries per mode.`,
      '',
      '| mode | p50 | p95 | max | p95 vs lexical |',
      '|---|---:|---:|---:|---:|',
      ...MODES.map(row),
      '',
      `- First semantic query (loads the store's vectors into the child): ${e.firstSemanticMs.toFixed(0)} ms.`,
      `- Database statements per cache hit (hybrid, ${REPEATS} repeats): ${e.statementsPerCacheHit}.`,
      `- Vector index child resident memory after the run: ${e.vectorChildRssMb ?? '?'} MB.`,
      `- Upload of all documents through the API: ${(e.uploadedMs / 1000).toFixed(1)} s; every passage embedded ${(e.embeddedMs / 1000).toFixed(1)} s after the first upload began (the protocol server answers at once: the indexer and database side of embedding, not a model).`,
    );
  }
  return lines.join('\n') + '\n';
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
