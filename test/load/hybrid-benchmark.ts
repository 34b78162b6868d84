/**
 * Hybrid search latency (issue 22; the target is 10k passages: DOCS=100, the default): Atrium from source as its own process (PGlite, the
 * embedded default), EMBEDDINGS_PROVIDER=openai pointed at the test protocol server (test/support/
 * embeddings-server.ts, 512-dimension bag-of-words vectors: the size of USE lite's, so the database does the
 * same arithmetic; their meaning is not what is measured here, relevance is the relevance benchmark's), a
 * store of ≥ 10,000 passages uploaded through the API and embedded by the background indexer, then the same
 * distinct queries in each mode, cold (every query and page new to the caches): p50/p95 per mode, lexical the
 * baseline of the same run. Run from the repository root (Node 24), under the shared lock:
 *
 *   flock /tmp/atrium-heavy.lock npx node -r @swc-node/register -r tsconfig-paths/register test/load/hybrid-benchmark.ts
 *
 * (`DOCS=20 QUERIES=20` for a smaller store: ~100 passages per document.)
 *
 * Writes test/load/reports/hybrid-latency.{md,json}.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmbeddingsServer } from '../support/embeddings-server';
import { seededRandom } from '../support/seeded-random';
import { startSearchApp } from './lib/processes';

const ROOT = resolve(__dirname, '..', '..');
const KEY = 'bench-hybrid-key-0123456789';
const DOCS = Number(process.env.DOCS ?? 100);
const CHUNKS_PER_DOC = 100;
const QUERIES = Number(process.env.QUERIES ?? 60);

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

    const results: Record<string, { p50: number; p95: number; max: number }> = {};
    for (const mode of ['lexical', 'semantic', 'hybrid'] as const) {
      const times: number[] = [];
      for (let q = 0; q < QUERIES; q++) {
        const query = `${word()} ${word()} ${mode}${q}`;
        const started = performance.now();
        const res = await fetch(
          `${app.url}/api/v1/search?store=bench&q=${encodeURIComponent(query)}&mode=${mode}`,
          { headers },
        );
        await res.text();
        if (res.status !== 200) throw new Error(`${mode} query: ${res.status}`);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      results[mode] = {
        p50: percentile(times, 50),
        p95: percentile(times, 95),
        max: times[times.length - 1],
      };
      console.log(mode, results[mode]);
    }
    const out = {
      passages,
      dims: 512,
      queries: QUERIES,
      uploadedMs,
      embeddedMs,
      results,
      node: process.version,
    };
    writeFileSync(join(ROOT, 'test/load/reports/hybrid-latency.json'), JSON.stringify(out, null, 2) + '\n');
    const row = (m: string) =>
      `| ${m} | ${results[m].p50.toFixed(0)} | ${results[m].p95.toFixed(0)} | ${results[m].max.toFixed(0)} | ${(results[m].p95 / results.lexical.p95).toFixed(1)}× |`;
    writeFileSync(
      join(ROOT, 'test/load/reports/hybrid-latency.md'),
      [
        `# Hybrid search latency at ${passages} passages (PGlite, issue 22)`,
        '',
        `Machine-made by \`test/load/hybrid-benchmark.ts\` (its header gives the command) on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, two CPUs shared with other work.`,
        `One store of **${passages} passages** (${DOCS} documents of ~100 passages of 1200 characters), vectors of 512 dimensions`,
        '(the protocol test server, the size of USE lite), stored in the chunks as `real[]`; the cosine is SQL arithmetic in',
        "PGlite's worker thread. Each mode asked the same number of distinct queries, cold (no result or query-vector cache hit),",
        'one at a time, over HTTP. Times in ms, the last column is p95 against lexical p95 of the same run.',
        '',
        '| mode | p50 | p95 | max | p95 vs lexical |',
        '|---|---:|---:|---:|---:|',
        row('lexical'),
        row('semantic'),
        row('hybrid'),
        '',
        `Upload of all documents through the API: ${(uploadedMs / 1000).toFixed(1)} s; every passage embedded ${(embeddedMs / 1000).toFixed(1)} s after the first upload began`,
        '(the protocol server answers at once: this is the indexer and database side of embedding, not a model).',
        '',
      ].join('\n'),
    );
  } finally {
    await app.stop();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
