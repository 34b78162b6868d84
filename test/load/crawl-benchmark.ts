/**
 * Crawl benchmark (issue 24, item 5): `npm run bench:crawl` (`-- --quick` for a short smoke run written to the
 * ignored test/load/.tmp/). Run it under the heavy lock: `flock /tmp/atrium-heavy.lock npm run bench:crawl`.
 *
 * The app in this process (test/support/app.ts: the real modules, embedded database, no Redis, in-process jobs,
 * default pools and politeness: DOWNLOAD_HOST_CONCURRENCY=4, no delay) and a local origin serving a site of 200
 * linked pages (test/fixtures/crawl-site.ts; `no-store`, so every run fetches every page).
 *
 * - **baseline**: a batch of the same 200 page URLs, known up front (format markdown, concurrency 4) — what
 *   fetching and converting the pages costs with nothing to discover;
 * - **crawl**: `POST /api/v1/crawl` from the home page (maxPages 200, maxDepth 10, sitemap off, markdown,
 *   concurrency 4) — the same pages, found by reading each page's links in a parser child, breadth first.
 *
 * Each is run RUNS times, alternating, on a fresh origin (a new host: nothing cached, robots.txt read once per
 * run); the report gives pages/s (median) and the crawl/baseline ratio.
 * - **rendered crawl**: the same crawl with `read: {render: "always"}` — every page loaded in Chromium (the PDF
 *   pool, PDF_CONCURRENCY) and its links read from the rendered DOM; RENDERED_RUNS runs after the others (it is
 *   far slower), reported beside them as a ratio to the unrendered crawl of the same invocation. Skipped (and
 *   said so) when Chromium is not installed.
 *
 * Results go to test/load/reports/crawl.{md,json}. Not part of `npm test`.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { OriginServer } from '../fixtures/origin-server';
import { linkedSite, sitePage } from '../fixtures/crawl-site';
import { startApp, RunningApp } from '../support/app';

const ROOT = resolve(__dirname, '..', '..');
const QUICK = process.argv.includes('--quick');
const OUT = QUICK ? join(ROOT, 'test', 'load', '.tmp') : join(ROOT, 'test', 'load', 'reports');
const PAGES = 200;
const RUNS = QUICK ? 1 : 5;
const RENDERED_RUNS = QUICK ? 1 : 3;
type Kind = 'baseline' | 'crawl' | 'rendered';

const post = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** A hang bound per run (a 200-page run takes seconds). */
const RUN_BOUND_MS = 300_000;

async function finished(app: RunningApp, jobId: string): Promise<{ total: number; succeeded: number }> {
  const until = Date.now() + RUN_BOUND_MS;
  while (Date.now() < until) {
    const r = await app.request(`/api/v1/jobs/${jobId}/results`);
    if (r.status === 200) return r.body.summary;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`job ${jobId} did not finish within ${RUN_BOUND_MS} ms`);
}

async function run(app: RunningApp, kind: Kind): Promise<number> {
  const origin = await OriginServer.start();
  linkedSite(origin, PAGES);
  try {
    const started = performance.now();
    const accepted =
      kind === 'baseline'
        ? await app.request(
            '/api/v1/batch',
            post({
              urls: Array.from({ length: PAGES }, (_, n) => `${origin.url}${sitePage(n)}`),
              defaultFormat: 'markdown',
              concurrency: 4,
            }),
          )
        : await app.request(
            '/api/v1/crawl',
            post({
              url: `${origin.url}${sitePage(0)}`,
              maxPages: PAGES,
              maxDepth: 10,
              sitemap: false,
              concurrency: 4,
              ...(kind === 'rendered' ? { read: { render: 'always' } } : {}),
            }),
          );
    if (accepted.status !== 202) throw new Error(`${kind}: ${accepted.status} ${accepted.text}`);
    const summary = await finished(app, accepted.body.jobId);
    const seconds = (performance.now() - started) / 1000;
    if (summary.succeeded !== PAGES)
      throw new Error(`${kind}: ${summary.succeeded}/${PAGES} pages succeeded`);
    return PAGES / seconds;
  } finally {
    await origin.close();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const app = await startApp(
    {
      DOWNLOAD_ALLOW_PRIVATE: 'true',
      BATCH_MAX_URLS: String(PAGES),
      RATE_LIMIT_BATCH: '100000',
      RATE_LIMIT_DEFAULT: '100000',
    },
    { logLevel: 'warn' },
  );
  const rates: Record<Kind, number[]> = { baseline: [], crawl: [], rendered: [] };
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const canRender = existsSync(chromium);
  try {
    await run(app, 'baseline'); // warm-up: parser children started, code paths compiled
    for (let i = 0; i < RUNS; i++)
      for (const kind of ['baseline', 'crawl'] as const) {
        const rate = await run(app, kind);
        rates[kind].push(rate);
        console.log(`[crawl-bench] run ${i + 1} ${kind}: ${rate.toFixed(1)} pages/s`);
      }
    if (canRender)
      for (let i = 0; i < RENDERED_RUNS; i++) {
        const rate = await run(app, 'rendered');
        rates.rendered.push(rate);
        console.log(`[crawl-bench] run ${i + 1} rendered: ${rate.toFixed(1)} pages/s`);
      }
  } catch (err) {
    await app.close();
    throw err;
  }
  const baseline = median(rates.baseline);
  const crawl = median(rates.crawl);
  const rendered = canRender ? median(rates.rendered) : undefined;
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, loadavg: loadavg().map((l) => Number(l.toFixed(2))) },
    pages: PAGES,
    runs: RUNS,
    settings: { DOWNLOAD_HOST_CONCURRENCY: 4, DOWNLOAD_HOST_DELAY_MS: 0, concurrency: 4, format: 'markdown' },
    pagesPerSecond: {
      baseline: Number(baseline.toFixed(1)),
      crawl: Number(crawl.toFixed(1)),
      allBaseline: rates.baseline.map((r) => Number(r.toFixed(1))),
      allCrawl: rates.crawl.map((r) => Number(r.toFixed(1))),
    },
    crawlToBaseline: Number((crawl / baseline).toFixed(2)),
    rendered:
      rendered === undefined
        ? `not measured: no Chromium at ${chromium}`
        : {
            runs: RENDERED_RUNS,
            pagesPerSecond: Number(rendered.toFixed(1)),
            all: rates.rendered.map((r) => Number(r.toFixed(1))),
            renderedToCrawl: Number((rendered / crawl).toFixed(3)),
          },
  };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'crawl.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(
    join(OUT, 'crawl.md'),
    [
      '# Crawl benchmark',
      '',
      `${report.date} · ${report.machine.cpus} CPUs · load ${report.machine.loadavg.join(' ')} · median of ${RUNS} runs each, alternating`,
      '',
      `A site of ${PAGES} linked pages on a local origin (no-store: every page fetched each run), markdown, job`,
      'concurrency 4, default politeness (4 per host, no delay). Baseline: a batch of the same 200 URLs known up front.',
      '',
      '| | pages/s (median) | runs |',
      '|---|---|---|',
      `| baseline: batch of the 200 URLs | ${report.pagesPerSecond.baseline} | ${report.pagesPerSecond.allBaseline.join(', ')} |`,
      `| crawl from the home page (links read per page) | ${report.pagesPerSecond.crawl} | ${report.pagesPerSecond.allCrawl.join(', ')} |`,
      '',
      `Crawl / baseline: **${report.crawlToBaseline}** — the cost of discovering the pages (a parser-child job per`,
      'page for its links, and breadth-first order: a level is not known before the one above it is read).',
      '',
      ...(typeof report.rendered === 'string'
        ? [`With rendering (render=always): ${report.rendered}.`, '']
        : [
            '## With rendering',
            '',
            `The same crawl with \`read: {"render": "always"}\` (all ${PAGES} pages), ${report.rendered.runs} runs after the`,
            'runs above: every page loaded in Chromium through the PDF pool (default PDF_CONCURRENCY) and its links',
            'read from the rendered DOM.',
            '',
            '| | pages/s (median) | runs |',
            '|---|---|---|',
            `| crawl, unrendered (above) | ${report.pagesPerSecond.crawl} | ${report.pagesPerSecond.allCrawl.join(', ')} |`,
            `| crawl, render=always | ${report.rendered.pagesPerSecond} | ${report.rendered.all.join(', ')} |`,
            '',
            `Rendered / unrendered crawl: **${report.rendered.renderedToCrawl}** — a browser page per page (load, scripts,`,
            'DOM serialised) against one HTML parse, bounded by the PDF pool rather than the job concurrency.',
            '',
          ]),
    ].join('\n'),
  );
  console.log(
    `[crawl-bench] baseline ${baseline.toFixed(1)} pages/s, crawl ${crawl.toFixed(1)} pages/s, rendered ${rendered?.toFixed(1) ?? '-'} pages/s`,
  );
  // written first: the app's shutdown may end the process
  await app.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
