/**
 * Fairness benchmark (issue 25, item 3): `npm run bench:fairness` (`-- --quick` for a short smoke run written to
 * the ignored test/load/.tmp/). Run it under the heavy lock: `flock /tmp/atrium-heavy.lock npm run bench:fairness`.
 *
 * The app as built (test/hostile/harness.ts: `node main.js`, NODE_ENV=production, auth on, the embedded default
 * PGlite, default pool sizes and POOL_TENANT_SHARE) and a local origin. Tenant `acme` saturates one shared pool
 * after another; meanwhile tenant `demo` keeps making its three small requests, one of each at a time:
 *
 * - **download**: one download (format text) of an instant page — a fresh URL each time, never a cache hit;
 * - **batch**: a one-URL batch of an instant page, from submit until its status reads completed;
 * - **upload**: a 72-byte HTML document (parsed in a parser child, stored in the database).
 *
 * Scenarios: **downloads + batch slots** — acme's five batches of 100 URLs that take SLOW_MS each at the
 * origin (the issue's attack); **parser children** — acme's four concurrent uploads of heavy HTML, again and
 * again; **database** (PGlite's one session) — acme's large text uploads, two at a time, again and again.
 *
 * Baselines, measured first in the same invocation on the idle app: demo's three requests alone, and each
 * saturated pool's **slot service time** — how long one of acme's units holds a slot: one slow download, one
 * batch of 100 slow URLs, one heavy HTML upload, one database statement of a large upload (the p99 bucket of
 * db_query_duration_seconds). The issue's target: demo's requests finish within one slot's service time of
 * arriving (p95 against it) and none is refused. Results go to test/load/reports/fairness.{md,json}.
 * Not part of `npm test`.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { metricValue } from '../building-directory/helpers';
import { form } from '../fixtures/documents/builders';
import { HostileApp } from '../hostile/harness';
import { elementFloodHtml, largeText } from '../hostile/payloads';

const ROOT = resolve(__dirname, '..', '..');
const QUICK = process.argv.includes('--quick');
const OUT = QUICK ? join(ROOT, 'test', 'load', '.tmp') : join(ROOT, 'test', 'load', 'reports');
/** How long each of acme's slow URLs takes at the origin. */
const SLOW_MS = QUICK ? 1000 : 3000;
/** How long demo's requests are measured while acme saturates a pool. */
const SCENARIO_MS = QUICK ? 15_000 : 45_000;
const BASELINE_PROBES = QUICK ? 3 : 10;
/** acme's heavy HTML: a flood of elements, seconds of parsing. */
const FLOOD_ELEMENTS = QUICK ? 100_000 : 250_000;
/** acme's large text uploads (database scenario). */
const LARGE_TEXT_BYTES = (QUICK ? 2 : 4) * 1024 * 1024;

type Probe = 'download' | 'batch' | 'upload';
const PROBES: Probe[] = ['download', 'batch', 'upload'];

interface Sample {
  ms: number;
  status: number;
  code?: string;
}

const t0 = Date.now();
const log = (msg: string): void =>
  console.log(`[fairness +${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function origin(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(
        `<html><head><title>page</title></head><body><p>page ${url.search} of the origin</p></body></html>`,
      );
    };
    if (url.pathname === '/slow') setTimeout(answer, Number(url.searchParams.get('ms') ?? SLOW_MS));
    else answer();
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () =>
      r({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

function quantile(values: number[], q: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

class Bench {
  private n = 0;
  constructor(
    readonly app: HostileApp,
    readonly site: string,
  ) {}

  private unique(): string {
    return `${process.pid}-${Date.now()}-${++this.n}`;
  }

  /** One of demo's three requests, timed from sending it until it finished. */
  async probe(kind: Probe): Promise<Sample> {
    const start = performance.now();
    const done = (status: number, code?: string): Sample => ({ ms: performance.now() - start, status, code });
    if (kind === 'download') {
      const url = `${this.site}/instant?p=${this.unique()}`;
      const res = await this.app.tenantRequest(
        `/api/v1/download?format=text&url=${encodeURIComponent(url)}`,
        {},
        'demo',
      );
      return done(res.status, res.body?.code);
    }
    if (kind === 'batch') {
      const submit = await this.app.tenantRequest(
        '/api/v1/batch',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ urls: [`${this.site}/instant?b=${this.unique()}`] }),
        },
        'demo',
      );
      if (submit.status !== 202) return done(submit.status, submit.body?.code);
      for (;;) {
        const s = await this.app.tenantRequest(`/api/v1/jobs/${submit.body.jobId}`, {}, 'demo');
        if (['completed', 'failed', 'cancelled'].includes(s.body?.status))
          return done(s.body.status === 'completed' ? 200 : 500, s.body.status);
        await sleep(50);
      }
    }
    const html = `<html><body><p>note ${this.unique()}</p></body></html>`.padEnd(72, ' ');
    const res = await this.app.tenantRequest(
      '/api/v1/stores/quiet/documents',
      { method: 'POST', body: form([[`note-${this.n}.html`, html]]) },
      'demo',
    );
    return done(res.status, res.body?.code);
  }

  /** Each probe in its own loop, one request at a time, until `ms` have passed. */
  async probesFor(ms: number): Promise<Record<Probe, Sample[]>> {
    const until = Date.now() + ms;
    const out = { download: [], batch: [], upload: [] } as Record<Probe, Sample[]>;
    await Promise.all(
      PROBES.map(async (kind) => {
        while (Date.now() < until) {
          out[kind].push(await this.probe(kind));
          await sleep(250);
        }
      }),
    );
    return out;
  }

  async batchOfSlow(tenant: 'acme' | 'demo', urls: number): Promise<string> {
    const res = await this.app.tenantRequest(
      '/api/v1/batch',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          urls: Array.from({ length: urls }, () => `${this.site}/slow?ms=${SLOW_MS}&u=${this.unique()}`),
          concurrency: 20,
          timeoutPerUrlMs: SLOW_MS * 4 + 10_000,
        }),
      },
      tenant,
    );
    if (res.status !== 202) throw new Error(`batch refused: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.jobId as string;
  }

  async waitJob(tenant: 'acme' | 'demo', jobId: string): Promise<void> {
    for (;;) {
      const s = await this.app.tenantRequest(`/api/v1/jobs/${jobId}`, {}, tenant);
      if (['completed', 'failed', 'cancelled'].includes(s.body?.status)) return;
      await sleep(100);
    }
  }

  heavyUpload(kind: 'html' | 'text'): Promise<number> {
    const tag = this.unique();
    const data =
      kind === 'html'
        ? Buffer.concat([Buffer.from(`<!-- ${tag} -->`), elementFloodHtml(FLOOD_ELEMENTS)])
        : Buffer.concat([Buffer.from(`${tag}\n`), largeText(LARGE_TEXT_BYTES)]);
    return this.app
      .tenantRequest(
        '/api/v1/stores/heavy/documents',
        { method: 'POST', body: form([[`heavy-${tag}.${kind === 'html' ? 'html' : 'txt'}`, data]]) },
        'acme',
      )
      .then((r) => r.status);
  }

  /** Runs `work` again and again on `lanes` concurrent lanes until stop() (the lanes' current work finishes). */
  loop(lanes: number, work: () => Promise<unknown>): { stop(): Promise<void> } {
    let stopped = false;
    const running = Array.from({ length: lanes }, async () => {
      while (!stopped) await work().catch(() => undefined);
    });
    return {
      stop: async () => {
        stopped = true;
        await Promise.all(running);
      },
    };
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricValue((await this.app.request('/metrics')).text, name, labels);
  }

  /** The upper bound of the histogram bucket holding quantile q of the observations since `before`. */
  async histogramQuantile(name: string, before: Map<number, number>, q: number): Promise<number> {
    const now = await this.buckets(name);
    const total = (now.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
    for (const [le, count] of [...now].sort((a, b) => a[0] - b[0]))
      if (count - (before.get(le) ?? 0) >= q * total) return le;
    return Infinity;
  }

  async buckets(name: string): Promise<Map<number, number>> {
    const text = (await this.app.request('/metrics')).text;
    const out = new Map<number, number>();
    for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)`, 'gm'))) {
      const le = /le="([^"]+)"/.exec(m[1])?.[1];
      if (!le) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      out.set(bound, (out.get(bound) ?? 0) + Number(m[2]));
    }
    return out;
  }
}

interface ScenarioResult {
  name: string;
  pool: string;
  serviceMs: Partial<Record<Probe, number>>;
  probes: Record<
    Probe,
    { n: number; p50: number; p95: number; max: number; refused: number; codes: string[] }
  >;
}

function summarise(samples: Record<Probe, Sample[]>): ScenarioResult['probes'] {
  const out = {} as ScenarioResult['probes'];
  for (const kind of PROBES) {
    const ms = samples[kind].map((s) => s.ms);
    const refused = samples[kind].filter((s) => s.status >= 400);
    out[kind] = {
      n: ms.length,
      p50: quantile(ms, 0.5),
      p95: quantile(ms, 0.95),
      max: Math.max(...ms),
      refused: refused.length,
      codes: [...new Set(refused.map((s) => `${s.status} ${s.code ?? ''}`.trim()))],
    };
  }
  return out;
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const site = await origin();
  log(`origin ${site.url}; starting the app as built (PGlite)`);
  const app = await HostileApp.start({
    backend: 'pglite',
    // one loopback origin: per-host politeness is lifted, so the shared pools' fairness is what is measured
    env: {
      DOWNLOAD_ALLOW_PRIVATE: 'true',
      RATE_LIMIT_ENABLED: 'false',
      LOG_LEVEL: 'warn',
      DOWNLOAD_HOST_CONCURRENCY: '1000',
    },
  });
  const bench = new Bench(app, site.url);
  try {
    for (const [name, tenant] of [
      ['quiet', 'demo'],
      ['heavy', 'acme'],
    ] as const)
      await app.tenantRequest(
        '/api/v1/stores',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) },
        tenant,
      );

    // ── baselines on the idle app ──────────────────────────────────────────────────────────────────
    log('baseline: demo alone');
    const alone = { download: [], batch: [], upload: [] } as Record<Probe, Sample[]>;
    for (let i = 0; i < BASELINE_PROBES; i++)
      for (const kind of PROBES) alone[kind].push(await bench.probe(kind));
    const baseline = summarise(alone);

    log(
      'slot service times: one slow download, one batch of 100 slow URLs, one heavy HTML upload, a large upload',
    );
    let t = performance.now();
    const slow = await app.tenantRequest(
      `/api/v1/download?format=text&url=${encodeURIComponent(`${site.url}/slow?ms=${SLOW_MS}&u=alone`)}`,
      {},
      'acme',
    );
    const downloadSlotMs = performance.now() - t;
    if (slow.status !== 200) throw new Error(`slow download: ${slow.status}`);
    t = performance.now();
    await bench.waitJob('acme', await bench.batchOfSlow('acme', 100));
    const batchSlotMs = performance.now() - t;
    t = performance.now();
    const html = await bench.heavyUpload('html');
    const extractionSlotMs = performance.now() - t;
    const before = await bench.buckets('db_query_duration_seconds');
    t = performance.now();
    const text = await bench.heavyUpload('text');
    const largeUploadMs = performance.now() - t;
    const statementP99Ms = (await bench.histogramQuantile('db_query_duration_seconds', before, 0.99)) * 1000;
    log(
      `download ${downloadSlotMs.toFixed(0)} ms, batch ${batchSlotMs.toFixed(0)} ms, heavy html ${extractionSlotMs.toFixed(0)} ms (${html}), ` +
        `large upload ${largeUploadMs.toFixed(0)} ms (${text}), statement p99 ≤ ${statementP99Ms} ms`,
    );

    const results: ScenarioResult[] = [];

    // ── downloads + batch slots: the issue's five batches of 100 slow URLs ────────────────────────────
    log(`scenario: acme's 5 batches of 100 URLs of ${SLOW_MS} ms`);
    const jobs = [];
    for (let i = 0; i < 5; i++) jobs.push(await bench.batchOfSlow('acme', 100));
    await sleep(2000); // let them take every slot they may
    const inUse = await bench.metric('pool_in_use', { pool: 'download' });
    const downloads = summarise(await bench.probesFor(SCENARIO_MS));
    for (const j of jobs) await app.tenantRequest(`/api/v1/jobs/${j}`, { method: 'DELETE' }, 'acme');
    results.push({
      name: `acme: 5 batches × 100 URLs of ${SLOW_MS} ms (download slots in use: ${inUse} of 32)`,
      pool: 'download, batch',
      serviceMs: { download: downloadSlotMs, batch: batchSlotMs, upload: downloadSlotMs },
      probes: downloads,
    });
    await sleep(3000);

    // ── parser children ──────────────────────────────────────────────────────────────────────────────
    log(`scenario: acme's 4 concurrent heavy HTML uploads (${FLOOD_ELEMENTS} elements), again and again`);
    const parsing = bench.loop(4, () => bench.heavyUpload('html'));
    await sleep(2000);
    const parsers = summarise(await bench.probesFor(SCENARIO_MS));
    await parsing.stop();
    results.push({
      name: `acme: 4 concurrent uploads of heavy HTML, again and again`,
      pool: 'extraction',
      serviceMs: { download: extractionSlotMs, batch: extractionSlotMs, upload: extractionSlotMs },
      probes: parsers,
    });

    // ── the database session ─────────────────────────────────────────────────────────────────────────
    log(`scenario: acme's large text uploads (${LARGE_TEXT_BYTES / 1024 / 1024} MiB), two at a time`);
    const storing = bench.loop(2, () => bench.heavyUpload('text'));
    await sleep(3000);
    const database = summarise(await bench.probesFor(SCENARIO_MS));
    await storing.stop();
    results.push({
      name: `acme: ${LARGE_TEXT_BYTES / 1024 / 1024} MiB text uploads, two at a time, again and again`,
      pool: 'database (PGlite session)',
      serviceMs: { upload: statementP99Ms, download: statementP99Ms, batch: statementP99Ms },
      probes: database,
    });

    const waits = await Promise.all(
      ['download', 'pdf', 'batch', 'extraction', 'database'].map(async (pool): Promise<[string, number]> => [
        pool,
        await bench.metric('pool_wait_seconds_count', { pool }),
      ]),
    );
    write({
      baseline,
      results,
      waits: Object.fromEntries(waits),
      slots: { downloadSlotMs, batchSlotMs, extractionSlotMs, largeUploadMs, statementP99Ms },
    });
  } finally {
    await app.stop();
    site.server.close();
  }
}

function write(data: {
  baseline: ScenarioResult['probes'];
  results: ScenarioResult[];
  waits: Record<string, number>;
  slots: Record<string, number>;
}): void {
  const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(0)} ms` : '–');
  const lines: string[] = [
    '# Fairness benchmark',
    '',
    `Run ${new Date().toISOString()} on ${cpus().length} cores (load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' / ',
      )} at the end)${QUICK ? ', --quick' : ''}; \`flock /tmp/atrium-heavy.lock npm run bench:fairness\`.`,
    'The app as built on the embedded default (PGlite), default pools (32 download slots, 4 batch slots, 2 parser',
    'children, one database session) and `POOL_TENANT_SHARE=0.5`. Tenant acme saturates one pool after another while',
    'tenant demo makes its three small requests, one of each at a time (test/load/fairness-benchmark.ts). Target (issue',
    "25): demo's requests finish within one slot's service time of arriving — p95 against it — and none is refused.",
    '',
    '## Baselines (same invocation)',
    '',
    '| demo alone, idle app | n | p50 | p95 |',
    '|---|---|---|---|',
    ...PROBES.map(
      (k) => `| ${k} | ${data.baseline[k].n} | ${ms(data.baseline[k].p50)} | ${ms(data.baseline[k].p95)} |`,
    ),
    '',
    '| slot service time (acme, alone) | |',
    '|---|---|',
    `| one download of a ${SLOW_MS} ms URL | ${ms(data.slots.downloadSlotMs)} |`,
    `| one batch of 100 such URLs (concurrency 20) | ${ms(data.slots.batchSlotMs)} |`,
    `| one heavy HTML upload (${FLOOD_ELEMENTS} elements) | ${ms(data.slots.extractionSlotMs)} |`,
    `| one database statement of a ${LARGE_TEXT_BYTES / 1024 / 1024} MiB upload (p99 bucket; the whole upload took ${ms(data.slots.largeUploadMs)}) | ≤ ${ms(data.slots.statementP99Ms)} |`,
    '',
    '## Under load',
    '',
  ];
  for (const r of data.results) {
    lines.push(`### ${r.pool}: ${r.name}`, '');
    lines.push(
      '| demo | n | p50 | p95 | max | slot service time | p95 ÷ service time | refused |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const k of PROBES) {
      const p = r.probes[k];
      const s = r.serviceMs[k] ?? NaN;
      lines.push(
        `| ${k} | ${p.n} | ${ms(p.p50)} | ${ms(p.p95)} | ${ms(p.max)} | ${ms(s)} | ${(p.p95 / s).toFixed(2)}${p.p95 <= s ? ' ✓' : ' ✗'} | ${p.refused}${p.codes.length ? ` (${p.codes.join(', ')})` : ''} |`,
      );
    }
    lines.push('');
  }
  lines.push(
    'Waits recorded in `pool_wait_seconds_count{pool}` over the run: ' +
      Object.entries(data.waits)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') +
      '.',
    '',
  );
  writeFileSync(join(OUT, 'fairness.md'), `${lines.join('\n')}\n`);
  writeFileSync(
    join(OUT, 'fairness.json'),
    `${JSON.stringify({ date: new Date().toISOString(), quick: QUICK, ...data }, null, 2)}\n`,
  );
  log(`wrote ${join(OUT, 'fairness.md')}`);
  console.log(lines.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
