/**
 * Ingestion benchmark (issue 23, item 8): `npm run bench:ingest` (`-- --ab <rev>` to measure Atrium at
 * `<rev>` beside the working tree in the same invocation; `-- --adapters=pglite` or `=postgres` for one
 * database; `-- --large-mb=N` (default 12); `-- --pages=N` (default 500); `-- --quick`: 2 MB and 100 pages).
 * Run it under the benchmark lock: `flock /tmp/atrium-bench.lock npm run bench:ingest -- --ab main`.
 *
 * For each database adapter (embedded PGlite, then PostgreSQL at TEST_DATABASE_URL) and each build (A: the
 * revision given to --ab, run from a git worktree of it; B: this working tree), starts Atrium from source as
 * its own process (NODE_ENV=production, default passages 1200/200, EMBEDDINGS_PROVIDER=off) on a fresh data
 * directory or database and measures, through the multipart API:
 *
 * - **one large plain-text file**: `--large-mb` MB of real prose (the text of the python3-doc pages, tags
 *   stripped, repeated with a counter until long enough), one request, one file: MB/s from the request's
 *   start to its answer. The answer must mean searchable: a search for a word only that file holds, sent the
 *   moment the upload answers, must find it (the benchmark fails otherwise).
 * - **many small files**: the first `--pages` pages of Debian's python3-doc (HTML, genindex pages left out),
 *   20 files per request, 2 requests in flight, into a new store: files/s and MB/s.
 *
 * For each phase, where the time went: the app's own `db_query_duration_seconds` (by statement kind and
 * table), read from /metrics before and after, so the report splits database time (per table: chunks with
 * their tsvector and GIN entries, postings, vocabulary) from the rest (transfer, extraction in the child
 * processes, chunking, IPC). Writes test/load/reports/ingestion.{md,json}, keeping the report's hand-written
 * `## Analysis` section. Not part of `npm test`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { loadCorpus, CorpusFile } from '../search-relevance/corpus';
import { createTestDatabase } from '../support/databases';
import { AbCheckout, checkoutRevision } from './lib/ab-checkout';
import { handWrittenAnalysis } from './lib/analysis';
import { ServerProcess, startSearchApp } from './lib/processes';

const ROOT = resolve(__dirname, '..', '..');
const REPORTS = join(ROOT, 'test', 'load', 'reports');
const API_KEY = 'bench-ingest-key-0123456789';
const FILES_PER_UPLOAD = 20;
const UPLOAD_CONCURRENCY = 2;
const CHUNK_CHARS = 1200; // the defaults
const CHUNK_OVERLAP = 200;
const MB = 1e6;

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const opt = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const ADAPTERS = (opt('adapters') ?? 'pglite,postgres').split(',');
const LARGE_MB = Number(opt('large-mb') ?? (QUICK ? 2 : 12));
const PAGES = Number(opt('pages') ?? (QUICK ? 100 : 500));
const AB_REV = ((): string | undefined => {
  const i = args.indexOf('--ab');
  if (i < 0) return undefined;
  const rev = args[i + 1];
  if (!rev || rev.startsWith('--'))
    throw new Error('--ab needs a revision: npm run bench:ingest -- --ab <rev>');
  return rev;
})();
/** A word no page of the corpus holds: the large file's marker, searched for the moment its upload answers. */
const MARKER = 'zyqxingestmarker';

const t0 = Date.now();
const log = (msg: string): void =>
  void process.stdout.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
const git = (cwd: string, ...argv: string[]): string =>
  execFileSync('git', argv, { cwd, encoding: 'utf8' }).trim();
const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

// ── corpus ────────────────────────────────────────────────────────────────────────────────────────
/** The pages' text (tags and entities stripped), repeated with a counter until `bytes` long, marker first. */
function largeProse(pages: CorpusFile[], bytes: number): Buffer {
  const texts = pages.map((p) =>
    p.data
      .toString('utf8')
      .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
      .replace(/<[^>]*>/g, ' ')
      .replace(/&[a-z#0-9]+;/gi, ' ')
      .replace(/[ \t]+/g, ' ')
      .replace(/\n\s*\n+/g, '\n\n'),
  );
  const parts = [`${MARKER} opens the large document.\n\n`];
  let size = parts[0].length;
  for (let i = 0; size < bytes; i++) {
    const part = `Part ${i}.\n\n${texts[i % texts.length]}\n\n`;
    parts.push(part);
    size += Buffer.byteLength(part);
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

// ── the app's database time, from /metrics ────────────────────────────────────────────────────────
type DbTime = Record<string, { seconds: number; statements: number }>;

async function dbTime(app: ServerProcess): Promise<DbTime> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const out: DbTime = {};
  const line = /^db_query_duration_seconds_(sum|count)\{([^}]*)\} ([0-9.e+-]+)$/gm;
  for (const m of text.matchAll(line)) {
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    const key = `${labels.operation} ${labels.table}`;
    const entry = (out[key] ??= { seconds: 0, statements: 0 });
    if (m[1] === 'sum') entry.seconds += Number(m[3]);
    else entry.statements += Number(m[3]);
  }
  return out;
}

function dbTimeSince(before: DbTime, after: DbTime): DbTime {
  const out: DbTime = {};
  for (const [key, v] of Object.entries(after)) {
    const seconds = v.seconds - (before[key]?.seconds ?? 0);
    const statements = v.statements - (before[key]?.statements ?? 0);
    if (statements > 0) out[key] = { seconds: round(seconds, 3), statements };
  }
  return out;
}

// ── phases ────────────────────────────────────────────────────────────────────────────────────────
const headers = { 'X-API-Key': API_KEY };

async function createStore(app: ServerProcess, name: string): Promise<void> {
  const res = await fetch(`${app.url}/api/v1/stores`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`creating store ${name}: ${res.status} ${await res.text()}`);
}

interface Phase {
  files: number;
  bytes: number;
  chunks: number;
  seconds: number;
  megabytesPerSecond: number;
  filesPerSecond: number;
  /** Database time per statement kind and table during the phase, and its sum. */
  db: DbTime;
  dbSeconds: number;
}

async function upload(
  app: ServerProcess,
  store: string,
  files: Array<{ filename: string; data: Buffer }>,
): Promise<{ files: number; bytes: number; chunks: number }> {
  const form = new FormData();
  for (const f of files) form.append('files', new Blob([new Uint8Array(f.data)]), f.filename);
  const res = await fetch(`${app.url}/api/v1/stores/${store}/documents`, {
    method: 'POST',
    headers,
    body: form,
  });
  const body = (await res.json()) as {
    documents?: Array<{ bytes: number; chunks: number }>;
    rejected?: Array<{ code: string; filename: string }>;
  };
  if (res.status !== 201 || body.rejected?.length)
    throw new Error(
      `upload to ${store}: ${res.status} ${JSON.stringify(body.rejected ?? body).slice(0, 1000)}`,
    );
  const docs = body.documents ?? [];
  return {
    files: docs.length,
    bytes: docs.reduce((s, d) => s + d.bytes, 0),
    chunks: docs.reduce((s, d) => s + d.chunks, 0),
  };
}

async function phase(
  app: ServerProcess,
  run: () => Promise<Omit<Phase, 'seconds' | 'megabytesPerSecond' | 'filesPerSecond' | 'db' | 'dbSeconds'>>,
): Promise<Phase> {
  const before = await dbTime(app);
  const started = process.hrtime.bigint();
  const r = await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const db = dbTimeSince(before, await dbTime(app));
  return {
    ...r,
    seconds: round(seconds),
    megabytesPerSecond: round(r.bytes / MB / seconds),
    filesPerSecond: round(r.files / seconds),
    db,
    dbSeconds: round(
      Object.values(db).reduce((s, v) => s + v.seconds, 0),
      2,
    ),
  };
}

async function largeFile(app: ServerProcess, data: Buffer): Promise<Phase> {
  await createStore(app, 'large');
  const result = await phase(app, () => upload(app, 'large', [{ filename: 'large.txt', data }]));
  // answered means searchable: the marker only this file holds is found at once
  const res = await fetch(`${app.url}/api/v1/search?store=large&q=${MARKER}`, { headers });
  const found = (await res.json()) as { results?: unknown[] };
  if (res.status !== 200 || !found.results?.length)
    throw new Error(`the large file was answered but its marker is not found: ${res.status}`);
  return result;
}

async function manyFiles(app: ServerProcess, pages: CorpusFile[]): Promise<Phase> {
  await createStore(app, 'pages');
  const batches: CorpusFile[][] = [];
  for (let i = 0; i < pages.length; i += FILES_PER_UPLOAD) batches.push(pages.slice(i, i + FILES_PER_UPLOAD));
  return phase(app, async () => {
    const total = { files: 0, bytes: 0, chunks: 0 };
    let next = 0;
    await Promise.all(
      Array.from({ length: UPLOAD_CONCURRENCY }, async () => {
        while (next < batches.length) {
          const r = await upload(app, 'pages', batches[next++]);
          total.files += r.files;
          total.bytes += r.bytes;
          total.chunks += r.chunks;
        }
      }),
    );
    return total;
  });
}

// ── one build on one adapter ──────────────────────────────────────────────────────────────────────
interface Run {
  build: 'a' | 'b';
  adapter: string;
  database: string;
  large: Phase;
  pages: Phase;
}

async function runOne(
  build: 'a' | 'b',
  cwd: string,
  adapter: string,
  large: Buffer,
  pages: CorpusFile[],
): Promise<Run> {
  let env: Record<string, string> = {};
  let drop: (() => Promise<void>) | undefined;
  let database = 'PGlite (embedded, in DATA_DIR)';
  if (adapter === 'postgres') {
    const db = await createTestDatabase({ prefix: 'test_bench_ingest' });
    env = { DATABASE_URL: db.url };
    database = `PostgreSQL ${db.serverVersion} (local)`;
    drop = db.drop;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'atrium-bench-ingest-'));
  let app: ServerProcess | undefined;
  try {
    app = await startSearchApp({
      name: `atrium-${build}`,
      cwd,
      dataDir,
      apiKey: API_KEY,
      chunkChars: CHUNK_CHARS,
      chunkOverlapChars: CHUNK_OVERLAP,
      // the whole large file in one request, and no statement bound cutting the baseline's steps short
      env: { ...env, UPLOAD_MAX_FILE_BYTES: String(Math.max(large.length + MB, 20 * 1024 * 1024)) },
      readyTimeoutMs: 120_000,
    });
    log(`${build} ${adapter}: one ${round(large.length / MB, 1)} MB plain-text file`);
    const l = await largeFile(app, large);
    log(`${build} ${adapter}: ${l.seconds} s, ${l.megabytesPerSecond} MB/s (database ${l.dbSeconds} s)`);
    log(
      `${build} ${adapter}: ${pages.length} pages, ${FILES_PER_UPLOAD} a request, ${UPLOAD_CONCURRENCY} in flight`,
    );
    const p = await manyFiles(app, pages);
    log(`${build} ${adapter}: ${p.seconds} s, ${p.filesPerSecond} files/s, ${p.megabytesPerSecond} MB/s`);
    return { build, adapter, database, large: l, pages: p };
  } catch (err) {
    if (app) process.stderr.write(app.stderr.join('').slice(-4000));
    throw err;
  } finally {
    await app?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await drop?.();
  }
}

// ── report ────────────────────────────────────────────────────────────────────────────────────────
function dbLines(p: Phase): string {
  const top = Object.entries(p.db)
    .sort((x, y) => y[1].seconds - x[1].seconds)
    .slice(0, 6)
    .map(([k, v]) => `${k} ${v.seconds} s / ${v.statements}`);
  return `${p.dbSeconds} s of ${p.seconds} s (${top.join('; ')})`;
}

function markdown(report: Report): string {
  const lines = [
    '# Ingestion benchmark',
    '',
    `Generated ${report.generatedAt} by \`${report.command}\` (${report.durationS} s). ` +
      `Machine: ${report.machine.cpus} × ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, Node ${report.machine.node}; ` +
      `load average ${report.machine.loadAvgAtStart.join(' / ')} at the start, ${report.machine.loadAvgAtEnd.join(' / ')} at the end ` +
      '(a shared machine: absolute figures are noisy, the A/B ratios of one invocation are the comparison).',
    '',
    `Builds: ${report.a ? `A = \`${report.a.rev}\` (${report.a.commit.slice(0, 10)}, ${report.a.subject}); ` : ''}B = this tree (${report.b.commit.slice(0, 10)}${report.b.dirty ? ', with uncommitted changes' : ''}).`,
    '',
    `Workloads: **large** — one ${round(report.largeBytes / MB, 1)} MB plain-text file (the python3-doc pages' text), one request; ` +
      `**pages** — ${report.pages} python3-doc HTML pages, ${FILES_PER_UPLOAD} files a request, ${UPLOAD_CONCURRENCY} requests in flight. ` +
      'Default passages (1200/200), EMBEDDINGS_PROVIDER=off, a fresh database per run. Time from the request to its answer; ' +
      'the large file’s marker word is searched for the moment it answers and must be found.',
    '',
    '| adapter | build | large MB/s | large s | pages files/s | pages MB/s | pages s |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of report.runs)
    lines.push(
      `| ${r.adapter} | ${r.build.toUpperCase()} | ${r.large.megabytesPerSecond} | ${r.large.seconds} | ${r.pages.filesPerSecond} | ${r.pages.megabytesPerSecond} | ${r.pages.seconds} |`,
    );
  if (report.ratios.length) {
    lines.push('', '**B ÷ A** (rate ratios: above 1 is faster):', '');
    lines.push('| adapter | large MB/s | pages files/s |', '|---|---:|---:|');
    for (const r of report.ratios) lines.push(`| ${r.adapter} | ${r.large}× | ${r.pages}× |`);
  }
  lines.push('', '## Where the time goes', '');
  lines.push(
    'Database time is the app’s own `db_query_duration_seconds` (statement kind and first table named, seconds / statements) over the phase; ' +
      'the rest of the wall time is the request’s transfer, extraction and chunking in the child processes, and the app’s own work. ' +
      'With two requests in flight the database time of the pages phase can exceed its wall time on PostgreSQL (two connections).',
    '',
  );
  for (const r of report.runs) {
    lines.push(`- **${r.adapter} ${r.build.toUpperCase()}, large**: database ${dbLines(r.large)}`);
    lines.push(`- **${r.adapter} ${r.build.toUpperCase()}, pages**: database ${dbLines(r.pages)}`);
  }
  lines.push(
    '',
    `Targets (issue 23, item 8): large ≥ 2 MB/s on PostgreSQL, ≥ 1 MB/s on PGlite; pages ≥ 2× the baseline's rate.`,
  );
  return lines.join('\n') + '\n';
}

interface Report {
  generatedAt: string;
  command: string;
  durationS: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    loadAvgAtStart: number[];
    loadAvgAtEnd: number[];
  };
  a?: { rev: string; commit: string; subject: string };
  b: { commit: string; subject: string; dirty: boolean };
  largeBytes: number;
  pages: number;
  runs: Run[];
  ratios: Array<{ adapter: string; large: number; pages: number }>;
}

async function main(): Promise<void> {
  const loadAvgAtStart = loadavg().map((l) => round(l));
  const corpus = loadCorpus();
  const pages = corpus.slice(0, PAGES);
  if (pages.length < PAGES) throw new Error(`the corpus has ${corpus.length} pages, fewer than ${PAGES}`);
  const large = largeProse(corpus, Math.round(LARGE_MB * MB));
  let checkout: AbCheckout | undefined;
  let a: Report['a'];
  const runs: Run[] = [];
  try {
    if (AB_REV) {
      checkout = checkoutRevision(ROOT, AB_REV, log);
      a = { rev: AB_REV, commit: checkout.commit, subject: checkout.subject };
      log(`A = ${AB_REV} (${checkout.commit.slice(0, 10)}) in a git worktree`);
    }
    for (const adapter of ADAPTERS) {
      if (checkout) runs.push(await runOne('a', checkout.dir, adapter, large, pages));
      runs.push(await runOne('b', ROOT, adapter, large, pages));
    }
  } finally {
    checkout?.remove();
  }
  const ratios = ADAPTERS.flatMap((adapter) => {
    const ra = runs.find((r) => r.adapter === adapter && r.build === 'a');
    const rb = runs.find((r) => r.adapter === adapter && r.build === 'b');
    return ra && rb
      ? [
          {
            adapter,
            large: round(rb.large.megabytesPerSecond / ra.large.megabytesPerSecond),
            pages: round(rb.pages.filesPerSecond / ra.pages.filesPerSecond),
          },
        ]
      : [];
  });
  const report: Report = {
    generatedAt: new Date().toISOString(),
    command: `npm run bench:ingest${args.length ? ` -- ${args.join(' ')}` : ''}`,
    durationS: Math.round((Date.now() - t0) / 1000),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      loadAvgAtStart,
      loadAvgAtEnd: loadavg().map((l) => round(l)),
    },
    ...(a ? { a } : {}),
    b: {
      commit: git(ROOT, 'rev-parse', 'HEAD'),
      subject: git(ROOT, 'log', '-1', '--format=%s').slice(0, 100),
      dirty: git(ROOT, 'status', '--porcelain', '--untracked-files=no') !== '',
    },
    largeBytes: large.length,
    pages: pages.length,
    runs,
    ratios,
  };
  mkdirSync(REPORTS, { recursive: true });
  const name = opt('report') ?? 'ingestion';
  writeFileSync(join(REPORTS, `${name}.json`), JSON.stringify(report, null, 2) + '\n');
  // the hand-written `## Analysis` (where the remaining time goes, what was tried) is kept across runs
  const analysis = handWrittenAnalysis(join(REPORTS, `${name}.md`));
  writeFileSync(join(REPORTS, `${name}.md`), markdown(report) + (analysis ? `\n${analysis}\n` : ''));
  log(`wrote test/load/reports/${name}.{md,json}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
