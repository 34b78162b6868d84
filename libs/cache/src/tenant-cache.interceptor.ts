import {
  CallHandler,
  createParamDecorator,
  ExecutionContext,
  Inject,
  Injectable,
  NestInterceptor,
  Type,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, lastValueFrom, Observable } from 'rxjs';
import { requestContextOf } from '@libs/observability';
import { tieredCacheToken } from './cache.module';
import type { TieredCache } from './tiered-cache';

/** True when the request asks for a fresh answer (`Cache-Control: no-cache` or `Pragma: no-cache`). */
export function wantsNoCache(headers: FastifyRequest['headers']): boolean {
  const cc = headers['cache-control'];
  const pragma = headers['pragma'];
  return (
    (typeof cc === 'string' && /(^|,)\s*no-cache\s*(,|$)/i.test(cc)) ||
    (typeof pragma === 'string' && /no-cache/i.test(pragma))
  );
}

/** Route parameter: `true` when the request asks to bypass the cache read (see wantsNoCache). */
export const CacheBypass = createParamDecorator((_: unknown, ctx: ExecutionContext): boolean =>
  wantsNoCache(ctx.switchToHttp().getRequest<FastifyRequest>().headers),
);

const mixins = new Map<string, Type<NestInterceptor>>();

/**
 * A cache interceptor for GET routes, keyed by tenant AND url — unlike @nestjs/cache-manager's
 * CacheInterceptor, which keys by url only and would hand one tenant's answer to another.
 * Sets `X-Cache: HIT|MISS|STALE|BYPASS`; `Cache-Control: no-cache` skips the read but stores the
 * fresh answer. Only what the handler returns is cached (errors never are). Routes without a resolved
 * tenant (@Public) are passed through untouched.
 *
 * `@UseInterceptors(TenantCacheInterceptor('search'))` in a module that imports
 * `CacheModule.forFeature({ namespace: 'search', … })`.
 */
export function TenantCacheInterceptor(namespace: string): Type<NestInterceptor> {
  const existing = mixins.get(namespace);
  if (existing) return existing;

  @Injectable()
  class TenantCacheInterceptorMixin implements NestInterceptor {
    constructor(@Inject(tieredCacheToken(namespace)) private readonly cache: TieredCache) {}

    intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
      const http = context.switchToHttp();
      const request = http.getRequest<FastifyRequest>();
      const tenantId = requestContextOf(request)?.tenantId;
      if (request.method !== 'GET' || !tenantId) return next.handle();
      const reply = http.getResponse<FastifyReply>();
      return from(
        this.cache
          .getOrLoad(tenantId, `${request.method}:${request.url}`, () => lastValueFrom(next.handle()), {
            bypass: wantsNoCache(request.headers),
          })
          .then(({ value, status }) => {
            void reply.header('X-Cache', status);
            return value;
          }),
      );
    }
  }
  Object.defineProperty(TenantCacheInterceptorMixin, 'name', {
    value: `TenantCacheInterceptor(${namespace})`,
  });
  mixins.set(namespace, TenantCacheInterceptorMixin);
  return TenantCacheInterceptorMixin;
}
