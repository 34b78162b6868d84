import { Global, Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HttpMetricsService } from './http-metrics.service';
import { LiveStatsRegistry } from './live-stats.registry';
import { MetricsViewsController, PrometheusMetricsController } from './metrics.controller';
import { MetricsRegistry } from './metrics.registry';
import { MetricsViewsService } from './metrics-views.service';
import { SystemMetrics } from './system-metrics';

/**
 * Prometheus wiring. @willsoto/nestjs-prometheus mounts /metrics with our controller, which serves this
 * app's own registry (default metrics are collected there, not in prom-client's global registry).
 * Global so every feature can inject MetricsRegistry and LiveStatsRegistry.
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
  providers: [MetricsRegistry, HttpMetricsService, LiveStatsRegistry, SystemMetrics, MetricsViewsService],
  exports: [MetricsRegistry, HttpMetricsService, LiveStatsRegistry, SystemMetrics],
})
export class MetricsModule {}
