import { Global, Module } from '@nestjs/common';
import { ConnectionMonitor, redisAddress } from '@libs/observability';
import { AppConfig } from '@app/config';

/**
 * The one ConnectionMonitor of the app's Redis (REDIS_URL), shared by every client that connects to it — the
 * cache's (L2 and invalidation), the rate-limit counters', the job queue's and the job store's — so an outage
 * is logged once when it starts and once when it ends, and /health can name it (`redis: connection refused`).
 */
export class RedisMonitor extends ConnectionMonitor {}

export function createRedisMonitor(config: AppConfig): RedisMonitor {
  const impact = [
    'the cache degrades to L1 + source',
    ...(config.rateLimit.enabled ? ['rate limits are counted per replica'] : []),
    'batch jobs cannot be queued (503 JOB_QUEUE_UNAVAILABLE)',
  ];
  return new RedisMonitor({
    dependency: 'Redis',
    address: config.redis.url ? redisAddress(config.redis.url) : 'none',
    impact: `meanwhile ${impact.join(', ')}`,
  });
}

@Global()
@Module({
  providers: [{ provide: RedisMonitor, inject: [AppConfig], useFactory: createRedisMonitor }],
  exports: [RedisMonitor],
})
export class RedisMonitorModule {}
