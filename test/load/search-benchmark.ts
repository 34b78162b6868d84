/**
 * Search benchmark (issue 4): `npm run bench:search` (`-- --quick` for a short smoke run,
 * `-- --adapters=pglite` or `=postgres` for one database only).
 *
 * For each database adapter (embedded PGlite, then Postgres at TEST_DATABASE_URL): starts Atrium as its
 * own process (so the load generator never shares its event loop), indexes a corpus of real text — the
 * markdown and text files that installed packages ship in node_modules, deduplicated — through the
 * multipart upload API until the store holds at least 10,000 chunks, then measures search latency for a
 * set of distinct web-search queries cold (first request: X-Cache MISS, the database does the work) and
 * cached (the same queries again: X-Cache HIT), and reports p50/p95/p99 and the cached/cold ratio.
 * Writes test/load/reports/search-benchmark.{md,json}. Not part of `npm test`.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { createTestDatabase } from '../support/databases';
import { machine } from './lib/machine';
import { LatencySummary, summariseLatency } from './lib/latency';
import { ServerProcess } from './lib/processes';
import { createStore, uploadFiles, withSearchRun } from './lib/search-run';

const ROOT = resolve(__dirname, '..', '..');
const REPORTS = join(ROOT, 'test', 'load', 'reports');
const API_KEY = 'bench-search-key-0123456789';
const STORE = 'corpus';
const FILES_PER_UPLOAD = 20; // UPLOAD_MAX_FILES default
const UPLOAD_CONCURRENCY = 2;
const SEARCH_CONCURRENCY = 4;
// Smaller passages than the default (1200/200): the text node_modules ships is ~9 MiB once deduplicated,
// and 800/150 puts it past 10,000 chunks without repeating any text.
const CHUNK_CHARS = 800;
const CHUNK_OVERLAP = 150;
const DOC_FILE = /(\.(md|markdown|txt|rst)|^(readme|changelog|history|changes|notice))$/i;

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const ADAPTERS = (args.find((a) => a.startsWith('--adapters='))?.split('=')[1] ?? 'pglite,postgres').split(
  ',',
);
const TARGET_CHUNKS = QUICK ? 1500 : 10000;
const QUERY_COUNT = QUICK ? 100 : 400;
const CACHED_ROUNDS = 3;

const t0 = Date.now();
const log = (msg: string): void =>
  void process.stdout.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);

// ── corpus ────────────────────────────────────────────────────────────────────────────────────────
interface CorpusFile {
  name: string;
  data: Buffer;
}

function collectCorpus(): CorpusFile[] {
  const out: CorpusFile[] = [];
  const seen = new Set<string>();
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of entries) {
      if (name === '.bin' || name === '.cache') continue;
      const path = join(dir, name);
      let st;
      try {
        st = statSync(path);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(path);
      else if (DOC_FILE.test(name) && st.size >= 256 && st.size <= 2 * 1024 * 1024) {
        const data = readFileSync(path);
        const sum = createHash('sha256').update(data).digest('hex');
        if (seen.has(sum)) continue; // licences and changelogs repeat across packages
        seen.add(sum);
        out.push({ name: `${out.length}-${name}`.slice(0, 200), data });
      }
    }
  };
  walk(join(ROOT, 'node_modules'));
  return out;
}

/** Queries built from words that occur in the corpus: single words, pairs, phrases, OR and exclusions. */
function buildQueries(corpus: CorpusFile[], count: number): string[] {
  const freq = new Map<string, number>();
  for (const f of corpus.slice(0, 400)) {
    for (const w of f.data
      .toString('utf8')
      .toLowerCase()
      .match(/\b[a-z]{5,12}\b/g) ?? [])
      freq.set(w, (freq.get(w) ?? 0) + 1);
  }
  // mid-frequency words: common enough to match, rare enough to be selective
  const words = [...freq.entries()]
    .filter(([, n]) => n >= 5 && n <= 400)
    .map(([w]) => w)
    .sort();
  let seed = 42;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = (): string => words[Math.floor(rnd() * words.length)];
  const queries = new Set<string>();
  while (queries.size < count) {
    const kind = queries.size % 5;
    if (kind === 0) queries.add(pick());
    else if (kind === 1) queries.add(`${pick()} ${pick()}`);
    else if (kind === 2) queries.add(`"${pick()} ${pick()}" OR ${pick()}`);
    else if (kind === 3) queries.add(`${pick()} OR ${pick()}`);
    else queries.add(`${pick()} -${pick()}`);
  }
  return [...queries];
}

// ── measurement helpers ───────────────────────────────────────────────────────────────────────────
type Latency = Omit<LatencySummary, 'serverP95'>;

function summarise(samples: number[], server: number[]): Latency {
  const { serverP95: _, ...latency } = summariseLatency(samples, server);
  return latency;
}

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

const headers = { 'X-API-Key': API_KEY };

interface UploadStats {
  files: number;
  rejected: number;
  bytes: number;
  chunks: number;
  seconds: number;
  filesPerSecond: number;
  megabytesPerSecond: number;
  chunksPerSecond: number;
  rejectedCodes: Record<string, number>;
}

async function index(app: ServerProcess, corpus: CorpusFile[]): Promise<UploadStats> {
  await createStore(app.url, API_KEY, STORE);
  const stats = { files: 0, rejected: 0, bytes: 0, chunks: 0, rejectedCodes: {} as Record<string, number> };
  const batches: CorpusFile[][] = [];
  for (let i = 0; i < corpus.length; i += FILES_PER_UPLOAD)
    batches.push(corpus.slice(i, i + FILES_PER_UPLOAD));
  const started = process.hrtime.bigint();
  let b = 0;
  await Promise.all(
    Array.from({ length: UPLOAD_CONCURRENCY }, async () => {
      while (b < batches.length && stats.chunks < TARGET_CHUNKS) {
        const batch = batches[b++];
        const res = await uploadFiles<{
          documents?: Array<{ bytes: number; chunks: number }>;
          rejected?: Array<{ code: string }>;
        }>(app.url, API_KEY, STORE, batch);
        const body = res.body;
        for (const d of body.documents ?? []) {
          stats.files++;
          stats.bytes += d.bytes;
          stats.chunks += d.chunks;
        }
        for (const r of body.rejected ?? []) {
          stats.rejected++;
          stats.rejectedCodes[r.code] = (stats.rejectedCodes[r.code] ?? 0) + 1;
        }
        if (res.status >= 500) throw new Error(`upload failed: ${res.status} ${JSON.stringify(body)}`);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (stats.chunks < TARGET_CHUNKS) throw new Error(`corpus too small: ${stats.chunks} chunks`);
  return {
    ...stats,
    seconds: Math.round(seconds * 100) / 100,
    filesPerSecond: Math.round((stats.files / seconds) * 10) / 10,
    megabytesPerSecond: Math.round((stats.bytes / 1048576 / seconds) * 100) / 100,
    chunksPerSecond: Math.round(stats.chunks / seconds),
  };
}

async function measure(
  app: ServerProcess,
  queries: string[],
  expectCache: string,
): Promise<{ latency: Latency; totals: number[] }> {
  const samples: number[] = [];
  const server: number[] = [];
  const totals: number[] = [];
  await pool(queries, SEARCH_CONCURRENCY, async (q) => {
    const url = `${app.url}/api/v1/search?store=${STORE}&q=${encodeURIComponent(q)}&limit=10`;
    const start = process.hrtime.bigint();
    const res = await fetch(url, { headers });
    const body = (await res.json()) as { total: number; tookMs: number };
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (res.status !== 200) throw new Error(`search ${q}: ${res.status}`);
    const cache = res.headers.get('x-cache');
    if (cache !== expectCache) throw new Error(`search ${q}: X-Cache ${cache}, expected ${expectCache}`);
    server.push(body.tookMs);
    totals.push(body.total);
  });
  return { latency: summarise(samples, server), totals };
}

interface AdapterResult {
  adapter: string;
  database: string;
  upload: UploadStats;
  queries: number;
  queriesWithHits: number;
  cold: Latency;
  cached: Latency;
  ratio: { p50: number; p95: number; p99: number };
}

async function runAdapter(adapter: string, corpus: CorpusFile[], queries: string[]): Promise<AdapterResult> {
  let env: Record<string, string> = {};
  let drop: (() => Promise<void>) | undefined;
  let database = 'PGlite (embedded, in DATA_DIR)';
  if (adapter === 'postgres') {
    const db = await createTestDatabase({ prefix: 'test_bench_search' });
    env = { DATABASE_URL: db.url };
    database = `PostgreSQL ${db.serverVersion} (local, pool ${10})`;
    drop = db.drop;
  }
  try {
    return await withSearchRun('atrium-bench-search-', `${adapter} `, async (appRun) => {
      log(`${adapter}: starting the app`);
      const app = await appRun.start({
        name: 'atrium',
        cwd: ROOT,
        apiKey: API_KEY,
        chunkChars: CHUNK_CHARS,
        chunkOverlapChars: CHUNK_OVERLAP,
        env,
      });
      log(`${adapter}: indexing until ${TARGET_CHUNKS} chunks`);
      const upload = await index(app, corpus);
      log(
        `${adapter}: indexed ${upload.files} files, ${upload.chunks} chunks in ${upload.seconds}s (${upload.chunksPerSecond} chunks/s)`,
      );
      log(`${adapter}: ${queries.length} cold searches`);
      const cold = await measure(app, queries, 'MISS');
      log(`${adapter}: cold p50 ${cold.latency.p50} ms, p95 ${cold.latency.p95} ms`);
      const cachedRuns: number[][] = [];
      const cachedServer: number[][] = [];
      let cachedLatency: Latency | undefined;
      for (let r = 0; r < CACHED_ROUNDS; r++) {
        const run = await measure(app, queries, 'HIT');
        cachedLatency = run.latency;
        cachedRuns.push([run.latency.p50]);
        cachedServer.push([run.latency.serverP50]);
      }
      const cached = cachedLatency as Latency;
      log(`${adapter}: cached p50 ${cached.p50} ms, p95 ${cached.p95} ms`);
      const ratio = (a: number, b: number): number => Math.round((a / b) * 1000) / 1000;
      return {
        adapter,
        database,
        upload,
        queries: queries.length,
        queriesWithHits: cold.totals.filter((t) => t > 0).length,
        cold: cold.latency,
        cached,
        ratio: {
          p50: ratio(cached.p50, cold.latency.p50),
          p95: ratio(cached.p95, cold.latency.p95),
          p99: ratio(cached.p99, cold.latency.p99),
        },
      };
    });
  } finally {
    await drop?.();
  }
}

function markdown(results: AdapterResult[], meta: Record<string, unknown>): string {
  const lines = [
    '# Search benchmark',
    '',
    `Generated by \`npm run bench:search\` on ${String(meta.date)} — ${String(meta.cpu)}, ${String(meta.cpus)} CPUs, ${String(meta.memoryGiB)} GiB, Node ${String(meta.node)}; 1-minute load average ${JSON.stringify(meta.loadAverage1m)}.`,
    '',
    `Corpus: ${String(meta.corpusFiles)} distinct markdown/text/readme files shipped in \`node_modules\` (deduplicated by checksum), ` +
      `uploaded ${FILES_PER_UPLOAD} files per multipart request, ${UPLOAD_CONCURRENCY} requests in flight, ` +
      `SEARCH_CHUNK_CHARS=${CHUNK_CHARS}, SEARCH_CHUNK_OVERLAP_CHARS=${CHUNK_OVERLAP} (smaller than the default 1200/200 so the deduplicated corpus reaches the target without repeating text), until the store held ≥ ${TARGET_CHUNKS} chunks. ` +
      `The app runs as its own process (\`NODE_ENV=production\`, access logs on, metrics on); the load generator is this script. ` +
      `Searches: ${String(meta.queries)} distinct web-search queries (words, pairs, quoted phrases with OR, OR, exclusions) built from corpus words, ` +
      `limit 10, ${SEARCH_CONCURRENCY} in flight. Cold = the first request of each query (X-Cache MISS: store lookup + full-text query + headlines). ` +
      `Cached = the same queries again (X-Cache HIT, in-process L1; the store's version is still read from the database so that an upload invalidates at once), last of ${CACHED_ROUNDS} rounds. ` +
      'Latencies are client-observed milliseconds; ratio = cached / cold. "server tookMs" is what the response reports ' +
      '(store lookup, cache, query, headlines inside the handler). With PGlite the database is WebAssembly running on ' +
      "the app's own event loop, so at 4 requests in flight a query also delays the others: client latency is well above " +
      'tookMs there, while with PostgreSQL the work happens in another process.',
    '',
    '## Upload throughput',
    '',
    '| Database | Files | Rejected | MiB | Chunks | Seconds | Files/s | MiB/s | Chunks/s |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.database} | ${r.upload.files} | ${r.upload.rejected}${
          r.upload.rejected
            ? ` (${Object.entries(r.upload.rejectedCodes)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')})`
            : ''
        } | ${(r.upload.bytes / 1048576).toFixed(1)} | ${r.upload.chunks} | ${r.upload.seconds} | ${r.upload.filesPerSecond} | ${r.upload.megabytesPerSecond} | ${r.upload.chunksPerSecond} |`,
    ),
    '',
    '## Search latency (ms)',
    '',
    '| Database | Cache | Requests | p50 | p95 | p99 | mean | max | server tookMs p50 |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...results.flatMap((r) => [
      `| ${r.adapter} | cold (MISS) | ${r.cold.requests} | ${r.cold.p50} | ${r.cold.p95} | ${r.cold.p99} | ${r.cold.mean} | ${r.cold.max} | ${r.cold.serverP50} |`,
      `| ${r.adapter} | cached (HIT) | ${r.cached.requests} | ${r.cached.p50} | ${r.cached.p95} | ${r.cached.p99} | ${r.cached.mean} | ${r.cached.max} | ${r.cached.serverP50} |`,
    ]),
    '',
    '## Cached / cold',
    '',
    '| Database | p50 | p95 | p99 | Queries with hits |',
    '|---|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.adapter} | ${r.ratio.p50} | ${r.ratio.p95} | ${r.ratio.p99} | ${r.queriesWithHits} / ${r.queries} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const loadBefore = loadavg()[0];
  log(`1-minute load average ${loadBefore.toFixed(2)} on ${cpus().length} CPUs`);
  log('collecting the corpus from node_modules');
  const corpus = collectCorpus();
  log(
    `${corpus.length} distinct files, ${(corpus.reduce((a, f) => a + f.data.length, 0) / 1048576).toFixed(1)} MiB`,
  );
  const queries = buildQueries(corpus, QUERY_COUNT);
  const results: AdapterResult[] = [];
  for (const adapter of ADAPTERS) results.push(await runAdapter(adapter, corpus, queries));
  const meta = {
    date: new Date().toISOString(),
    quick: QUICK,
    ...machine(),
    // other work on the machine skews every number; recorded so a reader can tell
    loadAverage1m: {
      before: Math.round(loadBefore * 100) / 100,
      after: Math.round(loadavg()[0] * 100) / 100,
    },
    corpusFiles: corpus.length,
    targetChunks: TARGET_CHUNKS,
    queries: queries.length,
    searchConcurrency: SEARCH_CONCURRENCY,
    uploadConcurrency: UPLOAD_CONCURRENCY,
  };
  const suffix = QUICK ? '.quick' : '';
  writeFileSync(
    join(REPORTS, `search-benchmark${suffix}.json`),
    `${JSON.stringify({ meta, results }, null, 2)}\n`,
  );
  writeFileSync(join(REPORTS, `search-benchmark${suffix}.md`), markdown(results, meta));
  log(`wrote test/load/reports/search-benchmark${suffix}.{md,json}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
