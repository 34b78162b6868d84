/**
 * @libs/cache — the two-level, tenant-aware cache every Atrium feature uses, on @nestjs/cache-manager
 * (cache-manager 7, Keyv stores: L1 lru-cache bounded in entries and bytes, L2 @keyv/redis behind a bounded wrapper).
 *
 * Wiring
 *   app.module:      CacheModule.forRootAsync({ inject: [AppConfig, Registry], useFactory: (c, registry) => ({ redisUrl, opTimeoutMs, l1MaxEntries, registry }) })
 *   feature module:  CacheModule.forFeature({ namespace: 'search', inject: [AppConfig], useFactory: (c) => ({ keyType: 'search', ttlMs }) })
 *   service:         constructor(@InjectTieredCache('search') private readonly cache: TieredCache<MyValue>)
 *   cached route:    @UseInterceptors(CacheInterceptor) @CacheNamespace('search') [@CacheTTL(ms)]
 *
 * Levels
 *   L1: in-process LRU, CACHE_L1_MAX_ENTRIES for all namespaces together.
 *   L2: Redis when REDIS_URL is set. Fail-soft: offline queue disabled, every command bounded by
 *       CACHE_OP_TIMEOUT_MS; a down/slow/unreachable Redis only costs that long and is counted
 *       (cache_operations_total{cache_level="l2",result="error"|"timeout"}); it reconnects by itself.
 *
 * Reads and writes: through the cache manager (CACHE_MANAGER, `stores: [l1, l2]`): `wrap` per lookup (L1, L2, one
 *   load per key written to both), `get`, `set`, `mdel`. Atrium's own: stale-if-error, negative caching,
 *   per-entry lifetimes, cross-replica invalidation, the tenant in every key, time-bounded Redis.
 *
 * Keys: `${namespace}:${tenantId}:${key}` in both levels — the tenant is part of every key.
 *
 * TieredCache<T> API
 *   getOrLoad(tenantId, key, loader, { bypass?, ttlMs? }) → { value: T | null, status: 'HIT'|'MISS'|'STALE'|'BYPASS' }
 *       loader(stale?) returns T, null for "not found" (cached for negativeTtlMs when > 0), or
 *       new Loaded(value, { ttlMs, keepMs, store, revalidated }) when the entry decides its own lifetime;
 *       a thrown error is never cached. One loader call per key at a time in the process (single
 *       flight). After ttlMs an entry is served STALE when the loader throws within staleTtlMs
 *       (stale-if-error). bypass (Cache-Control: no-cache) skips the read, still stores.
 *   get(tenantId, key) → fresh T | undefined        set(tenantId, key, value | null, ttlMs?)
 *   invalidate(tenantId, keys[]) → count           refresh(tenantId, key, loader) — load + store (warming)
 *       Invalidation drops L1 here, deletes in L2, and publishes on Redis pub/sub so every replica
 *       drops its L1 copy; a load already in flight for an invalidated key does not store its result.
 *   onEvent((event: 'hit'|'miss'|'set'|'error'|'stale'|'invalidate', count) => …) — feature metrics
 *
 * Observability: cache_hits_total / cache_misses_total{cache_level,key_type},
 *   cache_operations_total{cache_level,operation,result}, cache_size{cache_level,key_type},
 *   cache_operation_duration_seconds{cache_level,operation} on the registry given in the options;
 *   CacheBackend.snapshot() and CacheBackend.l2.roundTrip() for the app's JSON views and health check.
 */
export * from './cache-backend';
export * from './cache-metrics';
export * from './cache.interceptor';
export * from './cache.module';
export * from './l1-store';
export * from './redis-store';
export * from './route-scope';
export * from './tiered-cache';
export * from './with-timeout';
