/**
 * Search scale curve (issue 23, item 7): `npm run bench:search-scale`
 * (`-- --sizes=10000,100000,1000000 --adapters=postgres,pglite`; PGlite runs 10k and 100k only).
 *
 * For each adapter and corpus size, on a database of its own (PostgreSQL: `atrium_scale_<size>_<random>` next to
 * TEST_DATABASE_URL, dropped at the end; PGlite: a data dir under the OS temp dir, removed at the end):
 * 1. Atrium starts as its own process and migrates the database (so the schema and indexes are the app's own);
 *    the stores `corpus` and `upload-sample` are created through the HTTP API; the app stops.
 * 2. The corpus is stored by this script through the app's own storage path — `SearchRepository.storeDocument`
 *    on the app's database adapter (`PgDatabase` / `PgliteDatabase`), the same statements an upload runs once
 *    its files are extracted and chunked — then `VACUUM (ANALYZE)` on the search tables (what the app's
 *    `noteChanges` runs after uploads). Generated text: a Zipf (s = 1) vocabulary of English function words
 *    followed by generated words, passages of 50–110 words, 20 passages a document (each passage is one stored
 *    chunk); metadata as an upload stores it: Atrium's keys (`contentType`, `type`, `bytes`, `uploadedAt`
 *    spread over two years) and the user's `tags` (1–3 of 40, Zipf), `team` (8 values) and `pages` (number).
 * 3. Atrium starts again on the built database; distinct queries, one in flight, each answered X-Cache MISS
 *    (checked): plain (one or two words, or a phrase), filtered (the same kinds of query with a `filter=`
 *    expression: equality on a list, IN, a date range, a number range, NOT) and faceted (`facets=tags,type`).
 *    p50/p95/p99 of client latency per kind. Then an upload sample through the HTTP API (multipart, 10 files
 *    of ~10 KB a request) into `upload-sample`: MB/s and passages/s, on a database already holding the corpus.
 * 4. The app stops; this script replays the slowest query of each kind through the repository's own statements with
 *    `EXPLAIN (ANALYZE, BUFFERS)` in front of each, and records the plans and the indexes they use; checks the
 *    store row's document counters (migration 11) against its documents, and times the per-search aggregate they
 *    replaced against the store-key lookup that carries them, alternating in one loop.
 *
 * `--render-only` rewrites the markdown from the JSON without running anything.
 *
 * Writes test/load/reports/search-scale.{md,json}; results of earlier invocations for other (adapter, size)
 * pairs are kept in the JSON (each with its own date and load average), and the hand-written `## Analysis`
 * section of the markdown is preserved. Not part of `npm test`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { Database, PgDatabase, PgliteDatabase, PoolStats, Queryable, QueryResult } from '@libs/database';
import { SearchRepository } from '@app/search/search.repository';
import { Metadata, systemMetadata } from '@app/search/metadata/metadata';
import { parseQuery } from '@app/search/query/query-parser';
import { analysisRequests, buildPlan } from '@app/search/query/query-plan';
import { rankDocuments } from '@app/search/query/ranking';
import { parseFilter } from '@app/search/filter/filter-parser';
import { facetCounts } from '@app/search/filter/filter-queries';
import { applySettings, readSettings } from '@app/search/store-settings';
import { TEST_POSTGRES_URL } from '../support/databases';
import { seededRandom } from '../support/seeded-random';
import { handWrittenAnalysis } from './lib/analysis';
import { machine } from './lib/machine';
import { LatencySummary, percentile, r2, summariseLatency } from './lib/latency';
import { ServerProcess } from './lib/processes';
import { createStore, uploadFiles, withSearchRun } from './lib/search-run';
import { ZipfSampler } from './lib/zipf';

const ROOT = resolve(__dirname, '..', '..');
const REPORTS = join(ROOT, 'test', 'load', 'reports');
const API_KEY = 'bench-scale-key-0123456789';
const TENANT = 'bench';
const STORE = 'corpus';
const SAMPLE_STORE = 'upload-sample';
const PASSAGES_PER_DOCUMENT = 20;
const VOCABULARY = 40_000;
const TAGS = 40;
const TEAMS = ['hr', 'legal', 'finance', 'platform', 'sales', 'support', 'research', 'ops'];
const TYPES: Array<[string, number]> = [
  ['application/pdf', 0.35],
  ['text/plain', 0.2],
  ['text/markdown', 0.2],
  ['text/html', 0.15],
  ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 0.1],
];
const UPLOAD_SAMPLE_REQUESTS = 10;
const UPLOAD_SAMPLE_FILES = 10;
const PGLITE_MAX = 100_000;
// English function words first (what the most frequent ranks of a real text are; most are stop words)
const FUNCTION_WORDS =
  'the of and to a in is that for it as with was on be by this are or from at which not have an but all were can has more one their will also if other its been they there when so would into some than these may only new time about such what'.split(
    ' ',
  );

const args = process.argv.slice(2);
const arg = (name: string, fallback: string): string =>
  args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const SIZES = arg('sizes', '10000,100000,1000000').split(',').map(Number);
const ADAPTERS = arg('adapters', 'postgres,pglite').split(',');
const QUERIES_PER_KIND = Number(arg('queries', '150'));

const t0 = Date.now();
const log = (msg: string): void =>
  void process.stdout.write(`[scale ${((Date.now() - t0) / 1000).toFixed(0).padStart(5)}s] ${msg}\n`);

// ── the generated corpus ──────────────────────────────────────────────────────────────────────────
/** Pronounceable made-up words (deterministic), after the function words: ranks of a Zipf vocabulary. */
function vocabulary(): string[] {
  const rnd = seededRandom(7);
  const onsets = [
    'b',
    'c',
    'd',
    'f',
    'g',
    'h',
    'k',
    'l',
    'm',
    'n',
    'p',
    'r',
    's',
    't',
    'v',
    'w',
    'st',
    'tr',
    'pl',
  ];
  const vowels = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou', 'ea'];
  const codas = ['', '', 'n', 'r', 's', 'l', 'nd', 'st', 'x', 'm'];
  const words = new Set(FUNCTION_WORDS);
  while (words.size < VOCABULARY) {
    const syllables = 1 + Math.floor(rnd() * 3) + (rnd() < 0.3 ? 1 : 0);
    let w = '';
    for (let s = 0; s < syllables; s++) {
      w += onsets[Math.floor(rnd() * onsets.length)] + vowels[Math.floor(rnd() * vowels.length)];
      if (s === syllables - 1 || rnd() < 0.3) w += codas[Math.floor(rnd() * codas.length)];
    }
    if (w.length >= 3) words.add(w);
  }
  return [...words];
}

const WORDS = vocabulary();

interface GeneratedDocument {
  filename: string;
  contentType: string;
  passages: string[];
  metadata: Record<string, unknown>;
  uploadedAt: Date;
}

const DAY = 86_400_000;
const FIRST_DAY = Date.UTC(2025, 0, 1);

class CorpusGenerator {
  private readonly words: ZipfSampler;
  private readonly tags: ZipfSampler;
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.words = new ZipfSampler(WORDS.length, 1, seed);
    this.tags = new ZipfSampler(TAGS, 1, seed + 1);
    this.rnd = seededRandom(seed + 2);
  }

  private passage(): string {
    const n = 50 + Math.floor(this.rnd() * 61);
    const out: string[] = [];
    let sentence = 0;
    for (let i = 0; i < n; i++) {
      let w = WORDS[this.words.nextRank()];
      if (sentence === 0) w = w[0].toUpperCase() + w.slice(1);
      sentence++;
      if (sentence >= 8 && this.rnd() < 0.15) {
        w += '.';
        sentence = 0;
      } else if (this.rnd() < 0.04) w += ',';
      out.push(w);
    }
    return `${out.join(' ').replace(/[.,]$/, '')}.`;
  }

  document(i: number): GeneratedDocument {
    const passages = Array.from({ length: PASSAGES_PER_DOCUMENT }, () => this.passage());
    let u = this.rnd();
    let contentType = TYPES[0][0];
    for (const [type, share] of TYPES) {
      contentType = type;
      if ((u -= share) < 0) break;
    }
    const tags = new Set<string>();
    const tagCount = 1 + Math.floor(this.rnd() * 3);
    while (tags.size < tagCount) tags.add(`tag${String(this.tags.next()).padStart(2, '0')}`);
    const uploadedAt = new Date(
      FIRST_DAY + Math.floor(this.rnd() * 700) * DAY + Math.floor(this.rnd() * DAY),
    );
    return {
      filename: `doc-${String(i).padStart(7, '0')}.txt`,
      contentType,
      passages,
      uploadedAt,
      metadata: {
        tags: [...tags],
        team: TEAMS[Math.floor(this.rnd() * TEAMS.length)],
        pages: 1 + Math.floor(this.rnd() * 400),
      },
    };
  }
}

// ── queries ───────────────────────────────────────────────────────────────────────────────────────
type Kind = 'plain' | 'filtered' | 'faceted';
const KINDS: Kind[] = ['plain', 'filtered', 'faceted'];

interface Query {
  kind: Kind;
  q: string;
  filter?: string;
  facets?: string[];
}

/**
 * Distinct queries: words drawn uniformly from vocabulary ranks 40–4000 (past the function words: from words in
 * a few percent of passages to words in a few per thousand), one word, two words, or a quoted pair; filtered
 * ones rotate through five expressions; faceted ones ask for `tags,type`.
 */
function buildQueries(perKind: number): Query[] {
  const rnd = seededRandom(99);
  const word = (): string =>
    WORDS[FUNCTION_WORDS.length + Math.floor(rnd() * (4000 - FUNCTION_WORDS.length))];
  const tag = (): string => `tag${String(Math.floor(rnd() * 10)).padStart(2, '0')}`;
  const filters = [
    () => `tags = ${tag()}`,
    () => `type IN (pdf, docx) AND uploadedAt >= 2026-01-01`,
    () => `pages > 200 AND tags = ${tag()}`,
    () => `team = ${TEAMS[Math.floor(rnd() * TEAMS.length)]} AND NOT type = html`,
    () => `type = markdown`,
  ];
  const seen = new Set<string>();
  const out: Query[] = [];
  for (const kind of KINDS) {
    let n = 0;
    while (n < perKind) {
      const shape = n % 5;
      const q = shape < 2 ? word() : shape < 4 ? `${word()} ${word()}` : `"${word()} ${word()}"`;
      const query: Query = { kind, q };
      if (kind === 'filtered') query.filter = filters[n % filters.length]();
      if (kind === 'faceted') query.facets = ['tags', 'type'];
      const key = JSON.stringify(query);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(query);
      n++;
    }
  }
  return out;
}

// ── measurement ───────────────────────────────────────────────────────────────────────────────────
interface Latency extends LatencySummary {
  withHits: number;
  meanTotal: number;
}

function summarise(samples: number[], server: number[], totals: number[]): Latency {
  return {
    ...summariseLatency(samples, server),
    withHits: totals.filter((n) => n > 0).length,
    meanTotal: Math.round(totals.reduce((a, b) => a + b, 0) / Math.max(1, totals.length)),
  };
}

const headers = { 'X-API-Key': API_KEY };

async function search(
  app: ServerProcess,
  query: Query,
): Promise<{ ms: number; tookMs: number; total: number }> {
  const params = new URLSearchParams({ store: STORE, q: query.q, limit: '10' });
  if (query.filter) params.set('filter', query.filter);
  if (query.facets) params.set('facets', query.facets.join(','));
  const start = process.hrtime.bigint();
  const res = await fetch(`${app.url}/api/v1/search?${params.toString()}`, { headers });
  const body = (await res.json()) as { total: number; tookMs: number };
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (res.status !== 200)
    throw new Error(`search ${JSON.stringify(query)}: ${res.status} ${JSON.stringify(body)}`);
  const cache = res.headers.get('x-cache');
  if (cache !== 'MISS') throw new Error(`search ${JSON.stringify(query)}: X-Cache ${cache}, expected MISS`);
  return { ms, tookMs: body.tookMs, total: body.total };
}

type Shape = 'word' | 'two words' | 'phrase';
const shapeOf = (q: string): Shape => (q.startsWith('"') ? 'phrase' : q.includes(' ') ? 'two words' : 'word');

interface Measured {
  latency: Record<Kind, Latency>;
  /** p50/p95 per kind and query shape (one word, two words, a quoted pair). */
  byShape: Record<Kind, Record<Shape, { p50: number; p95: number; requests: number }>>;
  /** The slowest queries of each kind (client ms, matches). */
  slowest: Record<Kind, Array<{ query: Query; ms: number; total: number }>>;
}

async function measure(app: ServerProcess, queries: Query[]): Promise<Measured> {
  // a few warm-up queries first (the app's first statements prepare, the OS caches the files); not counted
  for (const w of ['warmup', 'first query', 'again']) await search(app, { kind: 'plain', q: w });
  const out = { latency: {}, byShape: {}, slowest: {} } as Measured;
  for (const kind of KINDS) {
    const samples: number[] = [];
    const server: number[] = [];
    const totals: number[] = [];
    const each: Array<{ query: Query; ms: number; total: number }> = [];
    for (const q of queries.filter((x) => x.kind === kind)) {
      const r = await search(app, q);
      samples.push(r.ms);
      server.push(r.tookMs);
      totals.push(r.total);
      each.push({ query: q, ms: r2(r.ms), total: r.total });
    }
    out.latency[kind] = summarise(samples, server, totals);
    out.byShape[kind] = {} as Record<Shape, { p50: number; p95: number; requests: number }>;
    for (const shape of ['word', 'two words', 'phrase'] as Shape[]) {
      const s = each
        .filter((e) => shapeOf(e.query.q) === shape)
        .map((e) => e.ms)
        .sort((a, b) => a - b);
      out.byShape[kind][shape] = { p50: percentile(s, 50), p95: percentile(s, 95), requests: s.length };
    }
    out.slowest[kind] = [...each].sort((a, b) => b.ms - a.ms).slice(0, 5);
    const l = out.latency[kind];
    log(`  ${kind}: p50 ${l.p50} ms, p95 ${l.p95} ms (${l.withHits} with hits)`);
  }
  return out;
}

interface UploadStats {
  files: number;
  bytes: number;
  passages: number;
  seconds: number;
  megabytesPerSecond: number;
  passagesPerSecond: number;
}

/** An upload sample through the HTTP API: multipart requests of 10 generated text files, one in flight. */
async function uploadSample(app: ServerProcess): Promise<UploadStats> {
  const gen = new CorpusGenerator(777);
  const stats = { files: 0, bytes: 0, passages: 0 };
  const started = process.hrtime.bigint();
  for (let r = 0; r < UPLOAD_SAMPLE_REQUESTS; r++) {
    const docs = Array.from({ length: UPLOAD_SAMPLE_FILES }, (_, f) => ({
      name: `sample-${r}-${f}.txt`,
      doc: gen.document(r * UPLOAD_SAMPLE_FILES + f),
    }));
    const { status, body } = await uploadFiles<{ documents?: Array<{ bytes: number; chunks: number }> }>(
      app.url,
      API_KEY,
      SAMPLE_STORE,
      docs.map((d) => ({ name: d.name, data: d.doc.passages.join('\n\n'), type: 'text/plain' })),
      Object.fromEntries(docs.map((d) => [d.name, d.doc.metadata])),
    );
    if (status !== 201 && status !== 200) throw new Error(`upload sample: ${status} ${JSON.stringify(body)}`);
    for (const d of body.documents ?? []) {
      stats.files++;
      stats.bytes += d.bytes;
      stats.passages += d.chunks;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    ...stats,
    seconds: r2(seconds),
    megabytesPerSecond: r2(stats.bytes / 1e6 / seconds),
    passagesPerSecond: Math.round(stats.passages / seconds),
  };
}

// ── the corpus, stored through the repository ─────────────────────────────────────────────────────
interface BuildStats {
  documents: number;
  passages: number;
  megabytes: number;
  seconds: number;
  passagesPerSecond: number;
  vacuumAnalyzeSeconds: number;
}

async function build(db: Database, size: number, concurrency: number): Promise<BuildStats> {
  const repository = new SearchRepository(db);
  const store = await repository.storeKey(TENANT, STORE);
  if (!store) throw new Error('the corpus store is missing');
  const gen = new CorpusGenerator(1);
  const documents = Math.ceil(size / PASSAGES_PER_DOCUMENT);
  let next = 0;
  let bytes = 0;
  let done = 0;
  const started = process.hrtime.bigint();
  let lastLog = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < documents) {
        const i = next++;
        const doc = gen.document(i);
        const text = doc.passages.join('\n\n');
        const length = Buffer.byteLength(text);
        bytes += length;
        await repository.storeDocument(TENANT, store.id, {
          filename: doc.filename,
          contentType: doc.contentType,
          bytes: length,
          checksum: createHash('sha256').update(text).digest('hex'),
          text,
          chunks: doc.passages,
          metadata: {
            ...doc.metadata,
            ...systemMetadata({ contentType: doc.contentType, bytes: length, uploadedAt: doc.uploadedAt }),
          } as Metadata,
        });
        done++;
        if (Date.now() - lastLog > 15_000) {
          lastLog = Date.now();
          const s = Number(process.hrtime.bigint() - started) / 1e9;
          log(
            `  stored ${done * PASSAGES_PER_DOCUMENT} passages (${Math.round((done * PASSAGES_PER_DOCUMENT) / s)}/s)`,
          );
        }
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const vacuumStarted = process.hrtime.bigint();
  for (const table of ['search_documents', 'search_chunks', 'search_words', 'search_postings'])
    await db.exec(`VACUUM (ANALYZE) ${table}`);
  return {
    documents,
    passages: documents * PASSAGES_PER_DOCUMENT,
    megabytes: r2(bytes / 1e6),
    seconds: r2(seconds),
    passagesPerSecond: Math.round((documents * PASSAGES_PER_DOCUMENT) / seconds),
    vacuumAnalyzeSeconds: r2(Number(process.hrtime.bigint() - vacuumStarted) / 1e9),
  };
}

interface Sizes {
  databaseMB: number;
  tables: Record<string, number>;
}

async function sizes(db: Database): Promise<Sizes> {
  const r = await db.query<{ name: string; mb: number }>(
    `SELECT 'database' AS name, round(pg_database_size(current_database()) / 1e6)::float8 AS mb
     UNION ALL
     SELECT relname::text, round(pg_total_relation_size(oid) / 1e6)::float8 FROM pg_class
     WHERE relname IN ('search_documents', 'search_chunks', 'search_postings', 'search_words')`,
  );
  const tables: Record<string, number> = {};
  let databaseMB = 0;
  for (const row of r.rows)
    if (row.name === 'database') databaseMB = Number(row.mb);
    else tables[row.name] = Number(row.mb);
  return { databaseMB, tables };
}

// ── EXPLAIN of the statements a search runs ───────────────────────────────────────────────────────
interface Explained {
  statement: string;
  executionMs: number;
  indexes: string[];
  seqScans: string[];
  plan: string;
}

/** The app's database with `EXPLAIN (ANALYZE, BUFFERS)` run before each read statement, plans recorded. */
class ExplainingDatabase extends Database {
  readonly kind: 'postgres' | 'pglite';
  readonly description: string;
  readonly explained: Explained[] = [];
  label = '';
  constructor(private readonly inner: Database) {
    super();
    this.kind = inner.kind;
    this.description = inner.description;
  }
  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    if (/^\s*(SELECT|WITH|\()/i.test(sql)) {
      const r = await this.inner.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
      const plan = r.rows.map((row) => row['QUERY PLAN']).join('\n');
      this.explained.push({
        statement: this.label,
        executionMs: Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? 0),
        indexes: [
          ...new Set(
            [
              ...plan.matchAll(
                /(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)/g,
              ),
            ].map((m) => m[1]),
          ),
        ],
        seqScans: [...new Set([...plan.matchAll(/Seq Scan on (\w+)/g)].map((m) => m[1]))],
        plan,
      });
    }
    return this.inner.query<T>(sql, params);
  }
  exec(sql: string): Promise<void> {
    return this.inner.exec(sql);
  }
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.inner.transaction(fn);
  }
  poolStats(): PoolStats {
    return this.inner.poolStats();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * One query of a kind through the statements SearchService runs on a cache miss (lexical mode): the store's key
 * and settings, the analysis of the words, the match (postings, the filter's kept documents, phrases,
 * proximity), the rescore window when there is one, the page's passages, the facet counts.
 */
async function explain(inner: Database, query: Query): Promise<Explained[]> {
  const db = new ExplainingDatabase(inner);
  const repository = new SearchRepository(db);
  db.label = 'storeKey';
  const store = await repository.storeKey(TENANT, STORE);
  if (!store) throw new Error('the corpus store is missing');
  db.label = 'storeSettings';
  const parsed = applySettings(parseQuery(query.q), readSettings(await repository.storeSettings(store.id)));
  const { requests, index } = analysisRequests(parsed);
  db.label = 'analyse';
  const analysis = await repository.analyse(store.id, requests);
  const plan = buildPlan(parsed, analysis.results, index);
  const filter = query.filter ? parseFilter(query.filter) : undefined;
  const rescore = plan.groupCount === 1 && plan.verbatim !== null;
  db.label = 'match';
  const rows = await repository.match(store, plan, { proximity: !rescore, filter });
  let ranking = rankDocuments(plan, rows, 10);
  if (rescore && ranking.total > 1) {
    db.label = 'proximity (rescore window)';
    rows.proximity = await repository.proximity(
      store.id,
      plan,
      ranking.documents.slice(0, 100).map((d) => d.documentId),
    );
    ranking = rankDocuments(plan, rows, 10);
  }
  const ids = ranking.documents.map((d) => d.documentId);
  if (query.facets) {
    db.label = 'facetCounts';
    await facetCounts(db, query.facets, ids);
  }
  db.label = 'passages';
  if (ids.length) await repository.passages(plan, ids.slice(0, 10));
  return db.explained;
}

// ── the store's totals: aggregated per search (before migration 11) or read from its row ─────────────
interface StoreTotalsAB {
  documents: number;
  rounds: number;
  /** What every cache-missing search ran before migration 11, as a branch of its match statement. */
  aggregate: { p50: number; p95: number };
  /** What a search reads now: the store's key, its counters with it. */
  storeKey: { p50: number; p95: number };
}

const TOTALS_ROUNDS = 200;

/**
 * Checks the store row's counters against the documents they count (after a build with documents stored
 * concurrently), then times, alternating in one loop (the same load for both), the aggregate a search used to run
 * — `count(*)`, `sum(terms)` over the store's published documents — and the store-key lookup that now carries
 * the same two numbers.
 */
async function storeTotals(db: Database): Promise<StoreTotalsAB> {
  const key = await new SearchRepository(db).storeKey(TENANT, STORE);
  if (!key) throw new Error('the corpus store is missing');
  const aggregateSql = `SELECT count(*)::float8 AS documents, coalesce(sum(terms), 0)::float8 AS terms
    FROM search_documents WHERE store_id = $1 AND ready`;
  const real = (await db.query<{ documents: number; terms: number }>(aggregateSql, [key.id])).rows[0];
  if (Number(real.documents) !== key.documents || Number(real.terms) !== key.totalTerms)
    throw new Error(
      `store counters drifted: row ${key.documents} / ${key.totalTerms}, documents ${real.documents} / ${real.terms}`,
    );
  const timed = async (fn: () => Promise<unknown>): Promise<number> => {
    const started = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  const aggregate: number[] = [];
  const lookup: number[] = [];
  for (let i = 0; i < TOTALS_ROUNDS; i++) {
    const a = () => timed(() => db.query(aggregateSql, [key.id])).then((ms) => aggregate.push(ms));
    const k = () =>
      timed(() => new SearchRepository(db).storeKey(TENANT, STORE)).then((ms) => lookup.push(ms));
    if (i % 2) {
      await a();
      await k();
    } else {
      await k();
      await a();
    }
  }
  const summary = (samples: number[]) => {
    const sorted = [...samples].sort((x, y) => x - y);
    return { p50: r2(percentile(sorted, 50)), p95: r2(percentile(sorted, 95)) };
  };
  return {
    documents: key.documents,
    rounds: TOTALS_ROUNDS,
    aggregate: summary(aggregate),
    storeKey: summary(lookup),
  };
}

// ── one (adapter, size) ───────────────────────────────────────────────────────────────────────────
interface Result {
  adapter: string;
  size: number;
  date: string;
  loadAverage1m: { before: number; after: number };
  database: string;
  build: BuildStats;
  sizes: Sizes;
  latency: Record<Kind, Latency>;
  byShape?: Measured['byShape'];
  slowest?: Measured['slowest'];
  upload: UploadStats;
  explain: Record<Kind, { query: Query; statements: Explained[] }>;
  /** Runs from migration 11 on. */
  storeTotals?: StoreTotalsAB;
}

async function openDatabase(adapter: string, url: string | undefined, dataDir: string): Promise<Database> {
  if (adapter === 'postgres')
    return new PgDatabase({ url: url as string, poolMax: 4, statementTimeoutMs: 600_000 });
  const db = new PgliteDatabase({
    dataDir: join(dataDir, 'pglite'),
    statementTimeoutMs: 600_000,
    extensions: ['pg_trgm'],
  });
  await db.ready();
  return db;
}

async function runOne(adapter: string, size: number, queries: Query[]): Promise<Result> {
  const loadBefore = loadavg()[0];
  let url: string | undefined;
  let database = 'PGlite (embedded, in DATA_DIR)';
  let dbName: string | undefined;
  if (adapter === 'postgres') {
    dbName = `atrium_scale_${size}_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: TEST_POSTGRES_URL });
    await admin.connect();
    database = `PostgreSQL ${(await admin.query<{ v: string }>('SELECT current_setting($1) AS v', ['server_version'])).rows[0].v}`;
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const u = new URL(TEST_POSTGRES_URL);
    u.pathname = `/${dbName}`;
    url = u.toString();
  }
  const env: Record<string, string> = url ? { DATABASE_URL: url } : {};
  try {
    return await withSearchRun('atrium-scale-', '', async (appRun) => {
      const { dataDir } = appRun;
      const start = () =>
        appRun.start({
          name: 'atrium',
          cwd: ROOT,
          apiKey: API_KEY,
          chunkChars: 1200,
          chunkOverlapChars: 200,
          env,
          readyTimeoutMs: 300_000,
        });
      log(`${adapter} ${size}: migrating (the app's first start) and creating the stores`);
      let app = await start();
      for (const name of [STORE, SAMPLE_STORE]) await createStore(app.url, API_KEY, name, name);
      await appRun.stop();

      log(`${adapter} ${size}: storing ${size} passages through SearchRepository.storeDocument`);
      let db = await openDatabase(adapter, url, dataDir);
      const built = await build(db, size, adapter === 'postgres' ? 2 : 1);
      const measuredSizes = await sizes(db);
      await db.close();
      log(
        `${adapter} ${size}: stored in ${built.seconds}s (${built.passagesPerSecond} passages/s), VACUUM ANALYZE ${built.vacuumAnalyzeSeconds}s, database ${measuredSizes.databaseMB} MB`,
      );

      app = await start();
      log(`${adapter} ${size}: ${queries.length} cold searches, one in flight`);
      const measured = await measure(app, queries);
      log(`${adapter} ${size}: upload sample through the HTTP API`);
      const upload = await uploadSample(app);
      log(
        `${adapter} ${size}: upload ${upload.megabytesPerSecond} MB/s, ${upload.passagesPerSecond} passages/s`,
      );
      await appRun.stop();

      db = await openDatabase(adapter, url, dataDir);
      const explained = {} as Result['explain'];
      let totals: StoreTotalsAB;
      try {
        for (const kind of KINDS) {
          // the slowest query of the kind (what the tail is made of), replayed on the database it ran on
          const query = measured.slowest[kind][0].query;
          explained[kind] = { query, statements: await explain(db, query) };
        }
        totals = await storeTotals(db);
        log(
          `${adapter} ${size}: store totals p50 ${totals.aggregate.p50} ms aggregated, ${totals.storeKey.p50} ms with the store key`,
        );
      } finally {
        await db.close();
      }
      return {
        adapter,
        size,
        date: new Date().toISOString(),
        loadAverage1m: { before: r2(loadBefore), after: r2(loadavg()[0]) },
        database,
        build: built,
        sizes: measuredSizes,
        latency: measured.latency,
        byShape: measured.byShape,
        slowest: measured.slowest,
        upload,
        explain: explained,
        storeTotals: totals,
      };
    });
  } finally {
    if (dbName) {
      const admin = new Client({ connectionString: TEST_POSTGRES_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  }
}

// ── the report ────────────────────────────────────────────────────────────────────────────────────
const TARGETS: Record<number, number> = { 100_000: 50, 1_000_000: 200 };

function markdown(results: Result[], meta: Record<string, unknown>, analysis: string): string {
  const sorted = [...results].sort((a, b) => a.adapter.localeCompare(b.adapter) || a.size - b.size);
  const target = (r: Result, kind: Kind): string => {
    const t = TARGETS[r.size];
    if (r.adapter !== 'postgres' || !t || kind === 'faceted') return '';
    return r.latency[kind].p95 <= t ? ` ✓ (≤ ${t})` : ` ✗ (> ${t})`;
  };
  const lines = [
    '# Search scale curve',
    '',
    `Generated by \`npm run bench:search-scale\` — ${String(meta.cpu)}, ${String(meta.cpus)} CPUs, ${String(meta.memoryGiB)} GiB, Node ${String(meta.node)}. ` +
      'Each row was measured on its own database in the invocation dated beside it, with the 1-minute load average before and after (a shared machine: every figure is noisy).',
    '',
    '**How the corpus was made.** Atrium migrates a fresh database on its first start (PostgreSQL: a database of its own; PGlite: a data dir of its own), ' +
      "and the stores are created through the HTTP API. The corpus is then stored by the benchmark through the app's own storage path, " +
      "`SearchRepository.storeDocument` on the app's database adapter (the statements an upload runs once its files are extracted and chunked: " +
      'document row, chunks with their tsvectors, postings, vocabulary, publication), two documents in flight on PostgreSQL, one on PGlite, ' +
      'then `VACUUM (ANALYZE)` of the search tables (what the app runs after uploads). ' +
      `Generated text: a Zipf (s = 1) vocabulary of ${VOCABULARY} words (English function words at the top ranks, then made-up words), ` +
      `passages of 50–110 words (each passage one stored chunk), ${PASSAGES_PER_DOCUMENT} passages a document; metadata as an upload stores it: ` +
      '`contentType`/`type` (pdf 35 %, text 20 %, markdown 20 %, html 15 %, docx 10 %), `bytes`, `uploadedAt` (spread over 2025–2026), ' +
      `and user keys \`tags\` (1–3 of ${TAGS}, Zipf), \`team\` (${TEAMS.length} values), \`pages\` (1–400).`,
    '',
    `**Searches.** ${String(meta.queriesPerKind)} distinct queries per kind, one in flight, \`limit=10\`, every answer X-Cache MISS (checked): ` +
      'one word, two words or a quoted pair, words drawn uniformly from vocabulary ranks 40–4000. ' +
      '*Filtered*: the same shapes with a `filter=` rotating through `tags = tagNN`, `type IN (pdf, docx) AND uploadedAt >= 2026-01-01`, ' +
      '`pages > 200 AND tags = tagNN`, `team = X AND NOT type = html`, `type = markdown`. *Faceted*: `facets=tags,type`. ' +
      'Latency is client-observed (ms); "server" is the response\'s `tookMs`. Targets (PostgreSQL, plain and filtered): p95 ≤ 50 ms at 100k, ≤ 200 ms at 1M passages.',
    '',
    '## Cold search latency (ms)',
    '',
    '| Database | Passages | Kind | p50 | p95 | p99 | max | server p50 | server p95 | with hits | mean total |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...sorted.flatMap((r) =>
      KINDS.map((k) => {
        const l = r.latency[k];
        return `| ${r.adapter} | ${r.size.toLocaleString('en')} | ${k} | ${l.p50} | ${l.p95}${target(r, k)} | ${l.p99} | ${l.max} | ${l.serverP50} | ${l.serverP95} | ${l.withHits}/${l.requests} | ${l.meanTotal} |`;
      }),
    ),
    '',
    '## By query shape (client ms, p50 / p95)',
    '',
    '| Database | Passages | Kind | one word | two words | quoted pair |',
    '|---|---:|---|---:|---:|---:|',
    ...sorted.flatMap((r) =>
      r.byShape
        ? KINDS.map((k) => {
            const b = (r.byShape as Measured['byShape'])[k];
            const cell = (x: { p50: number; p95: number }) => `${r2(x.p50)} / ${r2(x.p95)}`;
            return `| ${r.adapter} | ${r.size.toLocaleString('en')} | ${k} | ${cell(b.word)} | ${cell(b['two words'])} | ${cell(b.phrase)} |`;
          })
        : [],
    ),
    '',
    '## Corpus build, database size, upload through the API',
    '',
    'Build: the corpus stored through `SearchRepository.storeDocument` (above). Upload: a sample of ' +
      `${UPLOAD_SAMPLE_REQUESTS * UPLOAD_SAMPLE_FILES} generated text files (~10 KB each) through \`POST /api/v1/stores/:store/documents\`, ` +
      `${UPLOAD_SAMPLE_FILES} files a request, one request in flight, into a second store of the database already holding the corpus ` +
      '(passages: as the app chunked them, SEARCH_CHUNK_CHARS=1200).',
    '',
    '| Database | Passages | Documents | Text MB | Build s | Build passages/s | VACUUM ANALYZE s | DB MB | chunks MB | postings MB | words MB | documents MB | Upload MB/s | Upload passages/s | Date | Load 1m |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
    ...sorted.map(
      (r) =>
        `| ${r.database} | ${r.size.toLocaleString('en')} | ${r.build.documents} | ${r.build.megabytes} | ${r.build.seconds} | ${r.build.passagesPerSecond} | ${r.build.vacuumAnalyzeSeconds} | ${r.sizes.databaseMB} | ${r.sizes.tables.search_chunks ?? ''} | ${r.sizes.tables.search_postings ?? ''} | ${r.sizes.tables.search_words ?? ''} | ${r.sizes.tables.search_documents ?? ''} | ${r.upload.megabytesPerSecond} | ${r.upload.passagesPerSecond} | ${r.date.slice(0, 16)} | ${r.loadAverage1m.before} → ${r.loadAverage1m.after} |`,
    ),
    '',
    '## Indexes each statement used (EXPLAIN ANALYZE, one query per kind)',
    '',
    "The benchmark replays the slowest query of each kind (the query and its matches are in search-scale.json, `explain`) through the repository's own statements (what `SearchService` runs on a cache miss, lexical mode) with `EXPLAIN (ANALYZE, BUFFERS)` in front of each; the full plans are in search-scale.json.",
    '',
    '| Database | Passages | Kind | Statement | ms | Indexes | Seq scans |',
    '|---|---:|---|---|---:|---|---|',
    ...sorted.flatMap((r) =>
      KINDS.flatMap((k) =>
        (r.explain[k]?.statements ?? []).map(
          (s) =>
            `| ${r.adapter} | ${r.size.toLocaleString('en')} | ${k} | ${s.statement} | ${s.executionMs} | ${s.indexes.join(', ') || '—'} | ${s.seqScans.join(', ') || '—'} |`,
        ),
      ),
    ),
    '',
    "## The store's totals: aggregated per search, or read from its row (migration 11)",
    '',
    "BM25's document count and total length, on the built database with the app stopped: the store row's counters are " +
      'first checked against the documents (they were kept while the corpus was stored, two documents in flight on PostgreSQL), ' +
      'then, alternating in one loop, the aggregate every cache-missing search ran before migration 11 ' +
      "(`count(*)`, `sum(terms)` over the store's published documents, a branch of its match statement) and the store-key " +
      'lookup that now carries the same numbers (one row through the (tenant, name) unique index). Client-side ms per statement.',
    '',
    '| Database | Passages | Documents | Rounds | aggregate p50 | aggregate p95 | store key p50 | store key p95 | p50 ratio |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...sorted.flatMap((r) => {
      const t = r.storeTotals;
      if (!t) return [];
      const ratio = t.storeKey.p50 > 0 ? `${r2(t.aggregate.p50 / t.storeKey.p50)}×` : '—';
      return [
        `| ${r.adapter} | ${r.size.toLocaleString('en')} | ${t.documents} | ${t.rounds} | ${t.aggregate.p50} | ${t.aggregate.p95} | ${t.storeKey.p50} | ${t.storeKey.p95} | ${ratio} |`,
      ];
    }),
    '',
  ];
  return `${lines.join('\n')}${analysis ? `\n${analysis}\n` : ''}`;
}

async function main(): Promise<void> {
  const queries = buildQueries(QUERIES_PER_KIND);
  const jsonPath = join(REPORTS, 'search-scale.json');
  const mdPath = join(REPORTS, 'search-scale.md');
  let previous: Result[] = [];
  try {
    previous = (JSON.parse(readFileSync(jsonPath, 'utf8')) as { results: Result[] }).results;
  } catch {
    // first run
  }
  log(`1-minute load average ${loadavg()[0].toFixed(2)} on ${cpus().length} CPUs; sizes ${SIZES.join(', ')}`);
  const meta = {
    ...machine(),
    queriesPerKind: QUERIES_PER_KIND,
  };
  if (args.includes('--render-only')) {
    // the markdown again from the JSON's results (e.g. after results of two branches' runs were merged)
    writeFileSync(mdPath, markdown(previous, meta, handWrittenAnalysis(mdPath)));
    log('rewrote test/load/reports/search-scale.md from search-scale.json');
    return;
  }
  for (const adapter of ADAPTERS)
    for (const size of SIZES) {
      if (adapter === 'pglite' && size > PGLITE_MAX) continue;
      const result = await runOne(adapter, size, queries);
      previous = [...previous.filter((r) => !(r.adapter === adapter && r.size === size)), result];
      // written after every (adapter, size): a later one that fails or runs out of time keeps the earlier
      writeFileSync(jsonPath, `${JSON.stringify({ meta, results: previous }, null, 2)}\n`);
      writeFileSync(mdPath, markdown(previous, meta, handWrittenAnalysis(mdPath)));
      log(`wrote test/load/reports/search-scale.{md,json} (${adapter} ${size})`);
    }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
