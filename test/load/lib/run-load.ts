import autocannon from 'autocannon';

export interface LoadOptions {
  title: string;
  /** Base URL of the server under test. */
  url: string;
  connections: number;
  durationS: number;
  /** The path of the i-th request (key choice lives here: Zipf, round-robin…). Returns [path, keyIndex]. */
  nextRequest: () => [string, number];
  headers?: Record<string, string>;
  /** Open-loop-ish fixed rate for all connections together (autocannon corrects coordinated omission). */
  overallRate?: number;
  /** Size of the key space, for counting distinct keys requested. */
  keySpace?: number;
}

export interface LatencySummary {
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface LoadResult {
  title: string;
  connections: number;
  overallRate?: number;
  durationS: number;
  requests: number;
  rps: number;
  /** ms; every completed response, whatever its status (autocannon's own histogram keeps 2xx only). */
  latencyMs: LatencySummary;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** (errors + timeouts + non-2xx) / (responses + errors + timeouts) */
  errorRate: number;
  status: Record<string, number>;
  xCache: Record<string, number>;
  /** HIT / responses that carried X-Cache (STALE counts as served from cache but not as a fresh hit). */
  hitRatio: number | null;
  distinctKeys: number;
  /** Indexes of the keys requested (for upstream-calls-per-key across several runs). */
  keysSeen?: Uint8Array;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * One autocannon run. Latencies are recorded from autocannon's per-response event in full float
 * precision (its histogram rounds to whole ms and keeps 2xx only), so p95 exists and sub-ms
 * differences show. X-Cache values and distinct keys are counted per response/request.
 */
export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const xCache: Record<string, number> = {};
  const keysSeen = new Uint8Array(opts.keySpace ?? 1);
  let distinct = 0;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const instance = autocannon(
      {
        url: opts.url,
        connections: opts.connections,
        duration: opts.durationS,
        overallRate: opts.overallRate,
        headers: opts.headers,
        timeout: 10,
        requests: [
          {
            method: 'GET',
            setupRequest: (req) => {
              const [path, key] = opts.nextRequest();
              if (key < keysSeen.length && keysSeen[key] === 0) {
                keysSeen[key] = 1;
                distinct++;
              }
              return { ...req, path };
            },
            onResponse: (_status, _body, _context, headers) => {
              const value = headers?.['x-cache'];
              const key = typeof value === 'string' ? value : 'none';
              xCache[key] = (xCache[key] ?? 0) + 1;
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
        const sorted = Float64Array.from(latencies).sort();
        const responses = latencies.length;
        const status: Record<string, number> = {};
        for (const [code, stat] of Object.entries(result.statusCodeStats ?? {}))
          status[code] = stat?.count ?? 0;
        const failed = result.errors + result.timeouts + result.non2xx;
        const cached = (xCache.HIT ?? 0) + (xCache.MISS ?? 0) + (xCache.STALE ?? 0) + (xCache.BYPASS ?? 0);
        resolve({
          title: opts.title,
          connections: opts.connections,
          overallRate: opts.overallRate,
          durationS: round(elapsedS, 2),
          requests: responses,
          rps: round(responses / result.duration, 0),
          latencyMs: {
            mean: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, responses), 3),
            p50: round(percentile(sorted, 50), 3),
            p95: round(percentile(sorted, 95), 3),
            p99: round(percentile(sorted, 99), 3),
            max: round(sorted.length ? sorted[sorted.length - 1] : 0, 3),
          },
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          errorRate: round(failed / Math.max(1, responses + result.errors + result.timeouts), 5),
          status,
          xCache,
          hitRatio: cached > 0 ? round((xCache.HIT ?? 0) / cached, 4) : null,
          distinctKeys: distinct,
          keysSeen,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => {
      latencies.push(responseTime);
    });
  });
}
