import { Module } from '@nestjs/common';
import { APP_GUARD, Reflector } from '@nestjs/core';
import { getOptionsToken, getStorageToken, ThrottlerModule } from '@nestjs/throttler';
import type { ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import { AppConfig } from '@app/config';
import { RedisMonitor } from '@app/redis';
import { RateLimitGuard } from './rate-limit.guard';
import { BatchedThrottlerStorage } from './batched-throttler.storage';

/**
 * Rate limits per route group, counted by BatchedThrottlerStorage: local counters synced to Redis in
 * batches when REDIS_URL is set (limits hold across replicas within a documented overshoot), per process
 * otherwise. Imported after AuthModule so the caller is known.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, RedisMonitor],
      useFactory: (config: AppConfig, redis: RedisMonitor) => ({
        throttlers: [{ name: 'default', ttl: config.rateLimit.windowMs, limit: config.rateLimit.default }],
        storage: new BatchedThrottlerStorage({
          redisUrl: config.redis.url,
          prefix: 'atrium:ratelimit:',
          opTimeoutMs: Math.max(config.cache.opTimeoutMs, 100),
          syncIntervalMs: config.rateLimit.syncIntervalMs,
          localShare: config.rateLimit.localShare,
          connectionMonitor: redis,
        }),
      }),
    }),
  ],
  providers: [
    {
      provide: APP_GUARD,
      inject: [getOptionsToken(), getStorageToken(), Reflector, AppConfig],
      useFactory: (
        options: ThrottlerModuleOptions,
        storage: ThrottlerStorage,
        reflector: Reflector,
        config: AppConfig,
      ) => {
        const guard = new RateLimitGuard(options, storage, reflector);
        guard.setConfig(config);
        return guard;
      },
    },
  ],
})
export class RateLimitModule {}
