import type { Fault } from '@app/errors';
import type { HealthStats } from './sliding-window';

export interface HealthScore {
  score: number;
  status: 'healthy' | 'degraded' | 'unhealthy';
  windowMs: number;
  factors: {
    requests: number;
    errorRate: number;
    p95Ms: number;
    p99Ms: number;
    errorPenalty: number;
    latencyPenalty: number;
    tailPenalty: number;
    /** Requests that fetched a caller's URL, and answers a caller's URL failed (fault `target`): shown, not scored. */
    callerOrigins: { requests: number; failures: number };
    /** Error answers (4xx/5xx) by whose fault they were; only `atrium` and `dependency` 5xx are scored. */
    faults: Record<Fault, number>;
  };
}

/**
 * Health score 0–100 over the sliding window, from Atrium's own failures (documented in the README):
 *  - error penalty: 1000 × rate of 5xx whose fault is `atrium` or `dependency`, at most 60 (1 % costs 10
 *    points; 6 % costs 60) — a caller's request (`client`) or URL (`target`) failing costs nothing
 *  - latency penalty: (p95 − 250 ms) / 50, at most 30 (0 at or below 250 ms; 1.75 s costs 30)
 *  - tail penalty: (p99 − 1000 ms) / 200, at most 10
 * Latency is that of requests that did not fetch a caller's URL; what a caller's origin does (its
 * 4xx/5xx, refusals, timeouts, slow pages) is reported in `callerOrigins` and costs nothing.
 * status: healthy ≥ 90, degraded ≥ 70, unhealthy below. No traffic in the window scores 100.
 */
export function healthScore(stats: HealthStats, windowMs: number): HealthScore {
  const clamp = (v: number, max: number): number => Math.max(0, Math.min(max, v));
  const errorPenalty = clamp(1000 * stats.errorRate, 60);
  const latencyPenalty = clamp((stats.p95Ms - 250) / 50, 30);
  const tailPenalty = clamp((stats.p99Ms - 1000) / 200, 10);
  const score = stats.count === 0 ? 100 : Math.round(100 - errorPenalty - latencyPenalty - tailPenalty);
  const status = score >= 90 ? 'healthy' : score >= 70 ? 'degraded' : 'unhealthy';
  const r1 = (v: number): number => Math.round(v * 10) / 10;
  return {
    score,
    status,
    windowMs,
    factors: {
      requests: stats.count,
      errorRate: stats.errorRate,
      p95Ms: stats.p95Ms,
      p99Ms: stats.p99Ms,
      errorPenalty: r1(errorPenalty),
      latencyPenalty: r1(latencyPenalty),
      tailPenalty: r1(tailPenalty),
      callerOrigins: stats.callerOrigin,
      faults: stats.faults,
    },
  };
}
