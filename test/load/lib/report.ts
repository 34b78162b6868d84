import type { BenchReport } from '../building-benchmark';
import type { LoadResult } from './run-load';

const pct = (x: number | null, digits = 1): string => (x === null ? '–' : `${(x * 100).toFixed(digits)} %`);
const num = (x: number): string => Math.round(x).toLocaleString('en-US');
const ms = (x: number): string => (x < 100 ? x.toFixed(2) : x.toFixed(1));
const verdict = (ok: boolean): string => (ok ? '**met**' : '**missed**');

function loadRow(r: LoadResult): string {
  const cache = Object.entries(r.xCache)
    .map(([k, v]) => `${k} ${num(v)}`)
    .join(', ');
  return (
    `| ${r.title} | ${r.connections}${r.overallRate ? ` @ ${num(r.overallRate)}/s` : ''} | ${num(r.requests)} | ` +
    `${num(r.rps)} | ${ms(r.latencyMs.p50)} | ${ms(r.latencyMs.p95)} | ${ms(r.latencyMs.p99)} | ${ms(r.latencyMs.max)} | ` +
    `${pct(r.errorRate, 2)} | ${pct(r.hitRatio)} | ${cache} |`
  );
}

const LOAD_HEADER =
  '| run | connections | responses | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | hit ratio | X-Cache |\n' +
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|';

/**
 * The report, written from the numbers of one run. The explanations of missed targets are conditional
 * on those numbers; the paragraphs that describe what was tried are part of the benchmark's history.
 */
export function renderMarkdown(r: BenchReport): string {
  const h = r.hot;
  const z = r.zipf;
  const zipfAll = [z.baseline, z.warm, z.peak];
  const zipfHits = zipfAll.reduce((a, x) => a + (x.xCache.HIT ?? 0), 0);
  const zipfCached = zipfAll.reduce(
    (a, x) => a + (x.xCache.HIT ?? 0) + (x.xCache.MISS ?? 0) + (x.xCache.STALE ?? 0),
    0,
  );
  const zipfHitRatio = zipfHits / Math.max(1, zipfCached);
  const worstZipfP95 = Math.max(z.warm.latencyMs.p95, z.peak.latencyMs.p95);
  const warmRps = Math.min(z.warm.rps, z.peak.rps);

  const targets: Array<[string, string, string, boolean]> = [
    [
      'Throughput, fraction of bare node:http (cached lookup, 50 conn.)',
      '≥ 0.5',
      `${h.ceilingRatio.toFixed(2)} (per round: ${h.ceilingRatioPerRound.join(', ')})`,
      h.ceilingRatio >= 0.5,
    ],
    [
      'p99 latency at 50 connections, cached lookup, saturating load',
      '≤ 10 ms',
      `${ms(h.median.atrium.p99)} ms (median of ${r.setup.rounds} rounds)`,
      h.median.atrium.p99 <= 10,
    ],
    [
      'p99 latency at 50 connections, cached lookup, 1,000 req/s',
      '≤ 10 ms',
      `${ms(r.fixedRate.latencyMs.p99)} ms (bare node:http at the same rate: ${ms(r.fixedRateBare.latencyMs.p99)} ms)`,
      r.fixedRate.latencyMs.p99 <= 10,
    ],
    [
      'Observability overhead: throughput lost to metrics + access log',
      '≤ 20 %',
      `${h.observabilityOverheadPct.toFixed(1)} % (median of per-round ratios: ${h.observabilityOverheadPerRound.map((x) => x.toFixed(1)).join(', ')})`,
      h.observabilityOverheadPct <= 20,
    ],
    [
      'Observability overhead: CPU per request added by metrics + access log',
      '≤ 20 %',
      `+${h.cpuOverheadPct.toFixed(1)} % (${num(h.median.atrium.cpuUs)} vs ${num(h.median.atriumNoObs.cpuUs)} µs)`,
      h.cpuOverheadPct <= 20,
    ],
    [
      `Cache hit ratio, Zipf (s = ${z.s}) over ${num(z.keys)} buildings, from a cold cache`,
      '> 75 % (published)',
      `${pct(zipfHitRatio)} (baseline ${pct(z.baseline.hitRatio)}, warm ${pct(z.warm.hitRatio)}, peak ${pct(z.peak.hitRatio)}; /metrics says ${pct(z.metricsHitRatio)})`,
      zipfHitRatio > 0.75,
    ],
    [
      'Upstream calls per key per TTL, one instance',
      '≤ 1.05',
      `${z.upstreamCallsPerKeyPerTtl.toFixed(3)} (${num(z.upstreamCalls)} calls / ${num(z.distinctKeys)} distinct keys)`,
      z.upstreamCallsPerKeyPerTtl <= 1.05,
    ],
    [
      'p95 latency, Zipf workload, warm cache (50 and peak connections)',
      '< 100 ms (published)',
      `${ms(z.warm.latencyMs.p95)} ms / ${ms(z.peak.latencyMs.p95)} ms`,
      worstZipfP95 < 100,
    ],
    [
      'Throughput, Zipf workload, warm cache',
      '> 1,000 req/s (published)',
      `${num(z.warm.rps)} / ${num(z.peak.rps)} req/s`,
      warmRps > 1000,
    ],
  ];

  const out: string[] = [];
  out.push('# Building directory benchmark');
  out.push('');
  out.push(
    `Generated ${r.generatedAt} by \`${r.command}\` in ${r.durationS} s on ${r.machine.cpus} × ${r.machine.cpuModel}, ` +
      `${r.machine.memoryGb} GB, Node ${r.machine.node} (load average at start: ${r.machine.loadAvgAtStart.join(' / ')}).` +
      (r.quick ? ' **Quick mode: short runs, one round — not the reference numbers.**' : ''),
  );
  out.push('');
  out.push('## Targets');
  out.push('');
  out.push('| measure | target | measured | |');
  out.push('|---|---|---|---|');
  for (const [what, target, measured, ok] of targets)
    out.push(`| ${what} | ${target} | ${measured} | ${verdict(ok)} |`);
  out.push('');

  out.push('## How it was measured');
  out.push('');
  out.push(
    [
      '- Everything in one invocation on one machine: the numbers that matter are **ratios between servers measured minutes apart in the same run**, not absolute values (other engineers run test suites on the same 2 cores).',
      '- Servers under test each run in their own process, started from the compiled app (`tsc` into `test/load/.tmp/dist`, what `npm run build` ships); the load generator (autocannon, in the bench process) and the fixture upstream share the bench process. On 2 cores the load generator competes with the server for CPU, which caps every server the same way — the ceiling is *this machine with this load generator*.',
      `- Atrium runs as in production: \`NODE_ENV=production\`, API keys on (every request passes the auth guard), Redis L2 and rate-limit counters in a private \`redis-server\`, JSON access log to a file, Prometheus metrics on. The rate limit is set high enough never to refuse, but still counts every request in Redis (one round trip per request).`,
      `- Upstream: the fixture User Service (a real HTTP server) with ${r.setup.upstreamLatencyMs} ms latency and ${num(Number(r.setup.buildings))} buildings.`,
      `- Hot path (cached lookup): ${num(Number(r.setup.hotKeys))} buildings loaded into each app's L1 first, requested round-robin over 50 keep-alive connections for ${r.setup.hotSeconds} s per run; bare node:http, Atrium and Atrium without instrumentation (\`METRICS_ENABLED=false ACCESS_LOG_ENABLED=false\`) interleaved, ${r.setup.rounds} rounds with the order rotated each round, medians reported. Each run is preceded by a short unrecorded warm-up.`,
      `- Zipf workload: keys drawn with P(rank k) ∝ 1/k^${z.s} over ${num(z.keys)} buildings (fixed seed; the 1,000 most popular keys carry ${pct(z.idealHitRatioTop1000)} of requests), starting from an empty L1 and L2: baseline (cold, 50 connections), warm (the same sequence continued, 50 connections), peak (${r.setup.peakConnections} connections), ${r.setup.zipfSeconds} s each, all within one cache TTL (${Number(r.setup.buildingCacheTtlMs) / 1000} s). Upstream calls per key per TTL = the fixture's request counter / distinct keys requested.`,
      '- Latency is measured by the load generator per response (full precision, every status), so it includes the client side of loopback; error rate = (connection errors + timeouts + non-2xx) / requests. Hit ratio = `X-Cache: HIT` / responses with X-Cache; cross-checked against `building_cache_operations_total` from `/metrics`.',
      "- CPU per request is the server process's user+system CPU (from `/proc/<pid>/stat`) divided by responses: less sensitive to a busy neighbour than req/s.",
    ].join('\n'),
  );
  out.push('');

  out.push('## Cached lookup vs the ceiling');
  out.push('');
  out.push('| server | req/s (median) | p50 ms | p95 ms | p99 ms | CPU µs / request |');
  out.push('|---|---:|---:|---:|---:|---:|');
  const names: Record<string, string> = {
    bare: 'bare node:http (ceiling)',
    atrium: 'Atrium (metrics + access log)',
    atriumNoObs: 'Atrium, instrumentation off',
  };
  for (const [k, m] of Object.entries(h.median))
    out.push(
      `| ${names[k]} | ${num(m.rps)} | ${ms(m.p50)} | ${ms(m.p95)} | ${ms(m.p99)} | ${num(m.cpuUs)} |`,
    );
  out.push('');
  out.push('Every run:');
  out.push('');
  out.push(LOAD_HEADER.replace('| run |', '| run |'));
  for (const run of h.runs) out.push(loadRow(run.result));
  out.push('');
  out.push(
    `At 1,000 req/s (autocannon \`overallRate\`: each of the 50 connections sends 20 requests per second):`,
  );
  out.push('');
  out.push(LOAD_HEADER);
  out.push(loadRow(r.fixedRateBare));
  out.push(loadRow(r.fixedRate));
  out.push('');

  out.push('## Zipf workload (baseline, warm, peak)');
  out.push('');
  out.push(LOAD_HEADER);
  for (const x of zipfAll) out.push(loadRow(x));
  out.push('');
  out.push(
    `Distinct keys requested: ${num(z.distinctKeys)}; upstream calls: ${num(z.upstreamCalls)} → **${z.upstreamCallsPerKeyPerTtl.toFixed(3)} calls per key per TTL**. ` +
      `\`building_cache_operations_total\` over the three runs: ${Object.entries(z.metricsCacheOps)
        .map(([k, v]) => `${k} ${num(v)}`)
        .join(', ')}. ` +
      `\`cache_operations_total\` by result (L1 + L2, every operation): ${Object.entries(z.cacheOpResults)
        .map(([k, v]) => `${k} ${num(v)}`)
        .join(', ')}.`,
  );
  out.push('');

  if (r.profile) {
    const p = r.profile;
    out.push('## Profile of the hot path (L1 hit)');
    out.push('');
    out.push(
      `\`node --cpu-prof --cpu-prof-interval 250\` on an instrumented Atrium under ${p.seconds} s of the hot-path load (${num(p.loadRps)} req/s; ` +
        `only samples from the load window count: ${num(p.busyMs)} ms busy of ${num(p.totalMs)} ms). Self time by owner:`,
    );
    out.push('');
    out.push('| owner | self ms | share of busy |');
    out.push('|---|---:|---:|');
    for (const o of p.byOwner.slice(0, 20))
      out.push(`| ${o.owner} | ${num(o.selfMs)} | ${o.selfPct.toFixed(1)} % |`);
    out.push('');
    out.push('Top self-time frames:');
    out.push('');
    out.push('| frame | where | self ms | share |');
    out.push('|---|---|---:|---:|');
    for (const f of p.topFrames.slice(0, 25))
      out.push(`| \`${f.frame}\` | ${f.where || '–'} | ${num(f.selfMs)} | ${f.selfPct.toFixed(1)} % |`);
    out.push('');
  }

  out.push('## Findings');
  out.push('');
  out.push(...findings(r, zipfHitRatio));
  out.push('');
  return `${out.join('\n')}\n`;
}

function findings(r: BenchReport, zipfHitRatio: number): string[] {
  const h = r.hot;
  const z = r.zipf;
  const lines: string[] = [];
  const atrium = h.median.atrium;
  // Little's law: with 50 connections always busy, mean latency = 50 / throughput
  const littleMs = (50 / Math.max(1, atrium.rps)) * 1000;
  if (atrium.p99 > 10)
    lines.push(
      `- **p99 at 50 saturating connections (${ms(atrium.p99)} ms) misses 10 ms.** A closed-loop load generator keeps all 50 connections busy, so by Little's law the mean latency is 50 / throughput = ${ms(littleMs)} ms at ${num(atrium.rps)} req/s; ` +
        `the tail is that queue plus GC pauses and the neighbours' processes on 2 cores. Meeting 10 ms at p99 this way needs roughly 3× the measured throughput. ` +
        `The published load level is below.`,
    );
  if (r.fixedRate.latencyMs.p99 > 10)
    lines.push(
      `- **p99 at 1,000 req/s over 50 connections (${ms(r.fixedRate.latencyMs.p99)} ms) misses 10 ms**; bare node:http at the same rate: ${ms(r.fixedRateBare.latencyMs.p99)} ms` +
        (r.fixedRateBare.latencyMs.p99 > 10
          ? ': when the ceiling itself misses, the tail is the machine (run-queue delay under the load average above), not the app.'
          : '. autocannon starts the 50 per-connection rate timers together, so requests arrive in bursts of up to 50 every 50 ms, and a burst takes 50 × the per-request CPU to drain on one event loop (with the load generator on the same cores): the tail at this rate tracks CPU per request, the same gap the ceiling ratio shows. Lowering CPU per request is the lever; see what was tried.'),
    );
  else
    lines.push(
      `- At the published load level (1,000 req/s over 50 connections) p99 is ${ms(r.fixedRate.latencyMs.p99)} ms.`,
    );
  lines.push(
    `- ${h.ceilingRatio < 0.5 ? '**' : ''}Throughput is ${h.ceilingRatio.toFixed(2)} of bare node:http${h.ceilingRatio < 0.5 ? ' (target 0.5).**' : '.'} ` +
      `Per request Atrium spends ${num(atrium.cpuUs)} µs of CPU against the ceiling's ${num(h.median.bare.cpuUs)} µs. The ceiling does one Map lookup and one JSON.stringify; ` +
      `Atrium's cached lookup also runs the Nest pipeline (auth guard, rate-limit guard with a Redis round trip, the route parameter pipe, interceptors, the exception zone), ` +
      `the request context, the cache's own metrics, the HTTP metrics and the access log — see the profile. The load generator shares the 2 cores and costs the same per request for every server, which flatters the ratio a little at high rates and hurts it at none.`,
  );
  lines.push(
    `- Observability (HTTP metrics, sliding window, access log) costs ${h.observabilityOverheadPct.toFixed(1)} % of throughput (median of the per-round ratios; single rounds swing by tens of percent on a shared machine) and +${h.cpuOverheadPct.toFixed(1)} % CPU per request (${num(atrium.cpuUs)} vs ${num(h.median.atriumNoObs.cpuUs)} µs), the steadier measure.` +
      (h.cpuOverheadPct > 20
        ? ' **The CPU figure misses 20 %.** What remains per request is pino building and writing the access line (JSON serialisation, ISO timestamp, the write to stdout) and the prom-client histogram; the redaction fix below took the same measure from +38 % to +20 % in an A/B run, and full runs after it measured between +0 % and +39 % — per-request differences of ~20 µs are at the edge of what this shared machine resolves. Log writes are now batched (sonic-boom `minLength` 4 KiB with a 250 ms flush timer, see below); a next step would be an epoch `time` instead of the ISO string.'
        : ''),
  );
  lines.push(
    `- Under Zipf from a cold cache the hit ratio is ${pct(zipfHitRatio)}: the head of the distribution is cached after its first request; what misses is the first request of each tail key, each costing one ${r.setup.upstreamLatencyMs} ms upstream call (hence the baseline's p95). ` +
      `Single flight keeps upstream calls at ${z.upstreamCallsPerKeyPerTtl.toFixed(3)} per key per TTL even with ${r.setup.peakConnections} connections on the same keys. ` +
      `L2 operations that exceeded CACHE_OP_TIMEOUT_MS under this CPU pressure (${num(z.cacheOpResults.timeout ?? 0)}) were answered from the upstream, never as errors.`,
  );
  lines.push('');
  lines.push('## What was tried (and what it gave)');
  lines.push('');
  lines.push(
    [
      "- **Access log redaction (fixed).** The first profile had `@pinojs/redact` at 5.5 % of busy time: every access line was walked by pino's 18 redact paths (10 wildcards), although it is built only from safe values (route template, `redactUrl`'d URL, ids, status). `http-pipeline.ts` now writes it through a child logger with no redact paths; every other line is still redacted. Measured with this harness (5 interleaved rounds, same run): CPU per request 95 → 83 µs, median req/s 6,920 → 8,481, and the observability CPU overhead +38 % → +20 %; one access line alone: 20–25 µs → 5.5–6 µs.",
      '- **Buffered log writes (adopted).** The root logger writes stdout through sonic-boom with `minLength: 4096` and a 250 ms flush timer (flushed at exit too): one `write` per ~30 access lines instead of one per line. In full runs the observability CPU overhead measured +38.6 % before and +28.8 % after; both are within the run-to-run spread on this shared machine, so the gain is not proven by these numbers, but it removes a syscall per request.',
      "- **Rate-limit round trip to Redis.** Every request runs one `EVALSHA` on the limiter's ioredis client. A build with `enableAutoPipelining: true` on that client (commands of one tick in one write): CPU per request 102 vs 104 µs, within noise — not adopted.",
      "- **Rate limits counted in memory** (no `REDIS_URL`, or the fallback while Redis is down): @nestjs/throttler's in-memory storage filters the list of every hit in the window on each request, O(hits per window). With this benchmark's limit of 10⁹ per minute it fell to ~1,500 req/s at ~600 µs CPU per request, slower as the window filled. Harmless at the default 1,200/min per key; a service-to-service key with a high limit would hit it exactly when Redis is down. Reported, not changed here (rate-limit module).",
      "- **The largest frame, `writeUtf8String`** (socket writes: the HTTP response and the limiter's Redis command) is inflated on a shared 2-core VM: a write that wakes another process is often preempted inside the syscall and the sampler charges that wall time to the frame. CPU per request from `/proc` is the fairer measure and did not move when those writes were batched.",
      "- **Path-parameter validation and guard metadata (adopted).** The building routes check `:buildingId` with a regex pipe instead of the global ValidationPipe on a class-validated DTO (class-transformer + class-validator + reflect-metadata were ≈ 5 % of the hot path); the auth and rate-limit guards read their route metadata once per handler (a WeakMap), and the rate-limit guard no longer runs ThrottlerGuard's per-request scan of @Throttle/@SkipThrottle metadata that Atrium does not use (counting, headers and 429 are still ThrottlerGuard's). Full runs before/after: CPU per request 85 → 75 µs instrumented and 66 → 52 µs uninstrumented; ceiling ratio 0.26 → 0.31.",
      "- **Left as they are:** the auth guard hashes the presented key with SHA-256 on every request (`Hash` + `digest` ≈ 2 %): a map from presented key to principal would skip it, but the lookup would no longer be constant-time, which the contract requires; prom-client label hashing per observation (measured < 1 µs). The rest of the gap to bare node:http is Nest's own routing/guard/interceptor pipeline, the Redis round trip of the shared rate-limit counter, and the cache's own metrics — the price of the framework and of limits that hold across replicas.",
    ].join('\n'),
  );
  return lines;
}
