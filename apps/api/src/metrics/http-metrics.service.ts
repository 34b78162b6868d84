import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { AppConfig } from '@app/config';
import { errorFamily, Fault } from '@app/errors';
import { counterProvider, gaugeProvider, histogramProvider } from './metric-providers';
import { Attribution, SlidingWindow } from './sliding-window';

export const UNMATCHED_ROUTE = 'unmatched';

type RouteLabels = 'method' | 'route' | 'status_code';

interface RouteEntry {
  requests: Counter.Internal;
  duration: Histogram.Internal<RouteLabels>;
  windowKey: string;
}

const MAX_ROUTE_ENTRIES = 1000;

/** The HTTP metrics of observability.md, as providers (MetricsModule declares them). */
export const HTTP_METRICS = [
  counterProvider({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'],
  }),
  histogramProvider({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration (until the response finished) by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
  gaugeProvider({ name: 'http_requests_in_flight', help: 'HTTP requests being served' }),
  counterProvider({
    name: 'errors_total',
    help: 'Error responses by error family, route template and whose fault (atrium, dependency, target, client)',
    labelNames: ['type', 'route', 'fault'],
  }),
  counterProvider({
    name: 'rate_limit_exceeded_total',
    help: 'Requests refused by a rate limit, by route template',
    labelNames: ['route'],
  }),
];

/** Records the HTTP metrics once per request, when the response has finished. */
@Injectable()
export class HttpMetricsService {
  readonly window: SlidingWindow;
  private inFlightCount = 0;
  private readonly routes = new Map<string, Map<string, Map<number, RouteEntry>>>();

  constructor(
    readonly config: AppConfig,
    @InjectMetric('http_requests_total') private readonly requests: Counter<RouteLabels>,
    @InjectMetric('http_request_duration_seconds') private readonly duration: Histogram<RouteLabels>,
    @InjectMetric('http_requests_in_flight') private readonly inFlight: Gauge,
    @InjectMetric('errors_total') private readonly errors: Counter<'type' | 'route' | 'fault'>,
    @InjectMetric('rate_limit_exceeded_total') private readonly rateLimited: Counter<'route'>,
  ) {
    this.window = new SlidingWindow(config.metrics.windowMs);
  }
  /** METRICS_ENABLED */
  get enabled(): boolean {
    return this.config.metrics.enabled;
  }

  get inFlightRequests(): number {
    return this.inFlightCount;
  }

  started(): void {
    this.inFlightCount++;
    if (this.config.metrics.enabled) this.inFlight.inc();
  }

  /** `by.fault` is whose fault an error answer (status ≥ 400) is; the caller always gives it for one. */
  finished(
    method: string,
    route: string,
    status: number,
    durationMs: number,
    errorCode?: string,
    by?: Attribution,
  ): void {
    this.inFlightCount--;
    if (!this.config.metrics.enabled) return;
    this.inFlight.dec();
    const entry = this.routeEntry(method, route, status);
    entry.requests.inc();
    entry.duration.observe(durationMs / 1000);
    if (status >= 400) {
      const fault: Fault = by?.fault ?? (status >= 500 ? 'atrium' : 'client');
      this.errors.inc({ type: errorFamily(status, errorCode ?? ''), route, fault });
      if (status === 429) this.rateLimited.inc({ route });
    }
    this.window.record(entry.windowKey, durationMs, status >= 500, by);
  }

  /**
   * The series (prom-client's `labels()` children, resolved once: no label object per request) and the
   * sliding-window key of (route, method, status): route templates, methods and statuses are few (an
   * unmatched URL is the one `unmatched` route). Bounded all the same.
   */
  private routeEntry(method: string, route: string, status: number): RouteEntry {
    let byMethod = this.routes.get(route);
    if (!byMethod) {
      if (this.routes.size >= MAX_ROUTE_ENTRIES) this.routes.clear();
      this.routes.set(route, (byMethod = new Map<string, Map<number, RouteEntry>>()));
    }
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map<number, RouteEntry>()));
    let entry = byStatus.get(status);
    if (!entry) {
      const labels = { method, route, status_code: status };
      entry = {
        requests: this.requests.labels(labels),
        duration: this.duration.labels(labels),
        windowKey: `${method} ${route}`,
      };
      byStatus.set(status, entry);
    }
    return entry;
  }
}
