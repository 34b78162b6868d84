/**
 * @libs/cache — the two-level, tenant-aware cache every Atrium feature uses.
 *
 * Wiring
 *   app.module:      CacheModule.forRoot()                      (once; global)
 *   feature module:  CacheModule.forFeature({ keyType: 'search', namespace: 'search', ttlMs: 300_000 })
 *                    or forFeature({ namespace: 'search', useFactory: (config: AppConfig) => ({ … }) })
 *   service:         constructor(@InjectTieredCache('search') private readonly cache: TieredCache<MyValue>)
 *
 * Levels
 *   L1: in-process LRU, CACHE_L1_MAX_ENTRIES for all namespaces together.
 *   L2: Redis via @keyv/redis when REDIS_URL is set. Fail-soft: offline queue disabled, every command
 *       bounded by CACHE_OP_TIMEOUT_MS; a down/slow/unreachable Redis only costs that long and is
 *       counted (cache_operations_total{cache_level="l2",result="error"|"timeout"}); it reconnects by itself.
 *
 * Keys: `${namespace}:${tenantId}:${key}` in both levels — the tenant is part of every key.
 *
 * TieredCache<T> API
 *   getOrLoad(tenantId, key, loader, { bypass?, ttlMs? }) → { value: T | null, status: 'HIT'|'MISS'|'STALE'|'BYPASS' }
 *       loader returns T, or null for "not found" (cached for negativeTtlMs when > 0); a thrown error is
 *       never cached. One loader call per key at a time in the process (single flight). After ttlMs an
 *       entry is served STALE at once while refreshing within swrMs, or when the loader throws within
 *       staleTtlMs (stale-if-error). bypass (Cache-Control: no-cache) skips the read, still stores.
 *   get(tenantId, key) → fresh T | undefined        set(tenantId, key, value | null, ttlMs?)
 *   delete(tenantId, key)                          invalidate(tenantId, keys[]) → count
 *   invalidateTenant(tenantId)                     refresh(tenantId, key, loader) — load + store (warming)
 *       Invalidation drops L1 here, deletes in L2, and publishes on Redis pub/sub so every replica
 *       drops its L1 copy; a load already in flight for an invalidated key does not store its result.
 *   onEvent((event: 'hit'|'miss'|'set'|'error'|'stale'|'invalidate', count) => …) — feature metrics
 *
 * HTTP
 *   @UseInterceptors(TenantCacheInterceptor('search')) on GET routes: X-Cache, honours no-cache,
 *   key = tenant + method + url. Or call getOrLoad in the service and set X-Cache yourself
 *   (wantsNoCache(request.headers) tells whether to bypass).
 *
 * Observability: cache_hits_total / cache_misses_total{cache_level,key_type},
 *   cache_operations_total{cache_level,operation,result}, cache_size{cache_level,key_type},
 *   cache_operation_duration_seconds{cache_level,operation}; GET /metrics/cache (JSON), the `cache`
 *   section of /metrics/live, and a `redis` check in /health (not in readiness).
 */
export * from './cache-backend';
export * from './cache-metrics';
export * from './cache.module';
export * from './lru-store';
export * from './redis-store';
export * from './tenant-cache.interceptor';
export * from './tiered-cache';
export * from './with-timeout';
