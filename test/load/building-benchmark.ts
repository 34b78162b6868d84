/**
 * The building directory benchmark (issues 7, 14 and 21): `npm run bench` (add `-- --quick` for a short smoke
 * run; `-- --ab <rev>` for an A/B of Atrium built from <rev> against the working tree, see abMain). Needs wrk.
 *
 * Builds the app as it ships (tsc into test/load/.tmp/dist), then in one invocation on one machine:
 * - a private redis-server, the fixture upstream (150 ms latency, 10,000 buildings) in this process;
 * - the servers under test, each its own process so none shares the load generator's event loop: a bare
 *   node:http server returning the same JSON, a minimal Nest 11 + Fastify route returning it (the
 *   framework floor), the textbook build of the cached route (servers/textbook-server.ts) and Atrium as
 *   configured in production;
 * - Zipf scenarios on a cold cache (baseline), warm, and peak (more connections); the cached hot path on
 *   the four servers in interleaved rounds (wrk, medians); a fixed rate of 2,000 req/s; the per-stage
 *   breakdown (Atrium started with auth, rate limit, request context, cache, metrics and access log
 *   switched on one after the other, CPU per request of each); a CPU profile of the hot path.
 * Writes test/load/reports/building-benchmark.{md,json}. Run it under `flock /tmp/atrium-heavy.lock`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
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
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { UpstreamDirectory } from '../fixtures/upstream-directory';
import { freePort, RedisProcess } from '../support/redis-server';
import { BENCH_TENANT, BUILDING_COUNT, buildingId, makeBuildings } from './lib/buildings';
import { ProfileSummary, summariseCpuProfile } from './lib/cpu-profile';
import { ServerProcess } from './lib/processes';
import { renderAbMarkdown, renderMarkdown } from './lib/report';
import { LoadResult, runLoad } from './lib/run-load';
import { runWrk } from './lib/run-wrk';
import { ZipfSampler } from './lib/zipf';

const ROOT = resolve(__dirname, '..', '..');
const TMP = join(ROOT, 'test', 'load', '.tmp');
const DIST = join(TMP, 'dist');
const REPORTS = join(ROOT, 'test', 'load', 'reports');
const API_KEY = 'bench-key-0123456789abcdef';
const UPSTREAM_LATENCY_MS = 150;
const ZIPF_S = 1.0;
const HOT_KEYS = 1000;
const FIXED_RATE = 2000;

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const D = QUICK
  ? {
      zipf: 3,
      hot: 3,
      warmup: 1,
      prime: 2,
      rounds: 1,
      fixed: 3,
      stage: 2,
      stageRounds: 1,
      profile: 4,
      peakConnections: 200,
    }
  : {
      zipf: 8,
      hot: 5,
      warmup: 1,
      prime: 3,
      rounds: 3,
      fixed: 6,
      stage: 3,
      stageRounds: 4,
      profile: 10,
      peakConnections: 200,
    };

const log = (msg: string): void => void process.stdout.write(`[bench ${elapsed()}] ${msg}\n`);
const t0 = Date.now();
const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(0).padStart(3)}s`;

function build(root = ROOT, dist = DIST): void {
  if (root === ROOT && args.has('--no-build') && existsSync(join(dist, 'apps/api/src/main.js'))) return;
  log(
    `building ${relative(ROOT, root) || 'the app'} into ${dist} (tsc + tsc-alias, as \`npm run build\` does)`,
  );
  rmSync(dist, { recursive: true, force: true });
  const bin = (name: string): string => join(root, 'node_modules', '.bin', name);
  execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json', '--outDir', dist], { cwd: root, stdio: 'inherit' });
  execFileSync(bin('tsc-alias'), ['-p', 'tsconfig.build.json', '--outDir', dist], {
    cwd: root,
    stdio: 'inherit',
  });
  // scripts/copy-assets.js copies runtime data folders into dist/; same here for the private build
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!statSync(path).isDirectory()) continue;
      if (name === 'data') cpSync(path, join(dist, relative(root, path)), { recursive: true });
      else walk(path);
    }
  };
  for (const top of ['apps', 'libs']) walk(join(root, top));
}

/** The per-request stages of Atrium's cached lookup, in the order the breakdown switches them on. */
export const STAGES = ['auth', 'rateLimit', 'requestContext', 'cache', 'metrics', 'accessLog'] as const;
export type Stage = (typeof STAGES)[number];

interface Env {
  redisUrl: string;
  upstreamUrl: string;
  /** The 10,000 buildings as a BUILDING_DIRECTORY_FILE (the breakdown's source: lookups without a cache stay in memory). */
  buildingFile: string;
}

/**
 * Atrium from the build, in production mode, with the given stages on (each through the app's own
 * switch; the request context, which has none, through a benchmark-only preload) and its buildings from
 * the fixture upstream or the file.
 */
async function startAtrium(
  name: string,
  env: Env,
  opts: {
    stages: ReadonlySet<Stage>;
    source: 'upstream' | 'file';
    nodeArgs?: string[];
    /** Another build (the --ab mode's checkout of a revision): its dist and its checkout as the working directory. */
    build?: { dist: string; root: string };
  },
): Promise<ServerProcess> {
  const on = (stage: Stage): string => String(opts.stages.has(stage));
  const dataDir = mkdtempSync(join(TMP, `${name}-`));
  const nodeArgs = [...(opts.nodeArgs ?? [])];
  if (!opts.stages.has('requestContext'))
    nodeArgs.push('-r', join(ROOT, 'test/load/servers/without-request-context.js'));
  return ServerProcess.start(
    name,
    [...nodeArgs, join(opts.build?.dist ?? DIST, 'apps/api/src/main.js')],
    {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      // where the benchmark-only preload (without-request-context.js) finds the build it patches
      ATRIUM_DIST: opts.build?.dist ?? DIST,
      REDIS_URL: env.redisUrl,
      ...(opts.stages.has('auth')
        ? { AUTH_API_KEYS: `${API_KEY}=${BENCH_TENANT}` }
        : { AUTH_DISABLED: 'true', DEFAULT_TENANT_ID: BENCH_TENANT }),
      ...(opts.source === 'upstream'
        ? { BUILDING_DIRECTORY_URL: env.upstreamUrl }
        : { BUILDING_DIRECTORY_FILE: env.buildingFile }),
      RATE_LIMIT_ENABLED: on('rateLimit'),
      // the limiter counts every request (locally, synced to Redis in batches); it must not refuse load
      RATE_LIMIT_DEFAULT: '1000000000',
      BUILDING_CACHE_ENABLED: on('cache'),
      METRICS_ENABLED: on('metrics'),
      ACCESS_LOG_ENABLED: on('accessLog'),
    },
    {
      port: await freePort(),
      cwd: opts.build?.root ?? ROOT,
      stdoutFile: join(dataDir, 'stdout.log'),
      readyTimeoutMs: 180_000,
    },
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

/** `wrk debian/4.1.0-3+b2` (wrk -v prints its version line and exits 1). */
function wrkVersion(): string {
  const out = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  return `${out.stdout}${out.stderr}`.split('\n')[0].split(' [')[0].trim() || 'wrk';
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** A closed-loop wrk run against one server, with the server's CPU per response over the run. */
async function measured(
  server: ServerProcess,
  title: string,
  seconds: number,
  wrkCpu?: number,
): Promise<{ result: LoadResult; cpuUsPerRequest: number; warmupRequests: number }> {
  const warmup = await runWrk({
    title: 'warmup',
    url: server.url,
    connections: 50,
    durationS: D.warmup,
    apiKey: API_KEY,
    keys: HOT_KEYS,
    cpu: wrkCpu,
  });
  const cpuBefore = server.cpuMs();
  const result = await runWrk({
    title,
    url: server.url,
    connections: 50,
    durationS: seconds,
    apiKey: API_KEY,
    keys: HOT_KEYS,
    cpu: wrkCpu,
  });
  const cpuUsPerRequest = Math.round(((server.cpuMs() - cpuBefore) * 1000) / Math.max(1, result.requests));
  if (result.non2xx + result.errors + result.timeouts > 0)
    throw new Error(
      `${title}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  return { result, cpuUsPerRequest, warmupRequests: warmup.requests };
}

export type Target = 'bare' | 'nest' | 'textbook' | 'atrium';

export interface HotRun {
  target: Target;
  round: number;
  result: LoadResult;
  /** Server-process CPU per request, µs (from /proc). */
  cpuUsPerRequest: number;
}

export interface Summary {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  cpuUs: number;
}

export interface StageStep {
  /** Stages on in this step (the previous step's plus `added`). */
  stages: Stage[];
  added: Stage | null;
  runs: Array<{ round: number; result: LoadResult; cpuUsPerRequest: number }>;
  median: Summary;
  /** The lowest CPU µs per request over the rounds: the least disturbed measurement of the step. */
  minCpuUs: number;
  /** minCpuUs minus the previous step's: the added stage's cost. */
  deltaCpuUs: number;
}

export interface BenchReport {
  generatedAt: string;
  command: string;
  quick: boolean;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    node: string;
    loadAvgAtStart: number[];
    loadAvgAtEnd: number[];
    loadGenerator: string;
  };
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
    median: Partial<Record<Target, Summary>> & Record<'bare' | 'nest' | 'atrium', Summary>;
    /** Atrium req/s ÷ the Nest floor's, per round and their median. */
    nestRatio: number;
    nestRatioPerRound: number[];
    /** Atrium req/s ÷ bare node:http's. */
    bareRatio: number;
    bareRatioPerRound: number[];
    /** Atrium p99 ÷ the Nest floor's p99, per round and their median. */
    p99NestRatio: number;
    p99NestRatioPerRound: number[];
    /** Atrium req/s ÷ the textbook build's (issue 21), per round and their median. Absent in older reports. */
    textbookRatio?: number;
    textbookRatioPerRound?: number[];
    /** Atrium p99 ÷ the textbook build's p99, per round and their median. */
    p99TextbookRatio?: number;
    p99TextbookRatioPerRound?: number[];
    /** Cache hits counted by Atrium's building_cache_operations_total during its runs (warm-ups included) ÷ its responses. */
    atriumHitShare: number;
  };
  /** Per server (the textbook build from issue 21 on). */
  fixedRate: Partial<Record<Target, { result: LoadResult; cpuUsPerRequest: number }>> &
    Record<'bare' | 'nest' | 'atrium', { result: LoadResult; cpuUsPerRequest: number }>;
  /**
   * The Nest floor slowed by busy work to Atrium's CPU per request at the fixed rate (Atrium's minus the
   * floor's, both measured there), at the same rate: what of Atrium's latency there comes from its CPU per request alone. Absent in older reports.
   */
  fixedRateControl?: { busyUs: number; result: LoadResult; cpuUsPerRequest: number };
  stages: StageStep[];
  profile?: ProfileSummary & { loadRps: number; seconds: number };
  durationS: number;
}

/** `--ab <rev>`: the revision to build beside HEAD. */
const AB_REV = ((): string | undefined => {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--ab');
  if (i < 0) return undefined;
  const rev = argv[i + 1];
  if (!rev || rev.startsWith('--')) throw new Error('--ab needs a revision: npm run bench -- --ab <rev>');
  return rev;
})();

export interface AbRun {
  build: 'a' | 'b';
  round: number;
  result: LoadResult;
  cpuUsPerRequest: number;
}

export interface AbReport {
  generatedAt: string;
  command: string;
  /** A: the revision asked for; B: the working tree's HEAD (with any uncommitted changes). */
  a: { rev: string; commit: string; subject: string };
  b: { rev: string; commit: string; subject: string; dirty: boolean };
  machine: { cpus: number; cpuModel: string; node: string; loadAvgAtStart: number[]; loadAvgAtEnd: number[] };
  /** CPU the servers were pinned to, and wrk's. */
  pinning: { servers: string; wrk: string } | null;
  seconds: number;
  rounds: number;
  runs: AbRun[];
  median: Record<'a' | 'b', Summary>;
  /** B ÷ A per round (req/s, CPU µs per request, p99) and their medians. */
  rpsRatioPerRound: number[];
  cpuRatioPerRound: number[];
  p99RatioPerRound: number[];
  rpsRatio: number;
  cpuRatio: number;
  p99Ratio: number;
  durationS: number;
}

const git = (cwd: string, ...argv: string[]): string =>
  execFileSync('git', argv, { cwd, encoding: 'utf8' }).trim();

/**
 * The A/B mode: Atrium built from `rev` (a git worktree in a temp dir, node_modules copied with `cp -a`) and
 * from the working tree, both in the production configuration against one Redis and one upstream, each pinned
 * to CPU 1 with wrk on CPU 0, interleaved in rounds (A B, then B A…). Writes
 * test/load/reports/building-benchmark-ab.{md,json}.
 */
async function abMain(rev: string): Promise<void> {
  const loadAvgAtStart = loadavg();
  mkdirSync(TMP, { recursive: true });
  const commit = git(ROOT, 'rev-parse', '--verify', `${rev}^{commit}`);
  const work = mkdtempSync(join(tmpdir(), 'atrium-ab-'));
  const checkout = join(work, 'src');
  const servers: ServerProcess[] = [];
  let redis: RedisProcess | undefined;
  let upstream: UpstreamDirectory | undefined;
  const rounds = QUICK ? 2 : 6;
  const seconds = QUICK ? 3 : D.hot;
  const pin = cpus().length >= 2;
  try {
    build();
    log(`A = ${rev} (${commit.slice(0, 10)}): git worktree in ${checkout}, node_modules copied`);
    git(ROOT, 'worktree', 'add', '--detach', checkout, commit);
    execFileSync('cp', ['-a', join(ROOT, 'node_modules'), join(checkout, 'node_modules')]);
    // inside the checkout, so that the build resolves that checkout's node_modules
    const abDist = join(checkout, 'test', 'load', '.tmp', 'dist');
    build(checkout, abDist);
    redis = await RedisProcess.start();
    const buildings = makeBuildings(BUILDING_COUNT);
    upstream = await UpstreamDirectory.start({ data: { [BENCH_TENANT]: buildings }, latencyMs: 0 });
    const env: Env = { redisUrl: redis.url, upstreamUrl: upstream.url, buildingFile: '' };
    const ALL = new Set<Stage>(STAGES);
    const a = await startAtrium('atrium-a', env, {
      stages: ALL,
      source: 'upstream',
      build: { dist: abDist, root: checkout },
    });
    servers.push(a);
    const b = await startAtrium('atrium-b', env, { stages: ALL, source: 'upstream' });
    servers.push(b);
    if (pin) for (const s of [a, b]) execFileSync('taskset', ['-a', '-p', '-c', '1', String(s.child.pid)]);
    const wrkCpu = pin ? 0 : undefined;
    const builds: Array<['a' | 'b', ServerProcess]> = [
      ['a', a],
      ['b', b],
    ];
    for (const [name, server] of builds) {
      await warmHotKeys(server);
      log(`  priming ${name} (${D.prime} s, not recorded)`);
      await runWrk({
        title: 'prime',
        url: server.url,
        connections: 50,
        durationS: D.prime,
        apiKey: API_KEY,
        keys: HOT_KEYS,
        cpu: wrkCpu,
      });
    }
    const runs: AbRun[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? builds : [...builds].reverse();
      for (const [name, server] of order) {
        const { result, cpuUsPerRequest } = await measured(server, `${name} r${round + 1}`, seconds, wrkCpu);
        runs.push({ build: name, round, result, cpuUsPerRequest });
        log(
          `  round ${round + 1} ${name} ${String(result.rps).padStart(6)} req/s  p50 ${result.latencyMs.p50} ms  p99 ${result.latencyMs.p99} ms  cpu ${cpuUsPerRequest} µs/req`,
        );
      }
    }
    const of = (name: 'a' | 'b', round: number): AbRun =>
      runs.find((r) => r.build === name && r.round === round)!;
    const perRound = (f: (x: AbRun) => number): number[] =>
      Array.from({ length: rounds }, (_, i) => r3(f(of('b', i)) / Math.max(1e-9, f(of('a', i)))));
    const med = (name: 'a' | 'b'): Summary => {
      const rs = runs.filter((r) => r.build === name);
      return {
        rps: median(rs.map((r) => r.result.rps)),
        p50: median(rs.map((r) => r.result.latencyMs.p50)),
        p95: median(rs.map((r) => r.result.latencyMs.p95)),
        p99: median(rs.map((r) => r.result.latencyMs.p99)),
        cpuUs: median(rs.map((r) => r.cpuUsPerRequest)),
      };
    };
    const rpsRatioPerRound = perRound((x) => x.result.rps);
    const cpuRatioPerRound = perRound((x) => x.cpuUsPerRequest);
    const p99RatioPerRound = perRound((x) => x.result.latencyMs.p99);
    const report: AbReport = {
      generatedAt: new Date().toISOString(),
      command: `npm run bench -- --ab ${rev}${QUICK ? ' --quick' : ''}`,
      a: { rev, commit, subject: git(ROOT, 'log', '-1', '--format=%s', commit) },
      b: {
        rev: 'HEAD',
        commit: git(ROOT, 'rev-parse', 'HEAD'),
        subject: git(ROOT, 'log', '-1', '--format=%s', 'HEAD'),
        dirty: git(ROOT, 'status', '--porcelain', '--untracked-files=no').length > 0,
      },
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        node: process.version,
        loadAvgAtStart: loadAvgAtStart.map((x) => Math.round(x * 100) / 100),
        loadAvgAtEnd: loadavg().map((x) => Math.round(x * 100) / 100),
      },
      pinning: pin ? { servers: 'CPU 1 (both builds)', wrk: 'CPU 0' } : null,
      seconds,
      rounds,
      runs,
      median: { a: med('a'), b: med('b') },
      rpsRatioPerRound,
      cpuRatioPerRound,
      p99RatioPerRound,
      rpsRatio: r3(median(rpsRatioPerRound)),
      cpuRatio: r3(median(cpuRatioPerRound)),
      p99Ratio: r3(median(p99RatioPerRound)),
      durationS: Math.round((Date.now() - t0) / 1000),
    };
    mkdirSync(REPORTS, { recursive: true });
    const base = join(REPORTS, QUICK ? 'building-benchmark-ab.quick' : 'building-benchmark-ab');
    writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${base}.md`, renderAbMarkdown(report));
    log(`wrote ${relative(ROOT, base)}.md and .json`);
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    await upstream?.stop();
    await redis?.stop();
    if (existsSync(checkout)) {
      try {
        git(ROOT, 'worktree', 'remove', '--force', checkout);
      } catch (err) {
        log(`could not remove the A/B worktree ${checkout}: ${(err as Error).message}`);
      }
    }
    rmSync(work, { recursive: true, force: true });
    for (const name of existsSync(TMP) ? readdirSync(TMP) : [])
      if (/^atrium/.test(name)) rmSync(join(TMP, name), { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!args.has('--render-only') && spawnSync('wrk', ['-v']).error)
    throw new Error('wrk is not installed: `apt-get install wrk` (Debian package) before `npm run bench`');
  if (AB_REV) return abMain(AB_REV);
  if (args.has('--render-only')) {
    // re-renders the markdown from the committed JSON (a change to the report's wording, not its numbers)
    const base = join(REPORTS, 'building-benchmark');
    const report = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as BenchReport;
    writeFileSync(`${base}.md`, renderMarkdown(report));
    return log(`re-rendered ${relative(ROOT, base)}.md from its .json`);
  }
  const loadAvgAtStart = loadavg();
  mkdirSync(TMP, { recursive: true });
  build();
  log(`load average at start: ${loadAvgAtStart.map((x) => x.toFixed(2)).join(' / ')}`);
  log('starting redis-server, the fixture upstream (10,000 buildings, 150 ms) and the three servers');
  const redis = await RedisProcess.start();
  const buildings = makeBuildings(BUILDING_COUNT);
  const upstream = await UpstreamDirectory.start({
    data: { [BENCH_TENANT]: buildings },
    latencyMs: UPSTREAM_LATENCY_MS,
  });
  const buildingFile = join(TMP, 'buildings.json');
  writeFileSync(buildingFile, JSON.stringify({ tenants: { [BENCH_TENANT]: buildings } }));
  const env: Env = { redisUrl: redis.url, upstreamUrl: upstream.url, buildingFile };
  const servers: ServerProcess[] = [];
  const stop = async (...list: ServerProcess[]): Promise<void> => {
    for (const s of list) {
      await s.stop();
      servers.splice(servers.indexOf(s), 1);
    }
  };
  const ALL = new Set<Stage>(STAGES);
  try {
    const swc = (file: string): string[] => ['-r', '@swc-node/register', join(ROOT, file)];
    const swcEnv = { SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), NODE_ENV: 'production' };
    const bare = await ServerProcess.start('bare', swc('test/load/servers/bare-server.ts'), swcEnv, {
      port: await freePort(),
      cwd: ROOT,
    });
    servers.push(bare);
    const nest = await ServerProcess.start('nest', swc('test/load/servers/nest-server.ts'), swcEnv, {
      port: await freePort(),
      cwd: ROOT,
    });
    servers.push(nest);
    const textbook = await ServerProcess.start(
      'textbook',
      swc('test/load/servers/textbook-server.ts'),
      { ...swcEnv, API_KEY },
      { port: await freePort(), cwd: ROOT, stdoutFile: join(TMP, 'textbook-access.log') },
    );
    servers.push(textbook);
    const atrium = await startAtrium('atrium', env, { stages: ALL, source: 'upstream' });
    servers.push(atrium);
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

    // ── the cached hot path: bare node:http, the Nest floor and Atrium, interleaved rounds ──
    log(`hot path: warming ${HOT_KEYS} keys into Atrium's L1 and the textbook build's cache`);
    await warmHotKeys(atrium);
    await warmHotKeys(textbook);
    const targets: Array<[Target, ServerProcess]> = [
      ['bare', bare],
      ['nest', nest],
      ['textbook', textbook],
      ['atrium', atrium],
    ];
    // let V8 optimise each server's request path before anything is recorded
    for (const [target, server] of targets) {
      log(`  priming ${target} (${D.prime} s, not recorded)`);
      await runWrk({
        title: 'prime',
        url: server.url,
        connections: 50,
        durationS: D.prime,
        apiKey: API_KEY,
        keys: HOT_KEYS,
      });
    }
    const runs: HotRun[] = [];
    let atriumHits = 0;
    let atriumResponses = 0;
    for (let round = 0; round < D.rounds; round++) {
      // rotate the order each round so drift on a shared machine does not always favour one target
      const order = targets.map((_, i) => targets[(i + round) % targets.length]);
      for (const [target, server] of order) {
        const hitsBefore =
          target === 'atrium' ? await scrape(atrium.url, 'building_cache_operations_total', 'operation') : {};
        const { result, cpuUsPerRequest, warmupRequests } = await measured(
          server,
          `hot ${target} r${round + 1}`,
          D.hot,
        );
        if (target === 'atrium') {
          const hits = diff(
            await scrape(atrium.url, 'building_cache_operations_total', 'operation'),
            hitsBefore,
          );
          atriumHits += hits.hit ?? 0;
          atriumResponses += warmupRequests + result.requests;
        }
        runs.push({ target, round, result, cpuUsPerRequest });
        log(
          `  round ${round + 1} ${target.padEnd(6)} ${String(result.rps).padStart(6)} req/s  p50 ${result.latencyMs.p50} ms  p99 ${result.latencyMs.p99} ms  cpu ${cpuUsPerRequest} µs/req`,
        );
      }
    }
    const med = (target: Target): Summary => {
      const rs = runs.filter((r) => r.target === target);
      return {
        rps: median(rs.map((r) => r.result.rps)),
        p50: median(rs.map((r) => r.result.latencyMs.p50)),
        p95: median(rs.map((r) => r.result.latencyMs.p95)),
        p99: median(rs.map((r) => r.result.latencyMs.p99)),
        cpuUs: median(rs.map((r) => r.cpuUsPerRequest)),
      };
    };
    const of = (target: Target, round: number): LoadResult =>
      runs.find((r) => r.target === target && r.round === round)!.result;
    const perRound = (f: (round: number) => number): number[] =>
      Array.from({ length: D.rounds }, (_, i) => r3(f(i)));
    const nestRatioPerRound = perRound((i) => of('atrium', i).rps / of('nest', i).rps);
    const bareRatioPerRound = perRound((i) => of('atrium', i).rps / of('bare', i).rps);
    const p99NestRatioPerRound = perRound((i) => of('atrium', i).latencyMs.p99 / of('nest', i).latencyMs.p99);
    const textbookRatioPerRound = perRound((i) => of('atrium', i).rps / of('textbook', i).rps);
    const p99TextbookRatioPerRound = perRound(
      (i) => of('atrium', i).latencyMs.p99 / of('textbook', i).latencyMs.p99,
    );

    // ── a fixed rate: 2,000 req/s over 50 connections (autocannon's overallRate) ──
    const fixedRate = {} as BenchReport['fixedRate'];
    let rr = 0;
    const nextHot = (): [string, number] => {
      const k = rr++ % HOT_KEYS;
      return [`/api/v1/buildings/${buildingId(k)}`, k];
    };
    const atFixedRate = async (
      title: string,
      server: ServerProcess,
    ): Promise<{ result: LoadResult; cpuUsPerRequest: number }> => {
      const cpuBefore = server.cpuMs();
      const result = await runLoad({
        title: `${title} @ ${FIXED_RATE.toLocaleString('en-US')} req/s`,
        url: server.url,
        connections: 50,
        durationS: D.fixed,
        overallRate: FIXED_RATE,
        nextRequest: nextHot,
        headers,
        keySpace: HOT_KEYS,
      });
      delete result.keysSeen;
      const cpuUsPerRequest = Math.round(
        ((server.cpuMs() - cpuBefore) * 1000) / Math.max(1, result.requests),
      );
      log(
        `  ${title} p50 ${result.latencyMs.p50} ms  p99 ${result.latencyMs.p99} ms  cpu ${cpuUsPerRequest} µs/req`,
      );
      return { result, cpuUsPerRequest };
    };
    for (const [target, server] of targets) {
      log(`fixed rate: ${FIXED_RATE} req/s over 50 connections, ${D.fixed} s, ${target}`);
      fixedRate[target] = await atFixedRate(target, server);
    }
    await stop(bare, nest, textbook, atrium);

    // ── the control: the Nest floor spinning Atrium's extra CPU per request at this rate, at the same rate ──
    const busyUs = Math.max(0, fixedRate.atrium.cpuUsPerRequest - fixedRate.nest.cpuUsPerRequest);
    const slowed = await ServerProcess.start(
      'nest-slowed',
      swc('test/load/servers/nest-server.ts'),
      { ...swcEnv, FLOOR_BUSY_US: String(busyUs) },
      { port: await freePort(), cwd: ROOT },
    );
    servers.push(slowed);
    log(
      `fixed rate: the Nest floor spinning ${busyUs} µs per request (Atrium's extra CPU per request at this rate), ${D.fixed} s`,
    );
    const fixedRateControl = { busyUs, ...(await atFixedRate(`nest + ${busyUs} µs busy`, slowed)) };
    await stop(slowed);

    // ── per-stage breakdown: Atrium with each stage switched on in turn (file source, L1 hits once cached) ──
    log('stages: starting Atrium with 0..6 stages on');
    // two at a time: boots are CPU-bound, and on a loaded 2-core machine seven at once can take minutes
    const steps: Array<{ stages: Stage[]; added: Stage | null; server: ServerProcess }> = [];
    for (let i = 0; i <= STAGES.length; i += 2) {
      const batch = await Promise.all(
        [i, i + 1]
          .filter((k) => k <= STAGES.length)
          .map(async (k) => {
            const stages = STAGES.slice(0, k);
            const server = await startAtrium(`atrium-stage${k}`, env, {
              stages: new Set(stages),
              source: 'file',
            });
            servers.push(server);
            return { stages: [...stages], added: k === 0 ? null : STAGES[k - 1], server };
          }),
      );
      steps.push(...batch);
    }
    for (const step of steps) if (step.stages.includes('cache')) await warmHotKeys(step.server);
    for (const step of steps)
      await runWrk({
        title: 'prime',
        url: step.server.url,
        connections: 50,
        durationS: D.prime,
        apiKey: API_KEY,
        keys: HOT_KEYS,
      });
    const stageRuns = steps.map(() => [] as StageStep['runs']);
    for (let round = 0; round < D.stageRounds; round++) {
      for (let j = 0; j < steps.length; j++) {
        // forwards in even rounds, backwards in odd ones
        const i = round % 2 === 0 ? j : steps.length - 1 - j;
        const { result, cpuUsPerRequest } = await measured(
          steps[i].server,
          `stage ${i} r${round + 1}`,
          D.stage,
        );
        stageRuns[i].push({ round, result, cpuUsPerRequest });
        log(
          `  round ${round + 1} step ${i} (+${steps[i].added ?? 'nothing'}) ${result.rps} req/s  p99 ${result.latencyMs.p99} ms  cpu ${cpuUsPerRequest} µs/req`,
        );
      }
    }
    const stageSteps: StageStep[] = steps.map((step, i) => {
      const rs = stageRuns[i];
      return {
        stages: step.stages,
        added: step.added,
        runs: rs,
        median: {
          rps: median(rs.map((r) => r.result.rps)),
          p50: median(rs.map((r) => r.result.latencyMs.p50)),
          p95: median(rs.map((r) => r.result.latencyMs.p95)),
          p99: median(rs.map((r) => r.result.latencyMs.p99)),
          cpuUs: median(rs.map((r) => r.cpuUsPerRequest)),
        },
        minCpuUs: Math.min(...rs.map((r) => r.cpuUsPerRequest)),
        deltaCpuUs: 0,
      };
    });
    stageSteps.forEach((s, i) => (s.deltaCpuUs = i === 0 ? 0 : s.minCpuUs - stageSteps[i - 1].minCpuUs));
    await stop(...steps.map((s) => s.server));

    // ── a CPU profile of the hot path (L1 hits) ──
    let profile: BenchReport['profile'];
    if (!args.has('--no-profile')) {
      const profDir = join(TMP, 'profile');
      rmSync(profDir, { recursive: true, force: true });
      const profiled = await startAtrium('atrium-profiled', env, {
        stages: ALL,
        source: 'upstream',
        nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '250'],
      });
      servers.push(profiled);
      await warmHotKeys(profiled);
      await runWrk({
        title: 'prime',
        url: profiled.url,
        connections: 50,
        durationS: D.prime,
        apiKey: API_KEY,
        keys: HOT_KEYS,
      });
      log(`profile: ${D.profile} s of hot-path load against a --cpu-prof instance`);
      const loadStart = performance.now();
      const result = await runWrk({
        title: 'profiled',
        url: profiled.url,
        connections: 50,
        durationS: D.profile,
        apiKey: API_KEY,
        keys: HOT_KEYS,
      });
      const loadEnd = performance.now();
      await stop(profiled);
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
    const round2 = (xs: number[]): number[] => xs.map((x) => Math.round(x * 100) / 100);
    const report: BenchReport = {
      generatedAt: new Date().toISOString(),
      command: `npm run bench${QUICK ? ' -- --quick' : ''}`,
      quick: QUICK,
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        loadAvgAtStart: round2(loadAvgAtStart),
        loadAvgAtEnd: round2(loadavg()),
        loadGenerator: wrkVersion(),
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
        fixedRate: FIXED_RATE,
        fixedSeconds: D.fixed,
        stageSeconds: D.stage,
        stageRounds: D.stageRounds,
        peakConnections: D.peakConnections,
      },
      zipf: {
        s: ZIPF_S,
        keys: BUILDING_COUNT,
        idealHitRatioTop1000: r3(zipf.headMass(1000)),
        baseline,
        warm,
        peak,
        distinctKeys,
        upstreamCalls,
        upstreamCallsPerKeyPerTtl: r3(upstreamCalls / Math.max(1, distinctKeys)),
        metricsCacheOps: ops,
        cacheOpResults: diff(l2After, l2Before),
        metricsHitRatio: Math.round(((ops.hit ?? 0) / Math.max(1, served)) * 10000) / 10000,
      },
      hot: {
        runs,
        median: { bare: med('bare'), nest: med('nest'), textbook: med('textbook'), atrium: med('atrium') },
        nestRatio: r3(median(nestRatioPerRound)),
        nestRatioPerRound,
        bareRatio: r3(median(bareRatioPerRound)),
        bareRatioPerRound,
        p99NestRatio: r3(median(p99NestRatioPerRound)),
        p99NestRatioPerRound,
        textbookRatio: r3(median(textbookRatioPerRound)),
        textbookRatioPerRound,
        p99TextbookRatio: r3(median(p99TextbookRatioPerRound)),
        p99TextbookRatioPerRound,
        atriumHitShare: r3(atriumHits / Math.max(1, atriumResponses)),
      },
      fixedRate,
      fixedRateControl,
      stages: stageSteps,
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
    rmSync(buildingFile, { force: true });
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
