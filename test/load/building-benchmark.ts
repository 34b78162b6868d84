/**
 * The building directory benchmark (issue 7): `npm run bench` (add `-- --quick` for a short smoke run).
 *
 * Builds the app as it ships (tsc into test/load/.tmp/dist), then in one invocation on one machine:
 * - a private redis-server, the fixture upstream (150 ms latency, 10,000 buildings) in this process;
 * - three servers, each its own process so none shares the load generator's event loop: a bare
 *   node:http server returning the same JSON (the ceiling), Atrium as configured in production, and
 *   Atrium with METRICS_ENABLED=false ACCESS_LOG_ENABLED=false;
 * - Zipf scenarios on a cold cache (baseline), warm, and peak (more connections); the cached hot path
 *   against the ceiling and the uninstrumented app in interleaved rounds (medians); a fixed-rate run
 *   at the published 1,000 req/s; a CPU profile of the hot path.
 * Writes test/load/reports/building-benchmark.{md,json}.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { UpstreamDirectory } from '../fixtures/upstream-directory';
import { freePort, RedisProcess } from '../support/redis-server';
import { BENCH_TENANT, BUILDING_COUNT, buildingId, makeBuildings } from './lib/buildings';
import { ProfileSummary, summariseCpuProfile } from './lib/cpu-profile';
import { ServerProcess } from './lib/processes';
import { renderMarkdown } from './lib/report';
import { LoadResult, runLoad } from './lib/run-load';
import { ZipfSampler } from './lib/zipf';

const ROOT = resolve(__dirname, '..', '..');
const TMP = join(ROOT, 'test', 'load', '.tmp');
const DIST = join(TMP, 'dist');
const REPORTS = join(ROOT, 'test', 'load', 'reports');
const API_KEY = 'bench-key-0123456789abcdef';
const UPSTREAM_LATENCY_MS = 150;
const ZIPF_S = 1.0;
const HOT_KEYS = 1000;

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const D = QUICK
  ? { zipf: 5, hot: 3, warmup: 1, prime: 2, rounds: 1, fixed: 3, profile: 4, peakConnections: 200 }
  : { zipf: 20, hot: 5, warmup: 1, prime: 5, rounds: 5, fixed: 8, profile: 12, peakConnections: 200 };

const log = (msg: string): void => void process.stdout.write(`[bench ${elapsed()}] ${msg}\n`);
const t0 = Date.now();
const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(0).padStart(3)}s`;

function build(): void {
  if (args.has('--no-build') && existsSync(join(DIST, 'apps/api/src/main.js'))) return;
  log('building the app into test/load/.tmp/dist (tsc + tsc-alias, as `npm run build` does)');
  rmSync(DIST, { recursive: true, force: true });
  const bin = (name: string): string => join(ROOT, 'node_modules', '.bin', name);
  execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json', '--outDir', DIST], { cwd: ROOT, stdio: 'inherit' });
  execFileSync(bin('tsc-alias'), ['-p', 'tsconfig.build.json', '--outDir', DIST], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  // scripts/copy-assets.js copies runtime data folders into dist/; same here for the private build
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!statSync(path).isDirectory()) continue;
      if (name === 'data') cpSync(path, join(DIST, relative(ROOT, path)), { recursive: true });
      else walk(path);
    }
  };
  for (const top of ['apps', 'libs']) walk(join(ROOT, top));
}

interface Env {
  redisUrl: string;
  upstreamUrl: string;
}

async function startAtrium(
  name: string,
  env: Env,
  instrumentation: boolean,
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(TMP, `${name}-`));
  return ServerProcess.start(
    name,
    [...nodeArgs, join(DIST, 'apps/api/src/main.js')],
    {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      AUTH_API_KEYS: `${API_KEY}=${BENCH_TENANT}`,
      REDIS_URL: env.redisUrl,
      BUILDING_DIRECTORY_URL: env.upstreamUrl,
      // the limiter still runs (one Redis round trip per request, as in production); it must not refuse load
      RATE_LIMIT_DEFAULT: '1000000000',
      METRICS_ENABLED: String(instrumentation),
      ACCESS_LOG_ENABLED: String(instrumentation),
    },
    { port: await freePort(), cwd: ROOT, stdoutFile: join(dataDir, 'stdout.log') },
  );
}

/** Sums `name{…label="value"…} n` lines of a Prometheus exposition by one label. */
async function scrape(url: string, name: string, label: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  const re = new RegExp(`^${name}\\{([^}]*)\\} ([0-9.e+-]+)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const value = new RegExp(`${label}="([^"]*)"`).exec(m[1])?.[1] ?? '';
    out[value] = (out[value] ?? 0) + Number(m[2]);
  }
  return out;
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(after)) out[k] = after[k] - (before[k] ?? 0);
  return out;
}

/** Loads keys 0..HOT_KEYS-1 into a server's L1 (from L2 or the upstream), 100 at a time. */
async function warmHotKeys(server: ServerProcess): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < HOT_KEYS) {
      const id = buildingId(next++);
      const res = await fetch(`${server.url}/api/v1/buildings/${id}`, { headers: { 'x-api-key': API_KEY } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${server.name}: warming ${id} answered ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: 100 }, worker));
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export interface HotRun {
  target: 'bare' | 'atrium' | 'atriumNoObs';
  round: number;
  result: LoadResult;
  /** Server-process CPU per request, µs (from /proc). */
  cpuUsPerRequest: number;
}

export interface BenchReport {
  generatedAt: string;
  command: string;
  quick: boolean;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; loadAvgAtStart: number[] };
  setup: Record<string, string | number>;
  zipf: {
    s: number;
    keys: number;
    idealHitRatioTop1000: number;
    baseline: LoadResult;
    warm: LoadResult;
    peak: LoadResult;
    distinctKeys: number;
    upstreamCalls: number;
    upstreamCallsPerKeyPerTtl: number;
    metricsCacheOps: Record<string, number>;
    /** cache_operations_total by result (ok/error/timeout), all levels and operations. */
    cacheOpResults: Record<string, number>;
    metricsHitRatio: number;
  };
  hot: {
    runs: HotRun[];
    median: Record<HotRun['target'], { rps: number; p50: number; p95: number; p99: number; cpuUs: number }>;
    ceilingRatio: number;
    ceilingRatioPerRound: number[];
    observabilityOverheadPct: number;
    observabilityOverheadPerRound: number[];
    cpuOverheadPct: number;
  };
  fixedRate: LoadResult;
  fixedRateBare: LoadResult;
  profile?: ProfileSummary & { loadRps: number; seconds: number };
  durationS: number;
}

async function main(): Promise<void> {
  if (args.has('--render-only')) {
    // re-renders the markdown from the committed JSON (a change to the report's wording, not its numbers)
    const base = join(REPORTS, 'building-benchmark');
    const report = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as BenchReport;
    writeFileSync(`${base}.md`, renderMarkdown(report));
    return log(`re-rendered ${relative(ROOT, base)}.md from its .json`);
  }
  mkdirSync(TMP, { recursive: true });
  build();
  const loadAvg = (await import('node:os')).loadavg();
  log('starting redis-server, the fixture upstream (10,000 buildings, 150 ms) and the three servers');
  const redis = await RedisProcess.start();
  const upstream = await UpstreamDirectory.start({
    data: { [BENCH_TENANT]: makeBuildings(BUILDING_COUNT) },
    latencyMs: UPSTREAM_LATENCY_MS,
  });
  const env: Env = { redisUrl: redis.url, upstreamUrl: upstream.url };
  const servers: ServerProcess[] = [];
  try {
    const bare = await ServerProcess.start(
      'bare',
      ['-r', '@swc-node/register', join(ROOT, 'test/load/servers/bare-server.ts')],
      { SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), NODE_ENV: 'production' },
      { port: await freePort(), cwd: ROOT },
    );
    servers.push(bare);
    const atrium = await startAtrium('atrium', env, true);
    servers.push(atrium);
    const noObs = await startAtrium('atrium-no-obs', env, false);
    servers.push(noObs);
    const headers = { 'x-api-key': API_KEY };

    // ── Zipf over 10,000 buildings: cold (baseline), warm, peak — one instance, one TTL ──
    const zipf = new ZipfSampler(BUILDING_COUNT, ZIPF_S, 7);
    const nextZipf = (): [string, number] => {
      const k = zipf.next();
      return [`/api/v1/buildings/${buildingId(k)}`, k];
    };
    upstream.resetCalls();
    const opsBefore = await scrape(atrium.url, 'building_cache_operations_total', 'operation');
    const l2Before = await scrape(atrium.url, 'cache_operations_total', 'result');
    const zipfRun = (title: string, connections: number): Promise<LoadResult> => {
      log(`zipf ${title}: ${connections} connections, ${D.zipf} s`);
      return runLoad({
        title,
        url: atrium.url,
        connections,
        durationS: D.zipf,
        nextRequest: nextZipf,
        headers,
        keySpace: BUILDING_COUNT,
      });
    };
    const baseline = await zipfRun('baseline (cold cache)', 50);
    const warm = await zipfRun('warm', 50);
    const peak = await zipfRun('peak', D.peakConnections);
    const opsAfter = await scrape(atrium.url, 'building_cache_operations_total', 'operation');
    const l2After = await scrape(atrium.url, 'cache_operations_total', 'result');
    const seen = new Uint8Array(BUILDING_COUNT);
    for (const r of [baseline, warm, peak]) r.keysSeen?.forEach((v, i) => (seen[i] |= v));
    const distinctKeys = seen.reduce((a, b) => a + b, 0);
    const upstreamCalls = upstream.callCount({ tenantId: BENCH_TENANT });
    const ops = diff(opsAfter, opsBefore);
    const served = (ops.hit ?? 0) + (ops.miss ?? 0) + (ops.stale ?? 0);

    // ── the cached hot path: bare node:http vs Atrium vs Atrium without instrumentation ──
    log(`hot path: warming ${HOT_KEYS} keys into both apps' L1`);
    await warmHotKeys(atrium);
    await warmHotKeys(noObs);
    let rr = 0;
    const nextHot = (): [string, number] => {
      const k = rr++ % HOT_KEYS;
      return [`/api/v1/buildings/${buildingId(k)}`, k];
    };
    const targets: Array<[HotRun['target'], ServerProcess]> = [
      ['bare', bare],
      ['atrium', atrium],
      ['atriumNoObs', noObs],
    ];
    // let V8 optimise each server's request path before anything is recorded
    for (const [target, server] of targets) {
      log(`  priming ${target} (${D.prime} s, not recorded)`);
      await runLoad({
        title: 'prime',
        url: server.url,
        connections: 50,
        durationS: D.prime,
        nextRequest: nextHot,
        headers,
      });
    }
    const runs: HotRun[] = [];
    for (let round = 0; round < D.rounds; round++) {
      // rotate the order each round so drift on a shared machine does not always favour one target
      const order = targets.map((_, i) => targets[(i + round) % targets.length]);
      for (const [target, server] of order) {
        await runLoad({
          title: 'warmup',
          url: server.url,
          connections: 50,
          durationS: D.warmup,
          nextRequest: nextHot,
          headers,
        });
        const cpuBefore = server.cpuMs();
        const result = await runLoad({
          title: `hot ${target} r${round + 1}`,
          url: server.url,
          connections: 50,
          durationS: D.hot,
          nextRequest: nextHot,
          headers,
          keySpace: HOT_KEYS,
        });
        const cpuUsPerRequest = ((server.cpuMs() - cpuBefore) * 1000) / Math.max(1, result.requests);
        delete result.keysSeen;
        runs.push({ target, round, result, cpuUsPerRequest: Math.round(cpuUsPerRequest) });
        log(
          `  round ${round + 1} ${target.padEnd(11)} ${String(result.rps).padStart(6)} req/s  p99 ${result.latencyMs.p99} ms  ` +
            `cpu ${Math.round(cpuUsPerRequest)} µs/req  hit ${result.hitRatio ?? '-'}  errors ${result.errorRate}`,
        );
      }
    }
    const med = (target: HotRun['target']): BenchReport['hot']['median']['bare'] => {
      const rs = runs.filter((r) => r.target === target);
      return {
        rps: median(rs.map((r) => r.result.rps)),
        p50: median(rs.map((r) => r.result.latencyMs.p50)),
        p95: median(rs.map((r) => r.result.latencyMs.p95)),
        p99: median(rs.map((r) => r.result.latencyMs.p99)),
        cpuUs: median(rs.map((r) => r.cpuUsPerRequest)),
      };
    };
    const perRound = (f: (round: number) => number): number[] =>
      Array.from({ length: D.rounds }, (_, i) => Math.round(f(i) * 1000) / 1000);
    const rpsOf = (target: HotRun['target'], round: number): number =>
      runs.find((r) => r.target === target && r.round === round)!.result.rps;
    const ceilingRatioPerRound = perRound((i) => rpsOf('atrium', i) / rpsOf('bare', i));
    const overheadPerRound = perRound((i) => (1 - rpsOf('atrium', i) / rpsOf('atriumNoObs', i)) * 100);
    const medians = { bare: med('bare'), atrium: med('atrium'), atriumNoObs: med('atriumNoObs') };

    // ── the published load level: 1,000 req/s, 50 connections ──
    log(`fixed rate: 1,000 req/s over 50 connections, ${D.fixed} s, bare node:http then Atrium`);
    const atRate = async (title: string, server: ServerProcess): Promise<LoadResult> => {
      const result = await runLoad({
        title,
        url: server.url,
        connections: 50,
        durationS: D.fixed,
        overallRate: 1000,
        nextRequest: nextHot,
        headers,
        keySpace: HOT_KEYS,
      });
      delete result.keysSeen;
      return result;
    };
    // the ceiling at the same rate tells the machine's scheduling delay apart from the app's own
    const fixedRateBare = await atRate('bare node:http @ 1,000 req/s', bare);
    const fixedRate = await atRate('atrium @ 1,000 req/s', atrium);

    for (const s of servers.splice(0)) await s.stop();

    // ── a CPU profile of the hot path (L1 hits) ──
    let profile: BenchReport['profile'];
    if (!args.has('--no-profile')) {
      const profDir = join(TMP, 'profile');
      rmSync(profDir, { recursive: true, force: true });
      const profiled = await startAtrium('atrium-profiled', env, true, [
        '--cpu-prof',
        '--cpu-prof-dir',
        profDir,
        '--cpu-prof-interval',
        '250',
      ]);
      servers.push(profiled);
      await warmHotKeys(profiled);
      log(`profile: ${D.profile} s of hot-path load against a --cpu-prof instance`);
      const loadStart = performance.now();
      const result = await runLoad({
        title: 'profiled',
        url: profiled.url,
        connections: 50,
        durationS: D.profile,
        nextRequest: nextHot,
        headers,
      });
      const loadEnd = performance.now();
      await profiled.stop();
      servers.splice(servers.indexOf(profiled), 1);
      const exitAt = performance.now();
      const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        // only the load window (minus a second each side), not startup or shutdown
        const summary = summariseCpuProfile(join(profDir, file), ROOT, {
          top: 30,
          window: {
            startBeforeEndUs: (exitAt - loadStart - 1000) * 1000,
            endBeforeEndUs: (exitAt - loadEnd + 1000) * 1000,
          },
        });
        profile = { ...summary, loadRps: result.rps, seconds: D.profile };
      }
    }

    for (const r of [baseline, warm, peak]) delete r.keysSeen;
    const report: BenchReport = {
      generatedAt: new Date().toISOString(),
      command: `npm run bench${QUICK ? ' -- --quick' : ''}`,
      quick: QUICK,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        loadAvgAtStart: loadAvg.map((x) => Math.round(x * 100) / 100),
      },
      setup: {
        upstreamLatencyMs: UPSTREAM_LATENCY_MS,
        buildings: BUILDING_COUNT,
        zipfS: ZIPF_S,
        hotKeys: HOT_KEYS,
        buildingCacheTtlMs: 300000,
        l1MaxEntries: 10000,
        zipfSeconds: D.zipf,
        hotSeconds: D.hot,
        rounds: D.rounds,
        peakConnections: D.peakConnections,
      },
      zipf: {
        s: ZIPF_S,
        keys: BUILDING_COUNT,
        idealHitRatioTop1000: Math.round(zipf.headMass(1000) * 1000) / 1000,
        baseline,
        warm,
        peak,
        distinctKeys,
        upstreamCalls,
        upstreamCallsPerKeyPerTtl: Math.round((upstreamCalls / Math.max(1, distinctKeys)) * 1000) / 1000,
        metricsCacheOps: ops,
        cacheOpResults: diff(l2After, l2Before),
        metricsHitRatio: Math.round(((ops.hit ?? 0) / Math.max(1, served)) * 10000) / 10000,
      },
      hot: {
        runs,
        median: medians,
        ceilingRatio: median(ceilingRatioPerRound),
        ceilingRatioPerRound,
        observabilityOverheadPct: Math.round(median(overheadPerRound) * 10) / 10,
        observabilityOverheadPerRound: overheadPerRound,
        cpuOverheadPct: Math.round((medians.atrium.cpuUs / medians.atriumNoObs.cpuUs - 1) * 1000) / 10,
      },
      fixedRate,
      fixedRateBare,
      profile,
      durationS: Math.round((Date.now() - t0) / 1000),
    };
    mkdirSync(REPORTS, { recursive: true });
    const base = join(REPORTS, QUICK ? 'building-benchmark.quick' : 'building-benchmark');
    writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${base}.md`, renderMarkdown(report));
    log(`wrote ${relative(ROOT, base)}.md and .json`);
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    await upstream.stop();
    await redis.stop();
    for (const name of existsSync(TMP) ? readdirSync(TMP) : [])
      if (/^atrium/.test(name)) rmSync(join(TMP, name), { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
