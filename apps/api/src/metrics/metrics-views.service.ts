import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { CacheBackend } from '@libs/cache';
import { HttpMetricsService } from './http-metrics.service';
import { healthScore, HealthScore } from './health-score';
import { LiveStatsRegistry } from './live-stats.registry';
import { gaugeProvider } from './metric-providers';
import { SystemMetrics } from './system-metrics';

@Injectable()
export class MetricsViewsService {
  constructor(
    private readonly http: HttpMetricsService,
    private readonly live_: LiveStatsRegistry,
    private readonly system: SystemMetrics,
    private readonly adapterHost: HttpAdapterHost,
    private readonly cacheBackend: CacheBackend,
  ) {}

  performance(): unknown {
    const { overall, routes } = this.http.window.snapshot();
    return { windowMs: this.http.window.windowMs, generatedAt: new Date().toISOString(), overall, routes };
  }

  healthScore(): HealthScore {
    return healthScore(this.http.window.health(), this.http.window.windowMs);
  }

  /** GET /metrics/cache: the cache library's own counters and sizes. */
  cache(): unknown {
    return { timestamp: new Date().toISOString(), ...this.cacheBackend.snapshot() };
  }

  async live(): Promise<unknown> {
    const server = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>()?.server;
    const connections = server
      ? await new Promise<number>((resolve) => server.getConnections((err, n) => resolve(err ? -1 : n)))
      : -1;
    const mem = process.memoryUsage();
    const mb = (b: number): number => Math.round((b / 1048576) * 10) / 10;
    return {
      timestamp: new Date().toISOString(),
      uptimeSeconds: Math.round(process.uptime()),
      inFlightRequests: this.http.inFlightRequests,
      concurrency: this.live_.poolSnapshot(),
      connections: { http: connections },
      cache: this.cacheBackend.snapshot(),
      // parser child processes: busy, idle, queued and killed counts by reason
      extraction: this.live_.section('extraction') ?? null,
      eventLoopLagMs: this.system.eventLoopLagMs(),
      memoryMb: {
        rss: mb(mem.rss),
        heapUsed: mb(mem.heapUsed),
        heapTotal: mb(mem.heapTotal),
        external: mb(mem.external),
      },
      cpuPercent: this.system.cpuUsagePercent,
    };
  }
}

/** The same score as /metrics/health-score, for dashboards and alerts. */
export const HEALTH_SCORE_METRIC = gaugeProvider({
  name: 'app_health_score',
  help: 'Health score 0-100 over the sliding window (see /metrics/health-score)',
  inject: [MetricsViewsService],
  collect(views: MetricsViewsService) {
    this.set(views.healthScore().score);
  },
});
