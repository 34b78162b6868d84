import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  Optional,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { map, Observable } from 'rxjs';
import { CacheBackend } from './cache-backend';
import { RouteCacheScope, runInRouteCacheScope } from './route-scope';

export const CACHE_NAMESPACE_METADATA = 'atrium:cache:namespace';
export const CACHE_TTL_METADATA = 'atrium:cache:ttl';

/** The cache namespace (a `CacheModule.forFeature` namespace) whose lookups this route answers from. */
export const CacheNamespace = (namespace: string): MethodDecorator & ClassDecorator =>
  SetMetadata(CACHE_NAMESPACE_METADATA, namespace);

/** How long what this route loads stays fresh, in ms (default: the namespace's TTL). */
export const CacheTTL = (ttlMs: number): MethodDecorator & ClassDecorator =>
  SetMetadata(CACHE_TTL_METADATA, ttlMs);

/** True when the request asks for a fresh answer (`Cache-Control: no-cache` or `Pragma: no-cache`). */
export function wantsNoCache(headers: FastifyRequest['headers']): boolean {
  const cc = headers['cache-control'];
  const pragma = headers['pragma'];
  return (
    (typeof cc === 'string' && /(^|,)\s*no-cache\s*(,|$)/i.test(cc)) ||
    (typeof pragma === 'string' && /no-cache/i.test(pragma))
  );
}

/**
 * The JSON of cached answers, serialised once: entries are never mutated (L1 keeps them without a copy),
 * so the JSON of an object the cache holds stays true while the object lives — and goes with it.
 */
const serialised = new WeakMap<object, string>();
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A plain object or array: what Fastify would answer with JSON.stringify (not a Buffer, a stream, a class). */
function isPlainJson(value: unknown): value is object {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

interface RouteCacheConfig {
  namespace: string;
  ttlMs?: number;
}

/**
 * The HTTP side of the cache, on every cached route:
 *
 *   @UseInterceptors(CacheInterceptor)
 *   @CacheNamespace('building_dir')          // @CacheTTL(ms) to override the namespace's TTL
 *   @Get(':buildingId')
 *   get(@TenantId() tenantId, @Param('buildingId') id) { return this.buildings.getBuilding(tenantId, id); }
 *
 * It reads `Cache-Control: no-cache` / `Pragma: no-cache`, runs the handler in the route's cache scope
 * — the namespace's `TieredCache.getOrLoad` calls made meanwhile skip the read (still storing the fresh
 * answer) and take the route's TTL — and writes `X-Cache: HIT|MISS|STALE|BYPASS` from the lookup that
 * answered. Errors pass through untouched (no X-Cache; the cache never stores an error).
 *
 * Unlike @nestjs/cache-manager's CacheInterceptor, it does not cache the handler's return value under a
 * URL: the key is built by the feature from validated input (`building_dir:{tenant}:{id}`, a search
 * key with the store's version), with the tenant in every key, and the value cached is the resource
 * the answer is made of — the three building routes answer from one building entry (a STALE building
 * makes a STALE request-data answer; a cached "not found" makes a 404).
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  /** Per controller class, then per handler: an inherited handler is shared by classes whose metadata differs. */
  private readonly routes = new WeakMap<object, WeakMap<object, RouteCacheConfig | null>>();

  constructor(
    private readonly reflector: Reflector,
    // absent only where a test builds a module without CacheModule: every namespace is then enabled
    @Optional() private readonly backend?: CacheBackend,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const scope = this.scopeOf(context);
    if (!scope) return next.handle();
    // handle() binds the handler to the async context it is called in: the route's scope
    return runInRouteCacheScope(scope, () => next.handle()).pipe(
      map((value) => this.present(context, scope, value)),
    );
  }

  /** The route's cache scope for this request, or undefined when the route does not cache. */
  private scopeOf(context: ExecutionContext): RouteCacheScope | undefined {
    const route = this.configOf(context);
    if (!route) return undefined;
    return {
      namespace: route.namespace,
      ttlMs: route.ttlMs,
      bypass: wantsNoCache(context.switchToHttp().getRequest<FastifyRequest>().headers),
    };
  }

  /**
   * X-Cache from the lookup that answered (errors never get here: no X-Cache on an error). When the
   * handler answers with the very object the lookup gave (the building route does), the answer is that
   * object's JSON, serialised once for as long as the cache holds it — the same bytes and content type
   * Fastify would send, without JSON.stringify on every hit.
   */
  private present(context: ExecutionContext, scope: RouteCacheScope, value: unknown): unknown {
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    if (scope.status) void reply.header('X-Cache', scope.status);
    if (value !== scope.value || !isPlainJson(value) || reply.hasHeader('content-type')) return value;
    let json = serialised.get(value);
    if (json === undefined) serialised.set(value, (json = JSON.stringify(value)));
    void reply.header('content-type', JSON_CONTENT_TYPE);
    return json;
  }

  /** Route metadata, read once per (class, handler) (this runs on every request of the hot path). */
  private configOf(context: ExecutionContext): RouteCacheConfig | null {
    const cls = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.routes.get(cls);
    if (byHandler === undefined) this.routes.set(cls, (byHandler = new WeakMap()));
    let config = byHandler.get(handler);
    if (config === undefined) {
      const targets = [handler, cls];
      const namespace = this.reflector.getAllAndOverride<string | undefined>(
        CACHE_NAMESPACE_METADATA,
        targets,
      );
      const ttlMs = this.reflector.getAllAndOverride<number | undefined>(CACHE_TTL_METADATA, targets);
      config = namespace && !this.backend?.disabledNamespaces.has(namespace) ? { namespace, ttlMs } : null;
      byHandler.set(handler, config);
    }
    return config;
  }
}
