/**
 * Footprint benchmark (issue 10): `npm run bench:footprint` (`-- --runs=N`, default 3; `-- --backends=pglite`
 * or `=postgres` for one; `-- --quick`: one run, no 40-search burst). Run it under the heavy lock:
 * `flock /tmp/atrium-heavy.lock npm run bench:footprint`.
 *
 * For the embedded default (PGlite in its worker process) and for Postgres + Redis, each run starts the
 * app **as built** (test/hostile/harness.ts: tsc output, `node main.js`, NODE_ENV=production, default
 * limits) and measures, from /proc:
 *
 * - **ready time** on a fresh data dir (PGlite: initdb + migrations; Postgres: a new database, migrations)
 *   and on a restart after a clean shutdown (SIGTERM), spawn → /health/ready 200;
 * - **idle RSS** after ready (settled for 15 s, the median of several samples), per process —
 *   the API process, the PGlite worker, parser children, anything else — and summed; after the fresh start
 *   and after the restart;
 * - **peak RSS** (summed over the process tree, sampled every 50 ms) while each hostile payload class of
 *   test/hostile/payloads.ts is processed, one request at a time (plus one burst of 40 heavy searches),
 *   with the answer's status and code.
 *
 * - **concurrent duplicate uploads** (issue 25, item 2): right after the 19 MiB text is stored, `CONCURRENT_UPLOADS`
 *   requests at once from one tenant, each of `COPIES_PER_UPLOAD` copies of that text (every copy a duplicate):
 *   the API process's peak against 1 GiB and the tree's against the 1,536 MiB the Kubernetes manifests give
 *   the pod. `-- --uploads=8x20` sets both (the issue's scenario, the default); a smaller `NxK` scales it.
 *
 * Medians over the runs go to test/load/reports/footprint.{md,json} with the issue's targets: idle RSS
 * ≤ 250 MB on the embedded default, ready ≤ 3 s on restart, peak RSS ≤ 1 GiB for any single hostile request.
 * `-- --payloads=a,b` runs only those payloads (the store still gets the 19 MiB text first when a later one
 * needs it) and writes test/load/reports/footprint-<report>.{md,json} (`-- --report=name`, default `partial`),
 * leaving the full report alone. Not part of `npm test`.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { form } from '../fixtures/documents/builders';
import { HostileApp, HostileBackend, TreeRss } from '../hostile/harness';
import {
  deflateBombPdf,
  elementFloodHtml,
  emptyParagraphsDocx,
  expandingDocx,
  HEAVIEST_QUERY,
  largeText,
  manyEntriesDocx,
  VOCABULARY,
} from '../hostile/payloads';
import { handWrittenAnalysis } from './lib/analysis';

const ROOT = resolve(__dirname, '..', '..');
const REPORTS = join(ROOT, 'test', 'load', 'reports');
const MiB = 1024 * 1024;
const MB = 1e6;

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const RUNS = QUICK ? 1 : Number(args.find((a) => a.startsWith('--runs='))?.split('=')[1] ?? 3);
const BACKENDS = (args.find((a) => a.startsWith('--backends='))?.split('=')[1] ?? 'pglite,postgres').split(
  ',',
) as HostileBackend[];
const [CONCURRENT_UPLOADS, COPIES_PER_UPLOAD] = (
  args.find((a) => a.startsWith('--uploads='))?.split('=')[1] ?? '8x20'
)
  .split('x')
  .map(Number);
const ONLY = args
  .find((a) => a.startsWith('--payloads='))
  ?.split('=')[1]
  .split(',');
const REPORT = ONLY
  ? `footprint-${args.find((a) => a.startsWith('--report='))?.split('=')[1] ?? 'partial'}`
  : 'footprint';
/** `--app-env=K=V,K=V`: extra environment for the app (e.g. POOL_TENANT_SHARE=1 for one tenant's whole budget). */
const APP_ENV = Object.fromEntries(
  (args.find((a) => a.startsWith('--app-env='))?.slice('--app-env='.length) ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
) as Record<string, string>;
/** The Kubernetes manifests' memory limit for the pod (deploy/k8s/deployment.yaml). */
const MANIFEST_LIMIT_BYTES = 1536 * MiB;

/** After ready: let start-up work finish (the PGlite worker that ran initdb is replaced, timers fire). */
const SETTLE_MS = 15000;
const IDLE_SAMPLES = 5;

const TARGETS = {
  idleRssBytesPglite: 250 * MB,
  readyRestartMs: 3000,
  peakRssBytes: 1024 * MiB,
  concurrentUploadsApiBytes: 1024 * MiB,
  concurrentUploadsTreeBytes: MANIFEST_LIMIT_BYTES,
};

const t0 = Date.now();
const log = (msg: string): void =>
  void process.stdout.write(`[footprint ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length
    ? s.length % 2
      ? s[(s.length - 1) / 2]
      : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
    : NaN;
};

// ── process classes ───────────────────────────────────────────────────────────────────────────────
type ProcessClass = 'api' | 'pgliteWorker' | 'parsers' | 'browser' | 'other';
const CLASSES: ProcessClass[] = ['api', 'pgliteWorker', 'parsers', 'browser', 'other'];
/**
 * `total`: VmRSS summed over the tree (the issue's measure). `dedup`: the same with file-backed pages
 * counted once — every process maps the same node binary (~50 MB of shared, clean pages), which a sum of
 * RSS counts per process and a container's memory accounting counts once: Σ RssAnon + max RssFile.
 */
type ByClass = Record<ProcessClass, number> & { total: number; dedup: number; processes: number };
const KEYS = [...CLASSES, 'total', 'dedup', 'processes'] as const;
const empty = (): ByClass => ({
  api: 0,
  pgliteWorker: 0,
  parsers: 0,
  browser: 0,
  other: 0,
  total: 0,
  dedup: 0,
  processes: 0,
});

/** RssAnon and RssFile (+ RssShmem) of one process, in bytes; zeros once it is gone. */
function rssParts(pid: number): { anon: number; file: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
  } catch {
    return { anon: 0, file: 0 };
  }
}

function classify(app: HostileApp, tree: TreeRss): ByClass {
  const out = empty();
  let anon = 0;
  let fileMax = 0;
  for (const [pid, { rssBytes }] of Object.entries(tree.byPid)) {
    const parts = rssParts(Number(pid));
    // the command line, not /proc's Name (which is "node" for the API and for every child alike)
    let command = '';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      // gone meanwhile
    }
    anon += parts.anon;
    fileMax = Math.max(fileMax, parts.file);
    let c: ProcessClass = 'other';
    if (Number(pid) === app.pid) c = 'api';
    else if (command.includes('pglite.worker')) c = 'pgliteWorker';
    else if (command.includes('extraction.worker')) c = 'parsers';
    else if (/chrom/i.test(command)) c = 'browser';
    out[c] += rssBytes;
    out.total += rssBytes;
    out.processes++;
  }
  out.dedup = anon + fileMax;
  return out;
}

async function idleRss(app: HostileApp): Promise<ByClass> {
  await sleep(SETTLE_MS);
  const samples: ByClass[] = [];
  for (let i = 0; i < IDLE_SAMPLES; i++) {
    samples.push(classify(app, app.rss()));
    await sleep(500);
  }
  return Object.fromEntries(KEYS.map((k) => [k, median(samples.map((x) => x[k]))])) as ByClass;
}

// ── payloads ──────────────────────────────────────────────────────────────────────────────────────
interface Payload {
  name: string;
  what: string;
  send: (app: HostileApp, originUrl: string) => Promise<Array<{ status: number; code?: string }>>;
}

const upload = async (app: HostileApp, filename: string, data: Buffer) => {
  const res = await app.tenantRequest('/api/v1/stores/bench/documents', {
    method: 'POST',
    body: form([[filename, data]]),
  });
  return [{ status: res.status, code: res.body?.code ?? res.body?.rejected?.[0]?.code }];
};
const search = async (app: HostileApp, q: string) => {
  const res = await app.tenantRequest(`/api/v1/search?store=bench&q=${encodeURIComponent(q)}`);
  return { status: res.status, code: res.body?.code };
};

function payloadClasses(): Payload[] {
  const bytes = {
    dense: emptyParagraphsDocx(3_000_000, { dense: true }),
    varied: emptyParagraphsDocx(3_000_000, { dense: false }),
    expands200: expandingDocx(200 * MiB),
    expands1GiB: expandingDocx(1024 * MiB, { lie: true }),
    entries: manyEntriesDocx(5000),
    pdfBomb: deflateBombPdf(1024 * MiB),
    slowPdf: deflateBombPdf(64 * MiB),
    text: largeText(19 * MiB),
  };
  const kb = (b: Buffer): string => `${Math.round(b.length / 1024).toLocaleString('en')} KB`;
  let n = 0;
  return [
    {
      name: 'docx-dense-paragraphs',
      what: `.docx of 3 M identical empty paragraphs (${kb(bytes.dense)})`,
      send: (app) => upload(app, `dense-${++n}.docx`, bytes.dense),
    },
    {
      name: 'docx-varied-paragraphs',
      what: `.docx of 3 M varied empty paragraphs (${kb(bytes.varied)}), reaches the parser`,
      send: (app) => upload(app, `varied-${++n}.docx`, bytes.varied),
    },
    {
      name: 'docx-expands-200MiB',
      what: `.docx expanding to 200 MiB (${kb(bytes.expands200)})`,
      send: (app) => upload(app, `e200-${++n}.docx`, bytes.expands200),
    },
    {
      name: 'docx-expands-1GiB-lying',
      what: `.docx expanding to 1 GiB, declaring 4 KiB (${kb(bytes.expands1GiB)})`,
      send: (app) => upload(app, `e1g-${++n}.docx`, bytes.expands1GiB),
    },
    {
      name: 'docx-5000-entries',
      what: `.docx of 5,000 entries (${kb(bytes.entries)})`,
      send: (app) => upload(app, `entries-${++n}.docx`, bytes.entries),
    },
    {
      name: 'pdf-deflate-bomb-1GiB',
      what: `PDF whose content stream inflates to 1 GiB (${kb(bytes.pdfBomb)})`,
      send: (app) => upload(app, `bomb-${++n}.pdf`, bytes.pdfBomb),
    },
    {
      name: 'pdf-64MiB-stream',
      what: `PDF with a 64 MiB content stream, under every limit (${kb(bytes.slowPdf)})`,
      send: (app) => upload(app, `slow-${++n}.pdf`, bytes.slowPdf),
    },
    {
      name: 'html-element-flood',
      what: 'download (format=text) of a 9.5 MB page of a million elements',
      send: async (app, originUrl) => {
        const res = await app.tenantRequest(
          `/api/v1/download?format=text&url=${encodeURIComponent(`${originUrl}flood-${++n}.html`)}`,
        );
        return [{ status: res.status, code: res.body?.code }];
      },
    },
    {
      name: 'json-nested-1MB',
      what: 'JSON body nested 500,000 levels (1 MB, under BODY_LIMIT_BYTES) to POST /api/v1/search',
      send: async (app) => {
        const res = await app.tenantRequest('/api/v1/search', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: `{"store":"bench","query":${'['.repeat(500_000)}${']'.repeat(500_000)}}`,
        });
        return [{ status: res.status, code: res.body?.code }];
      },
    },
    {
      name: 'text-19MiB-upload',
      what: `19 MiB plain-text document (${kb(bytes.text)}), stored`,
      // the text is the same in every run: each run uploads into a fresh store (see run())
      send: (app) => upload(app, 'big.txt', bytes.text),
    },
    {
      name: 'uploads-concurrent-duplicates',
      what:
        `${CONCURRENT_UPLOADS} concurrent requests of one tenant, each of ${COPIES_PER_UPLOAD} copies of the stored ` +
        `19 MiB text (${CONCURRENT_UPLOADS * COPIES_PER_UPLOAD} duplicates, ${Math.round((CONCURRENT_UPLOADS * COPIES_PER_UPLOAD * bytes.text.length) / MiB).toLocaleString('en')} MiB sent)`,
      send: async (app) => {
        // one Blob for every part of every request: this process holds the bytes once
        const blob = new Blob([bytes.text]);
        const one = async (r: number) => {
          const f = new FormData();
          for (let i = 0; i < COPIES_PER_UPLOAD; i++) f.append('files', blob, `copy-${r}-${i}.txt`);
          const res = await app.tenantRequest('/api/v1/stores/bench/documents', { method: 'POST', body: f });
          const codes = new Set(((res.body?.rejected ?? []) as Array<{ code: string }>).map((x) => x.code));
          return {
            status: res.status,
            code: res.body?.code ?? (codes.size === 1 ? [...codes][0] : [...codes].join('+')),
          };
        };
        return Promise.all(Array.from({ length: CONCURRENT_UPLOADS }, (_, r) => one(r)));
      },
    },
    {
      name: 'search-heaviest',
      what: 'the heaviest search the default limits allow, over the 19 MiB document',
      // HEAVIEST_QUERY is at the term limit already: a fresh app per run, so its cache is cold anyway
      send: async (app) => [await search(app, HEAVIEST_QUERY)],
    },
    ...(QUICK
      ? []
      : [
          {
            name: 'search-heaviest-x40',
            what: '40 of those at once (distinct queries) — a burst, not a single request',
            send: (app: HostileApp) =>
              Promise.all(
                Array.from({ length: 40 }, (_, i) =>
                  // distinct queries (the last word changed), so the result cache cannot answer them
                  search(app, `${HEAVIEST_QUERY.replace(/ ka$/, '')} ${VOCABULARY[300 + i]}`),
                ),
              ),
          },
        ]),
  ];
}

/** Runs one payload while the process tree is sampled every 50 ms; returns the peak per class and in all. */
async function peakDuring(
  app: HostileApp,
  payload: Payload,
  originUrl: string,
): Promise<{ before: number; peak: ByClass; ms: number; answers: Array<{ status: number; code?: string }> }> {
  const before = app.rss().totalBytes;
  const peak = empty();
  const sample = (): void => {
    if (!app.isAlive()) return;
    const c = classify(app, app.rss());
    for (const k of KEYS) peak[k] = Math.max(peak[k], c[k]);
  };
  sample();
  const timer = setInterval(sample, 50);
  const started = performance.now();
  try {
    const answers = await payload.send(app, originUrl);
    sample();
    return { before, peak, ms: performance.now() - started, answers };
  } finally {
    clearInterval(timer);
  }
}

// ── one run ───────────────────────────────────────────────────────────────────────────────────────
interface RunResult {
  readyFreshMs: number;
  readyRestartMs: number;
  idleFresh: ByClass;
  idleRestart: ByClass;
  payloads: Record<string, { before: number; peak: ByClass; ms: number; answers: string; alive: boolean }>;
  idleAfterPayloads: ByClass;
}

async function run(backend: HostileBackend, originUrl: string, classes: Payload[]): Promise<RunResult> {
  const app = await HostileApp.start({
    backend,
    freshDataDir: true,
    env: { DOWNLOAD_ALLOW_PRIVATE: 'true', ...APP_ENV },
  });
  try {
    const readyFreshMs = app.readyMs;
    const idleFresh = await idleRss(app);
    log(
      `${backend}: ready (fresh) ${readyFreshMs.toFixed(0)} ms, idle ${(idleFresh.total / MB).toFixed(0)} MB`,
    );
    await app.restart(undefined, 'SIGTERM');
    const readyRestartMs = app.readyMs;
    const idleRestart = await idleRss(app);
    log(
      `${backend}: ready (restart) ${readyRestartMs.toFixed(0)} ms, idle ${(idleRestart.total / MB).toFixed(0)} MB`,
    );
    const store = await app.createStore('bench');
    if (store.status !== 201) throw new Error(`creating the store: ${store.status} ${store.text}`);
    const payloads: RunResult['payloads'] = {};
    for (const p of classes) {
      const r = await peakDuring(app, p, originUrl);
      const counts = new Map<string, number>();
      for (const a of r.answers) {
        const key = `${a.status}${a.code ? ` ${a.code}` : ''}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const answers = [...counts].map(([k, c]) => (c > 1 ? `${c}× ${k}` : k)).join(', ');
      payloads[p.name] = { before: r.before, peak: r.peak, ms: r.ms, answers, alive: app.isAlive() };
      log(
        `${backend}: ${p.name}: ${answers}; peak ${(r.peak.total / MB).toFixed(0)} MB ` +
          `(from ${(r.before / MB).toFixed(0)} MB) in ${(r.ms / 1000).toFixed(1)} s`,
      );
      if (!app.isAlive()) throw new Error(`the app died during ${p.name}:\n${app.output.slice(-3000)}`);
    }
    const idleAfterPayloads = await idleRss(app);
    return { readyFreshMs, readyRestartMs, idleFresh, idleRestart, payloads, idleAfterPayloads };
  } finally {
    await app.stop();
  }
}

// ── report ────────────────────────────────────────────────────────────────────────────────────────
const mb = (b: number): string => (b / MB).toFixed(0);
const s = (ms: number): string => (ms / 1000).toFixed(2);

function medianByClass(xs: ByClass[]): ByClass {
  return Object.fromEntries(KEYS.map((k) => [k, median(xs.map((x) => x[k]))])) as ByClass;
}

interface BackendSummary {
  backend: HostileBackend;
  runs: number;
  readyFreshMs: number[];
  readyRestartMs: number[];
  idleFresh: ByClass;
  idleRestart: ByClass;
  idleAfterPayloads: ByClass;
  payloads: Record<
    string,
    {
      what: string;
      answers: string[];
      peakBytes: number;
      peakDedupBytes: number;
      peakApiBytes: number;
      peakPgliteWorkerBytes: number;
      peakParsersBytes: number;
      peakBrowserBytes: number;
      beforeBytes: number;
      ms: number;
    }
  >;
}

function summarise(backend: HostileBackend, runs: RunResult[], classes: Payload[]): BackendSummary {
  const payloads: BackendSummary['payloads'] = {};
  for (const p of classes) {
    const rs = runs.map((r) => r.payloads[p.name]).filter(Boolean);
    payloads[p.name] = {
      what: p.what,
      answers: [...new Set(rs.map((r) => r.answers))],
      peakBytes: median(rs.map((r) => r.peak.total)),
      peakDedupBytes: median(rs.map((r) => r.peak.dedup)),
      peakApiBytes: median(rs.map((r) => r.peak.api)),
      peakPgliteWorkerBytes: median(rs.map((r) => r.peak.pgliteWorker)),
      peakParsersBytes: median(rs.map((r) => r.peak.parsers)),
      peakBrowserBytes: median(rs.map((r) => r.peak.browser)),
      beforeBytes: median(rs.map((r) => r.before)),
      ms: median(rs.map((r) => r.ms)),
    };
  }
  return {
    backend,
    runs: runs.length,
    readyFreshMs: runs.map((r) => r.readyFreshMs),
    readyRestartMs: runs.map((r) => r.readyRestartMs),
    idleFresh: medianByClass(runs.map((r) => r.idleFresh)),
    idleRestart: medianByClass(runs.map((r) => r.idleRestart)),
    idleAfterPayloads: medianByClass(runs.map((r) => r.idleAfterPayloads)),
    payloads,
  };
}

/** The report's hand-written analysis, carried over when the tables are rewritten. */
function analysisBlock(path: string): string {
  const analysis = handWrittenAnalysis(path);
  return analysis ? `\n${analysis}\n` : '';
}

function verdict(ok: boolean, value: string, target: string): string {
  return ok ? `met (${value} ≤ ${target})` : `**missed** (${value} > ${target})`;
}

interface RunEnv {
  date: string;
  cpus: number;
  memGiB: string;
  loadStart: string;
  loadEnd: string;
  node: string;
  runs: number;
  quick: boolean;
}

function markdown(summaries: BackendSummary[], env: RunEnv): string {
  const lines: string[] = [];
  lines.push(`# Footprint benchmark (issue 10)${ONLY ? `: ${ONLY.join(', ')}` : ''}`, '');
  lines.push(
    `Generated by \`npm run bench:footprint\` (test/load/footprint-benchmark.ts) on ${env.date}: ${env.cpus} CPUs, ` +
      `${env.memGiB} GiB RAM, load average ${env.loadStart} at start and ${env.loadEnd} at the end (the machine is ` +
      `shared: absolute times carry that load). The app as built (\`node main.js\`, NODE_ENV=production, default ` +
      `limits${
        Object.keys(APP_ENV).length
          ? ` but ${Object.entries(APP_ENV)
              .map(([k, v]) => `\`${k}=${v}\``)
              .join(', ')}`
          : ''
      }), RSS read from /proc (VmRSS) for the API process and each of its children. Medians of ${summaries[0]?.runs} runs ` +
      `per backend. MB = 10^6 bytes.`,
    '',
  );
  const pg = summaries.find((x) => x.backend === 'pglite');
  lines.push('## Targets', '', '| Target | Result |', '|---|---|');
  if (pg)
    lines.push(
      `| idle RSS ≤ 250 MB on the embedded default (PGlite), after restart | ${verdict(pg.idleRestart.total <= TARGETS.idleRssBytesPglite, `${mb(pg.idleRestart.total)} MB`, '250 MB')}; file-backed pages (the node binary both processes map) counted once: ${mb(pg.idleRestart.dedup)} MB |`,
    );
  for (const x of summaries)
    lines.push(
      `| ready ≤ 3 s on restart (${x.backend}) | ${verdict(median(x.readyRestartMs) <= TARGETS.readyRestartMs, `${s(median(x.readyRestartMs))} s`, '3 s')} |`,
    );
  for (const x of summaries) {
    const single = Object.entries(x.payloads).filter(
      ([k]) => !k.endsWith('-x40') && k !== 'uploads-concurrent-duplicates',
    );
    if (!single.length) continue;
    const worst = single.reduce((a, b) => (b[1].peakBytes > a[1].peakBytes ? b : a));
    lines.push(
      `| peak RSS ≤ 1 GiB for any single hostile request (${x.backend}) | ${verdict(worst[1].peakBytes <= TARGETS.peakRssBytes, `${mb(worst[1].peakBytes)} MB, ${worst[0]}`, '1074 MB')} |`,
    );
  }
  for (const x of summaries) {
    const up = x.payloads['uploads-concurrent-duplicates'];
    if (!up) continue;
    lines.push(
      `| ${CONCURRENT_UPLOADS} concurrent requests of ${COPIES_PER_UPLOAD} × 19 MiB duplicates, API process ≤ 1 GiB (${x.backend}) | ${verdict(up.peakApiBytes <= TARGETS.concurrentUploadsApiBytes, `${mb(up.peakApiBytes)} MB`, '1074 MB')}; answers ${up.answers.join(' / ')} |`,
      `| the same, whole tree ≤ the manifests' 1,536 MiB (${x.backend}) | ${verdict(up.peakBytes <= TARGETS.concurrentUploadsTreeBytes, `${mb(up.peakBytes)} MB`, '1611 MB')} |`,
    );
  }
  lines.push('');
  lines.push('## Ready time and idle RSS', '');
  lines.push(
    '| Backend | ready, fresh data | ready, restart | idle after fresh start | idle after restart (API + PGlite worker + parsers + other) | same, shared file pages once | idle after the payloads |',
    '|---|---|---|---|---|---|---|',
  );
  for (const x of summaries)
    lines.push(
      `| ${x.backend} | ${s(median(x.readyFreshMs))} s (${x.readyFreshMs.map(s).join(', ')}) | ${s(median(x.readyRestartMs))} s (${x.readyRestartMs.map(s).join(', ')}) | ` +
        `${mb(x.idleFresh.total)} MB | ${mb(x.idleRestart.total)} MB (${mb(x.idleRestart.api)} + ${mb(x.idleRestart.pgliteWorker)} + ${mb(x.idleRestart.parsers)} + ${mb(x.idleRestart.other + x.idleRestart.browser)}) | ${mb(x.idleRestart.dedup)} MB | ` +
        `${mb(x.idleAfterPayloads.total)} MB (${mb(x.idleAfterPayloads.api)} + ${mb(x.idleAfterPayloads.pgliteWorker)} + ${mb(x.idleAfterPayloads.parsers)} + ${mb(x.idleAfterPayloads.other + x.idleAfterPayloads.browser)}) |`,
    );
  lines.push('');
  lines.push('## Peak RSS during each hostile payload', '');
  lines.push(
    'One request at a time on one app (the payloads run in this order, so the tree already carries what the ' +
      'earlier ones left: idle parser children until `EXTRACTION_IDLE_MS`, a grown PGlite heap). Peak of the ' +
      'summed tree, and the peak of each part (parts peak at different moments, so they need not add up).',
    '',
  );
  for (const x of summaries) {
    lines.push(`### ${x.backend}`, '');
    lines.push(
      '| Payload | Answer | Peak (sum) | shared file pages once | before | API | PGlite worker | parsers | browser | time |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const [name, p] of Object.entries(x.payloads))
      lines.push(
        `| ${name}: ${p.what} | ${p.answers.join(' / ')} | ${mb(p.peakBytes)} MB | ${mb(p.peakDedupBytes)} MB | ${mb(p.beforeBytes)} MB | ${mb(p.peakApiBytes)} MB | ` +
          `${mb(p.peakPgliteWorkerBytes)} MB | ${mb(p.peakParsersBytes)} MB | ${mb(p.peakBrowserBytes)} MB | ${s(p.ms)} s |`,
      );
    lines.push('');
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const loadStart = loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');
  const all = payloadClasses();
  const classes = ONLY ? all.filter((p) => ONLY.includes(p.name)) : all;
  if (ONLY && classes.length !== ONLY.length)
    throw new Error(
      `--payloads: unknown name among ${ONLY.join(', ')} (known: ${all.map((p) => p.name).join(', ')})`,
    );
  const flood = elementFloodHtml(500_000);
  const origin: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(flood);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
  const summaries: BackendSummary[] = [];
  try {
    for (const backend of BACKENDS) {
      const runs: RunResult[] = [];
      for (let i = 0; i < RUNS; i++) {
        log(`${backend}: run ${i + 1}/${RUNS}`);
        runs.push(await run(backend, originUrl, classes));
      }
      summaries.push(summarise(backend, runs, classes));
    }
  } finally {
    await new Promise((r) => origin.close(r));
  }
  const env: RunEnv = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    cpus: cpus().length,
    memGiB: (totalmem() / 2 ** 30).toFixed(1),
    loadStart,
    loadEnd: loadavg()
      .map((l) => l.toFixed(1))
      .join(' / '),
    node: process.version,
    runs: RUNS,
    quick: QUICK,
  };
  // a quick run is a smoke test: its numbers go next to the benchmark, ignored by git, not over the report
  const dir = QUICK ? join(ROOT, 'test', 'load', '.tmp') : REPORTS;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `${REPORT}.json`),
    `${JSON.stringify({ env, targets: TARGETS, summaries }, null, 2)}\n`,
  );
  writeFileSync(
    join(dir, `${REPORT}.md`),
    `${markdown(summaries, env)}${analysisBlock(join(dir, `${REPORT}.md`))}\n`,
  );
  log(`wrote ${dir}/${REPORT}.{md,json}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
