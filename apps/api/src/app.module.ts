import { DynamicModule, Module, Type } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { CacheModule } from '@libs/cache';
import { DatabaseModule } from '@libs/database';
import { currentContext, ObservabilityModule } from '@libs/observability';
import { AuthModule } from './auth/auth.module';
import { BuildingDirectoryModule } from './building-directory/building-directory.module';
import { DownloaderModule } from './downloader/downloader.module';
import { AllExceptionsFilter } from './errors/all-exceptions.filter';
import { RedisMonitor, RedisMonitorModule } from './redis/redis-monitor';
import { AppConfig, ConfigModule } from './config';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { PoolMetrics } from './metrics/pool-metrics';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { SearchModule } from './search/search.module';

/** Imports the feature modules, nothing else. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger, extra: Type[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot(logger),
        RedisMonitorModule,
        MetricsModule,
        DatabaseModule.forRootAsync({
          inject: [AppConfig, Registry, PoolMetrics],
          useFactory: (c: AppConfig, registry: Registry, pools: PoolMetrics) => ({
            url: c.database.url,
            dataDir: c.dataDir,
            poolMax: c.database.poolMax,
            statementTimeoutMs: c.database.statementTimeoutMs,
            // search's vocabulary matches typos through a trigram index (its migration creates the extension)
            extensions: ['pg_trgm'],
            // PGlite's one session goes to tenants in turn: the tenant of the request or job is the key
            fairnessKey: () => currentContext()?.tenantId,
            observeSession: (session) => pools.register('database', session),
            registry,
          }),
        }),
        HealthModule,
        CacheModule.forRootAsync({
          inject: [AppConfig, Registry, RedisMonitor],
          useFactory: (c: AppConfig, registry: Registry, redis: RedisMonitor) => ({
            redisUrl: c.redis.url,
            opTimeoutMs: c.cache.opTimeoutMs,
            l1MaxEntries: c.cache.l1MaxEntries,
            l1MaxBytes: c.cache.l1MaxBytes,
            registry,
            connectionMonitor: redis,
          }),
        }),
        AuthModule,
        // RATE_LIMIT_ENABLED=false: no guard, no storage, no Redis connection for counters
        ...(config.rateLimit.enabled ? [RateLimitModule] : []),
        BuildingDirectoryModule,
        SearchModule,
        DownloaderModule,
        ...extra,
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
