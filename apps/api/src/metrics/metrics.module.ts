import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { Registry } from 'prom-client';
import { HTTP_METRICS, HttpMetricsService } from './http-metrics.service';
import { LiveStatsRegistry } from './live-stats.registry';
import { registryProvider } from './metric-providers';
import { POOL_METRICS, PoolMetrics } from './pool-metrics';
import { MetricsViewsController, PrometheusMetricsController } from './metrics.controller';
import { HEALTH_SCORE_METRIC, MetricsViewsService } from './metrics-views.service';
import { SYSTEM_METRICS, SystemMetrics } from './system-metrics';

/**
 * Prometheus wiring. @willsoto/nestjs-prometheus mounts /metrics with our controller, which serves this
 * app's own `Registry` (default metrics are collected there, not in prom-client's global registry).
 * Global so every feature's metric providers (counterProvider… in metric-providers.ts) and the
 * libraries' options can inject `Registry`, and features can publish pools in LiveStatsRegistry.
 */
@Global()
@Module({
  imports: [
    PrometheusModule.register({
      controller: PrometheusMetricsController,
      defaultMetrics: { enabled: false },
    }),
  ],
  controllers: [MetricsViewsController],
  providers: [
    registryProvider,
    ...HTTP_METRICS,
    ...SYSTEM_METRICS,
    HEALTH_SCORE_METRIC,
    ...POOL_METRICS,
    PoolMetrics,
    HttpMetricsService,
    LiveStatsRegistry,
    SystemMetrics,
    MetricsViewsService,
  ],
  exports: [Registry, HttpMetricsService, LiveStatsRegistry, SystemMetrics, PoolMetrics],
})
export class MetricsModule {}
