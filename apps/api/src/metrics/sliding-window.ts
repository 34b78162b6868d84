import { FAULTS, Fault, isOwnFault } from '@app/errors';

/** Latency samples of one route kept for the sliding window, oldest first. */
interface RouteSamples {
  times: Float64Array; // epoch ms
  durations: Float64Array; // ms
  flags: Uint8Array; // SERVER_ERROR | CALLER_ORIGIN | (fault index + 1) << FAULT_SHIFT
  start: number;
  size: number;
}

const SERVER_ERROR = 1;
const CALLER_ORIGIN = 2;
const FAULT_SHIFT = 2;

/**
 * Who a request's outcome belongs to. `callerOrigin`: the request fetched a URL the caller gave (the
 * downloader), so its duration is the origin's and not ours; `fault`: whose fault an error answer is
 * (a 5xx without one is Atrium's).
 */
export interface Attribution {
  callerOrigin?: boolean;
  fault?: Fault;
}

/** What the health score is computed from: Atrium's own errors and latency, callers' origins apart. */
export interface HealthStats {
  /** Every request in the window. */
  count: number;
  /** 5xx answers whose fault is Atrium's or a dependency's (a caller's origin failing, passed on as 502/504, is not). */
  errors: number;
  errorRate: number;
  /** Latency quantiles of requests that did not fetch a caller's URL. */
  latencySamples: number;
  p95Ms: number;
  p99Ms: number;
  /** Requests that fetched a caller's URL, and error answers caused by a caller's URL (fault `target`). */
  callerOrigin: { requests: number; failures: number };
  /** Error answers (4xx/5xx) in the window by whose fault they were. */
  faults: Record<Fault, number>;
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

  /** @param isError a 5xx answer (per-route error rates count every one of them) */
  record(route: string, durationMs: number, isError: boolean, by: Attribution = {}): void {
    let r = this.routes.get(route);
    if (!r) {
      r = {
        times: new Float64Array(this.capacity),
        durations: new Float64Array(this.capacity),
        flags: new Uint8Array(this.capacity),
        start: 0,
        size: 0,
      };
      this.routes.set(route, r);
    }
    const i = (r.start + r.size) % this.capacity;
    r.times[i] = this.now();
    r.durations[i] = durationMs;
    r.flags[i] =
      (isError ? SERVER_ERROR : 0) |
      (by.callerOrigin ? CALLER_ORIGIN : 0) |
      (by.fault ? (FAULTS.indexOf(by.fault) + 1) << FAULT_SHIFT : 0);
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
      errors += r.flags[i] & SERVER_ERROR;
    }
    return { durations, errors };
  }

  /** The window seen from Atrium's side (see HealthStats). */
  health(): HealthStats {
    const since = this.now() - this.windowMs;
    const ours: number[] = [];
    let count = 0;
    let errors = 0;
    let originRequests = 0;
    const faults: Record<Fault, number> = { atrium: 0, dependency: 0, target: 0, client: 0 };
    for (const r of this.routes.values())
      for (let n = 0; n < r.size; n++) {
        const i = (r.start + n) % this.capacity;
        if (r.times[i] < since) continue;
        const f = r.flags[i];
        const fault = FAULTS[(f >> FAULT_SHIFT) - 1] as Fault | undefined;
        count++;
        if (fault) faults[fault]++;
        // a 5xx is Atrium's unless its fault says otherwise (even on a downloader route: PDF_UNAVAILABLE)
        if (f & SERVER_ERROR && (fault === undefined || isOwnFault(fault))) errors++;
        if (f & CALLER_ORIGIN) originRequests++;
        else ours.push(r.durations[i]);
      }
    const sorted = ours.sort((a, b) => a - b);
    const round = (v: number): number => Math.round(v * 100) / 100;
    return {
      count,
      errors,
      errorRate: count ? round(errors / count) : 0,
      latencySamples: sorted.length,
      p95Ms: round(quantile(sorted, 0.95)),
      p99Ms: round(quantile(sorted, 0.99)),
      callerOrigin: { requests: originRequests, failures: faults.target },
      faults,
    };
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
