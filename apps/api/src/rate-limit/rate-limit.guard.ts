import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerOptions } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { AppConfig } from '@app/config';
import { IS_PUBLIC, principalOf } from '@app/auth';
import { RouteMetadataCache } from '@app/routes';
import { RATE_LIMIT_GROUP, RateLimitGroup } from './rate-limit.decorator';

// the one named throttler ('default' keeps the X-RateLimit-* header names unsuffixed)
const THROTTLER: ThrottlerOptions = { name: 'default', limit: 0, ttl: 0 };

/**
 * @nestjs/throttler with Atrium's rules: one counter per (route group, caller) where the caller is the
 * API key fingerprint (or client IP with auth off) resolved by AuthGuard; limits come from config per
 * group; probes, scrapes and signed webhooks (@Public) are never limited.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private config!: AppConfig;
  private groups!: RouteMetadataCache<RateLimitGroup>;
  private isPublic!: RouteMetadataCache<boolean>;

  setConfig(config: AppConfig): void {
    this.config = config;
    this.groups = new RouteMetadataCache(this.reflector, RATE_LIMIT_GROUP);
    this.isPublic = new RouteMetadataCache(this.reflector, IS_PUBLIC);
  }

  /**
   * One throttler, limits from config per group: the route's group and public flag are read once per
   * handler, and ThrottlerGuard's own per-request scan of @Throttle/@SkipThrottle metadata (which Atrium
   * does not use) is skipped. Counting, headers and the 429 stay ThrottlerGuard's (handleRequest).
   */
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http' || this.isPublic.get(context)) return true;
    const group = this.groups.get(context) ?? 'default';
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const tracker = principalOf(request)?.clientId ?? `ip:${request.ip}`;
    const { windowMs } = this.config.rateLimit;
    return this.handleRequest({
      context,
      limit: this.config.rateLimit[group],
      ttl: windowMs,
      blockDuration: windowMs,
      throttler: THROTTLER,
      getTracker: () => tracker,
      generateKey: () => `${group}:${tracker}`,
    });
  }
}
