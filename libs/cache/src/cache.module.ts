import {
  Controller,
  DynamicModule,
  Get,
  Header,
  Inject,
  Injectable,
  Module,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/auth/auth.decorators';
import { AppConfig } from '@app/config';
import { HealthRegistry } from '@app/health/health.registry';
import { LiveStatsRegistry } from '@app/metrics/live-stats.registry';
import { MetricsRegistry } from '@app/metrics/metrics.registry';
import { CacheBackend } from './cache-backend';
import { CacheFeatureOptions, TieredCache } from './tiered-cache';

/** The DI token of a namespace's TieredCache (see InjectTieredCache). */
export function tieredCacheToken(namespace: string): string {
  return `atrium:tiered-cache:${namespace}`;
}

/** `@InjectTieredCache('building_dir') cache: TieredCache<Building>` */
export const InjectTieredCache = (namespace: string): ParameterDecorator & PropertyDecorator =>
  Inject(tieredCacheToken(namespace));

/** Starts/stops the backend and plugs it into health, /metrics/live. */
@Injectable()
class CacheLifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly backend: CacheBackend,
    private readonly health: HealthRegistry,
    private readonly live: LiveStatsRegistry,
  ) {}

  onModuleInit(): void {
    this.backend.start();
    const l2 = this.backend.l2;
    // Redis is a cache: shown in /health, never a readiness dependency (observability.md)
    if (l2)
      this.health.register({
        name: 'redis',
        readiness: false,
        check: async () => ({ ...(await l2.roundTrip(1000)), state: l2.state }),
      });
    this.live.registerSection('cache', () => this.backend.snapshot());
  }

  async onApplicationShutdown(): Promise<void> {
    await this.backend.close();
  }
}

@ApiTags('metrics')
@Public()
@Controller('metrics')
export class CacheStatsController {
  constructor(private readonly backend: CacheBackend) {}

  @Get('cache')
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({ description: 'Hits, misses, hit rate and size per cache level and key type' })
  stats(): Record<string, unknown> {
    return { timestamp: new Date().toISOString(), ...this.backend.snapshot() };
  }
}

@Module({})
class CacheFeatureModule {}

/**
 * The tiered cache. `CacheModule.forRoot()` once (app.module): the process-wide L1 + optional Redis L2,
 * metrics, the `redis` health check and /metrics/cache. `CacheModule.forFeature({...})` in a feature
 * module: a TieredCache for that namespace, injected with `@InjectTieredCache(namespace)`.
 */
@Module({})
export class CacheModule {
  static forRoot(): DynamicModule {
    return {
      module: CacheModule,
      global: true,
      controllers: [CacheStatsController],
      providers: [
        {
          provide: CacheBackend,
          inject: [AppConfig, MetricsRegistry],
          useFactory: (config: AppConfig, metrics: MetricsRegistry) =>
            new CacheBackend({
              redisUrl: config.redis.url,
              opTimeoutMs: config.cache.opTimeoutMs,
              l1MaxEntries: config.cache.l1MaxEntries,
              registry: metrics.registry,
            }),
        },
        CacheLifecycle,
      ],
      exports: [CacheBackend],
    };
  }

  static forFeature(
    options:
      CacheFeatureOptions | { useFactory: (config: AppConfig) => CacheFeatureOptions; namespace: string },
  ): DynamicModule {
    const token = tieredCacheToken(options.namespace);
    return {
      module: CacheFeatureModule,
      providers: [
        {
          provide: token,
          inject: [CacheBackend, AppConfig],
          useFactory: (backend: CacheBackend, config: AppConfig) =>
            new TieredCache(backend, 'useFactory' in options ? options.useFactory(config) : options),
        },
      ],
      exports: [token],
    };
  }
}
