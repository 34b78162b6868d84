// Latency summaries of the search benchmarks (search-benchmark.ts, search-scale-benchmark.ts, the relevance
// benchmark): nearest-rank percentiles of client and server milliseconds, rounded to 0.01 ms.

/** The nearest-rank percentile `p` (0–100) of ascending `sorted` (0 when empty). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Rounded to two decimals. */
export const r2 = (n: number): number => Math.round(n * 100) / 100;

export interface LatencySummary {
  requests: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
  /** What the responses reported (`tookMs`). */
  serverP50: number;
  serverP95: number;
}

/** Client-observed milliseconds (`samples`, any order) and the server's own (`server`), summarised. */
export function summariseLatency(samples: number[], server: number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const t = [...server].sort((a, b) => a - b);
  return {
    requests: s.length,
    p50: r2(percentile(s, 50)),
    p95: r2(percentile(s, 95)),
    p99: r2(percentile(s, 99)),
    mean: r2(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)),
    max: r2(s[s.length - 1] ?? 0),
    serverP50: r2(percentile(t, 50)),
    serverP95: r2(percentile(t, 95)),
  };
}
