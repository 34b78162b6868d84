import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import type { ThrottlerStorageRecord } from '@nestjs/throttler/dist/throttler-storage-record.interface';
import { Redis } from 'ioredis';

// Fixed window: the first hit sets the expiry; every hit returns the count and the time left.
const INCREMENT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {hits, ttl}`;

/**
 * Rate-limit counters in Redis so limits hold across replicas. Redis is a cache here too: when it does
 * not answer within the op timeout, this replica counts in memory instead of failing the request.
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly redis: Redis;
  private readonly fallback = new ThrottlerStorageService();
  private lastWarn = 0;

  constructor(
    url: string,
    private readonly prefix = 'atrium:ratelimit:',
    opTimeoutMs = 100,
  ) {
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opTimeoutMs,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    this.redis.on('error', () => undefined); // reported through the fallback warning, not per reconnect attempt
    this.redis.defineCommand('atriumIncr', { numberOfKeys: 1, lua: INCREMENT });
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    name: string,
  ): Promise<ThrottlerStorageRecord> {
    try {
      const [hits, ttlLeft] = await (
        this.redis as Redis & { atriumIncr(k: string, ttl: number): Promise<[number, number]> }
      ).atriumIncr(this.prefix + key, ttl);
      const timeToExpire = Math.max(1, Math.ceil(ttlLeft / 1000));
      const isBlocked = hits > limit;
      return { totalHits: hits, timeToExpire, isBlocked, timeToBlockExpire: isBlocked ? timeToExpire : 0 };
    } catch (err) {
      if (Date.now() - this.lastWarn > 10000) {
        this.lastWarn = Date.now();
        this.logger.warn(
          `Redis rate-limit counter unavailable (${(err as Error).message}); counting in memory on this replica`,
        );
      }
      return this.fallback.increment(key, ttl, limit, blockDuration, name);
    }
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
    this.fallback.onApplicationShutdown();
  }
}
