import { Module } from '@nestjs/common';
import { APP_GUARD, Reflector } from '@nestjs/core';
import {
  getOptionsToken,
  getStorageToken,
  ThrottlerModule,
  ThrottlerStorageService,
} from '@nestjs/throttler';
import type { ThrottlerModuleOptions, ThrottlerStorage } from '@nestjs/throttler';
import { AppConfig } from '@app/config';
import { RateLimitGuard } from './rate-limit.guard';
import { RedisThrottlerStorage } from './redis-throttler.storage';

/**
 * Rate limits per route group. Counters live in Redis when REDIS_URL is set (limits hold across
 * replicas), in process memory otherwise. Imported after AuthModule so the caller is known.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        throttlers: [{ name: 'default', ttl: config.rateLimit.windowMs, limit: config.rateLimit.default }],
        storage: config.redis.url
          ? new RedisThrottlerStorage(
              config.redis.url,
              'atrium:ratelimit:',
              Math.max(config.cache.opTimeoutMs, 100),
            )
          : new ThrottlerStorageService(),
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
