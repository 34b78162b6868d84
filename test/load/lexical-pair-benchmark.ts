/**
 * Lexical search latency of two apps side by side, asked the same cold queries in turn (`npm run bench:lexical-pair`,
 * under the benchmark lock). On a shared machine one app measured after another sees different loads; two apps
 * asked query by query (A then B, then B then A for the next) see the same, so the per-query ratio B ÷ A is the
 * comparison, not each one's percentiles.
 *
 * What A and B are:
 * - default (`--compare=embedding`): both this tree; A with EMBEDDINGS_PROVIDER=off, B with its store embedded by the
 *   test protocol server (test/support/embeddings-server.ts: 512-dimension vectors, USE lite's size, so each
 *   passage row grows as with the product default) and left as the app leaves it. Does embedding a store slow
 *   its lexical searches (every passage row written again, dead row versions behind until a VACUUM)?
 * - `--ab <rev>`: A = that revision (a git worktree, this tree's node_modules), B = this tree, both with
 *   EMBEDDINGS_PROVIDER=off. What did the commits in between do to lexical search?
 * - `--ab <rev> --mode=hybrid` (or `semantic`): the same two builds on the product default (EMBEDDINGS_PROVIDER=
 *   local: USE lite in the embedding child), each store embedded before the queries, each question asked with
 *   that mode — each app embeds it on its first (cold) ask. What did the commits do to a cold hybrid query?
 * Each app gets its own data dir (and PostgreSQL database), the python3-doc corpus uploaded through the API
 * (`--pages=N` for a slice), the known-item queries of the relevance benchmark generated from the stored texts
 * (queries.ts, `--per-style=N`), each asked once per app with X-Cache MISS. `--adapters=pglite|postgres`.
 * Writes test/load/reports/{lexical|hybrid|semantic}-pair-{embedding|ab}.{md,json} (an adapter measured alone replaces its row of an
 * earlier report of the same A and B; `--render-only` writes the .md from the .json again).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { EmbeddingsServer, startEmbeddingsServer } from '../support/embeddings-server';
import {
  embeddingProgress,
  searcher,
  storedTexts,
  StoreClient,
  uploadCorpus,
} from '../search-relevance/client';
import { loadCorpus } from '../search-relevance/corpus';
import { percentile, runQueries } from '../search-relevance/evaluate';
import { generateQueries, RelevanceQuery } from '../search-relevance/queries';
import { AbCheckout, checkoutRevision } from './lib/ab-checkout';
import { machine } from './lib/machine';
import { SearchRun } from './lib/search-run';

const ROOT = resolve(__dirname, '..', '..');
const REPORTS = join(ROOT, 'test', 'load', 'reports');
const API_KEY = 'bench-pair-key-0123456789';
const STORE = 'pydoc';
const CHUNK_CHARS = 1200;
const CHUNK_OVERLAP = 200;
/** After the last upload or embedding write: room for the app's own maintenance (search.repository.ts). */
const SETTLE_MS = 20_000;
const EMBEDDING_WAIT_MS = 30 * 60_000;

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.findIndex((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  return args[i].includes('=') ? args[i].split('=')[1] : args[i + 1];
};
const ADAPTERS = (flag('adapters') ?? 'pglite,postgres').split(',');
const PAGES = Number(flag('pages') ?? 0);
const PER_STYLE = Number(flag('per-style') ?? 30);
const AB_REV = flag('ab');
const COMPARE = AB_REV ? 'ab' : 'embedding';
const MODE = (flag('mode') ?? 'lexical') as 'lexical' | 'semantic' | 'hybrid';
if (!['lexical', 'semantic', 'hybrid'].includes(MODE))
  throw new Error(`--mode=${MODE}: lexical, semantic or hybrid`);
if (MODE !== 'lexical' && !AB_REV) throw new Error(`--mode=${MODE} compares two builds: give --ab <rev>`);

const t0 = Date.now();
const log = (msg: string): void =>
  void process.stdout.write(`[pair ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
const git = (cwd: string, ...a: string[]): string => execFileSync('git', a, { cwd, encoding: 'utf8' }).trim();

interface Side {
  label: string;
  cwd: string;
  env: Record<string, string>;
  run?: SearchRun;
  pg?: TestDatabase;
  client?: StoreClient;
}

interface Figures {
  p50: number;
  p95: number;
  p99: number;
  serverP50: number;
  serverP95: number;
}

interface AdapterResult {
  adapter: string;
  passages: number[];
  a: Figures;
  b: Figures;
  /** Per query, B's client time ÷ A's: quartiles. */
  ratio: { q1: number; median: number; q3: number };
  deadChunkRows?: [number, number];
  loadAverage1m: [number, number];
}

function figures(rs: Array<{ ms: number; tookMs: number }>): Figures {
  const client = rs.map((r) => r.ms);
  const server = rs.map((r) => r.tookMs);
  return {
    p50: percentile(client, 50),
    p95: percentile(client, 95),
    p99: percentile(client, 99),
    serverP50: percentile(server, 50),
    serverP95: percentile(server, 95),
  };
}

async function deadChunkRows(pg: TestDatabase | undefined): Promise<number> {
  if (!pg) return -1;
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  try {
    const r = await c.query<{ n: string }>(
      `SELECT n_dead_tup AS n FROM pg_stat_user_tables WHERE relname = 'search_chunks'`,
    );
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    await c.end();
  }
}

async function waitEmbedded(client: StoreClient): Promise<void> {
  const started = Date.now();
  for (;;) {
    const embedding = await embeddingProgress(client);
    if (embedding.status === 'off') throw new Error('the app embeds nothing (EMBEDDINGS_PROVIDER=off)');
    if (embedding.status === 'ready') {
      log(`${embedding.total} passages embedded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return;
    }
    if (Date.now() - started > EMBEDDING_WAIT_MS)
      throw new Error(`not embedded after ${EMBEDDING_WAIT_MS / 60_000} min: ${JSON.stringify(embedding)}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function runAdapter(
  adapter: string,
  sides: [Side, Side],
  shared: { queries?: RelevanceQuery[] },
): Promise<AdapterResult> {
  const corpus = loadCorpus();
  const step = PAGES && PAGES < corpus.length ? Math.ceil(corpus.length / PAGES) : 1;
  const pages = corpus.filter((_, i) => i % step === 0);
  const passages: number[] = [];
  try {
    for (const side of sides) {
      side.pg = adapter === 'postgres' ? await createTestDatabase({ prefix: 'test_bench_pair' }) : undefined;
      side.run = new SearchRun('atrium-bench-pair-');
      const app = await side.run.start({
        name: `atrium-${side.label}-${adapter}`,
        cwd: side.cwd,
        apiKey: API_KEY,
        chunkChars: CHUNK_CHARS,
        chunkOverlapChars: CHUNK_OVERLAP,
        env: { ...side.env, ...(side.pg ? { DATABASE_URL: side.pg.url } : {}) },
        readyTimeoutMs: 180_000,
      });
      side.client = { url: app.url, apiKey: API_KEY, store: STORE, log };
      log(`${adapter} ${side.label}: uploading ${pages.length} pages`);
      const { ids, stats } = await uploadCorpus(side.client, pages);
      passages.push(stats.chunks);
      log(
        `${adapter} ${side.label}: ${stats.files} documents, ${stats.chunks} passages in ${stats.seconds} s`,
      );
      if (side.env.EMBEDDINGS_PROVIDER !== 'off') await waitEmbedded(side.client);
      if (!shared.queries) {
        shared.queries = generateQueries(await storedTexts(side.client, ids), {
          perStyle: PER_STYLE,
          chunkChars: CHUNK_CHARS,
          chunkOverlapChars: CHUNK_OVERLAP,
        });
        log(`generated ${shared.queries.length} queries from the stored texts`);
      }
    }
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const dead: [number, number] = [await deadChunkRows(sides[0].pg), await deadChunkRows(sides[1].pg)];
    const load0 = loadavg()[0];
    // --ab lexical: no mode parameter (builds before issue 22 refuse it; with embeddings off the default is lexical)
    const [a, b] = sides.map((s) =>
      searcher(s.client as StoreClient, COMPARE === 'ab' && MODE === 'lexical' ? undefined : MODE),
    );
    const ra: Array<{ ms: number; tookMs: number }> = [];
    const rb: Array<{ ms: number; tookMs: number }> = [];
    for (const [i, q] of (shared.queries ?? []).entries()) {
      const order = i % 2 ? ([b, a] as const) : ([a, b] as const);
      const first = (await runQueries([q], order[0], 'MISS'))[0];
      const second = (await runQueries([q], order[1], 'MISS'))[0];
      ra.push(i % 2 ? second : first);
      rb.push(i % 2 ? first : second);
    }
    const ratios = ra.map((x, i) => rb[i].ms / x.ms).sort((x, y) => x - y);
    const q = (p: number) => Math.round(ratios[Math.floor(p * (ratios.length - 1))] * 100) / 100;
    const result: AdapterResult = {
      adapter,
      passages,
      a: figures(ra),
      b: figures(rb),
      ratio: { q1: q(0.25), median: q(0.5), q3: q(0.75) },
      ...(adapter === 'postgres' ? { deadChunkRows: dead } : {}),
      loadAverage1m: [Math.round(load0 * 100) / 100, Math.round(loadavg()[0] * 100) / 100],
    };
    log(
      `${adapter}: A p50/p95 ${result.a.p50}/${result.a.p95} ms, B ${result.b.p50}/${result.b.p95} ms; B÷A per query median ${result.ratio.median} (IQR ${result.ratio.q1}–${result.ratio.q3})`,
    );
    return result;
  } finally {
    for (const side of sides) {
      await side.run?.stop();
      await side.pg?.drop();
      side.run = undefined;
      side.pg = undefined;
    }
  }
}

function markdown(results: AdapterResult[], meta: Record<string, string | number>): string {
  const lines = [
    `# ${MODE[0].toUpperCase()}${MODE.slice(1)} search, two apps side by side`,
    '',
    `Generated by \`npm run bench:lexical-pair${meta.args ? ` -- ${meta.args}` : ''}\` on ${meta.date} — ${meta.cpu}, ${meta.cpus} CPUs, Node ${meta.node}; ${meta.queries} known-item queries (the relevance benchmark's styles), each asked cold (mode ${MODE}) of A and of B in turn (the order alternating). See the script's header.`,
    '',
    `- **A**: ${meta.a}`,
    `- **B**: ${meta.b}`,
    '',
    '| adapter | passages (A / B) | A p50 / p95 / p99 ms | B p50 / p95 / p99 ms | B ÷ A per query: median (IQR) | p95 B ÷ A | dead chunk rows (A / B) | load 1m |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results)
    lines.push(
      `| ${r.adapter} | ${r.passages.join(' / ')} | ${r.a.p50} / ${r.a.p95} / ${r.a.p99} | ${r.b.p50} / ${r.b.p95} / ${r.b.p99} | ${r.ratio.median} (${r.ratio.q1}–${r.ratio.q3}) | ${(r.b.p95 / r.a.p95).toFixed(2)} | ${r.deadChunkRows?.join(' / ') ?? '–'} | ${r.loadAverage1m.join(' → ')} |`,
    );
  lines.push('');
  return lines.join('\n');
}

async function main(): Promise<void> {
  let server: EmbeddingsServer | undefined;
  let checkout: AbCheckout | undefined;
  const results: AdapterResult[] = [];
  const meta: Record<string, string | number> = {
    args: args.join(' '),
    date: new Date().toISOString(),
    ...machine(),
  };
  const shared: { queries?: RelevanceQuery[] } = {};
  try {
    let sides: [Side, Side];
    if (COMPARE === 'ab' && AB_REV) {
      checkout = checkoutRevision(ROOT, AB_REV, log);
      // lexical: embeddings off; semantic or hybrid: the product default (USE lite in the embedding child)
      const env = { EMBEDDINGS_PROVIDER: MODE === 'lexical' ? 'off' : 'local' };
      const provider = `EMBEDDINGS_PROVIDER=${env.EMBEDDINGS_PROVIDER}`;
      meta.a = `\`${AB_REV}\` (${checkout.commit.slice(0, 10)}: ${checkout.subject}), ${provider}`;
      meta.b = `this tree (${git(ROOT, 'rev-parse', '--short=10', 'HEAD')}${git(ROOT, 'status', '--porcelain') ? ', with changes' : ''}), ${provider}`;
      sides = [
        { label: 'A', cwd: checkout.dir, env },
        { label: 'B', cwd: ROOT, env },
      ];
    } else {
      server = await startEmbeddingsServer({ dims: 512 });
      meta.a = 'this tree, EMBEDDINGS_PROVIDER=off';
      meta.b =
        "this tree, the store embedded (openai provider → the test protocol server's 512-dimension vectors), as the app leaves it";
      sides = [
        { label: 'A', cwd: ROOT, env: { EMBEDDINGS_PROVIDER: 'off' } },
        {
          label: 'B',
          cwd: ROOT,
          env: {
            EMBEDDINGS_PROVIDER: 'openai',
            EMBEDDINGS_URL: server.url,
            EMBEDDINGS_MODEL: 'bag-of-words-512',
            EMBEDDINGS_BATCH: '64',
          },
        },
      ];
    }
    for (const adapter of ADAPTERS) results.push(await runAdapter(adapter, sides, shared));
  } finally {
    await server?.close();
    checkout?.remove();
  }
  meta.queries = shared.queries?.length ?? 0;
  // an adapter measured alone replaces its own row of an earlier report of the same comparison
  const earlier = existsSync(JSON_PATH) ? (JSON.parse(readFileSync(JSON_PATH, 'utf8')) as Report) : undefined;
  const kept =
    earlier && earlier.meta.a === meta.a && earlier.meta.b === meta.b
      ? earlier.results.filter((r) => !ADAPTERS.includes(r.adapter))
      : [];
  writeReport({ meta, results: [...kept, ...results] });
}

interface Report {
  meta: Record<string, string | number>;
  results: AdapterResult[];
}

const JSON_PATH = join(REPORTS, `${MODE}-pair-${COMPARE}.json`);

function writeReport(r: Report): void {
  writeFileSync(JSON_PATH, JSON.stringify(r, null, 2) + '\n');
  writeFileSync(join(REPORTS, `${MODE}-pair-${COMPARE}.md`), markdown(r.results, r.meta));
}

(args.includes('--render-only')
  ? Promise.resolve(writeReport(JSON.parse(readFileSync(JSON_PATH, 'utf8')) as Report))
  : main()
).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
