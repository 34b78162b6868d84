/** Latency samples of one route kept for the sliding window, oldest first. */
interface RouteSamples {
  times: Float64Array; // epoch ms
  durations: Float64Array; // ms
  errors: Uint8Array;
  start: number;
  size: number;
}

export interface WindowStats {
  count: number;
  errors: number;
  errorRate: number;
  avgMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
}

/**
 * Per-route ring buffers of recent requests, so /metrics/performance and /metrics/health-score describe
 * the last `windowMs` rather than everything since start. Memory is bounded: `capacity` samples per
 * route and routes are templates (bounded). At very high rates the window holds the newest `capacity`
 * requests of a route, which is still a faithful sample of the recent past.
 */
export class SlidingWindow {
  private readonly routes = new Map<string, RouteSamples>();

  constructor(
    readonly windowMs: number,
    private readonly capacity = 4096,
    private readonly now: () => number = Date.now,
  ) {}

  record(route: string, durationMs: number, isError: boolean): void {
    let r = this.routes.get(route);
    if (!r) {
      r = {
        times: new Float64Array(this.capacity),
        durations: new Float64Array(this.capacity),
        errors: new Uint8Array(this.capacity),
        start: 0,
        size: 0,
      };
      this.routes.set(route, r);
    }
    const i = (r.start + r.size) % this.capacity;
    r.times[i] = this.now();
    r.durations[i] = durationMs;
    r.errors[i] = isError ? 1 : 0;
    if (r.size < this.capacity) r.size++;
    else r.start = (r.start + 1) % this.capacity;
  }

  private samples(r: RouteSamples, since: number): { durations: number[]; errors: number } {
    const durations: number[] = [];
    let errors = 0;
    for (let n = 0; n < r.size; n++) {
      const i = (r.start + n) % this.capacity;
      if (r.times[i] < since) continue;
      durations.push(r.durations[i]);
      errors += r.errors[i];
    }
    return { durations, errors };
  }

  private stats(durations: number[], errors: number): WindowStats {
    const sorted = durations.sort((a, b) => a - b);
    const count = sorted.length;
    const sum = sorted.reduce((a, b) => a + b, 0);
    const round = (v: number): number => Math.round(v * 100) / 100;
    return {
      count,
      errors,
      errorRate: count ? round(errors / count) : 0,
      avgMs: count ? round(sum / count) : 0,
      p50Ms: round(quantile(sorted, 0.5)),
      p95Ms: round(quantile(sorted, 0.95)),
      p99Ms: round(quantile(sorted, 0.99)),
    };
  }

  snapshot(): { overall: WindowStats; routes: Record<string, WindowStats> } {
    const since = this.now() - this.windowMs;
    const all: number[] = [];
    let allErrors = 0;
    const routes: Record<string, WindowStats> = {};
    for (const [route, r] of this.routes) {
      const { durations, errors } = this.samples(r, since);
      if (!durations.length) continue;
      all.push(...durations);
      allErrors += errors;
      routes[route] = this.stats(durations, errors);
    }
    return { overall: this.stats(all, allErrors), routes };
  }
}
