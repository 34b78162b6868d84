import { AsyncLocalStorage } from 'node:async_hooks';

/** What a response served through the cache says in `X-Cache`. */
export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

/**
 * The cache policy of the request being served by a cached route (CacheInterceptor opens it): the
 * lookups of that route's namespace made while its handler runs honour its no-cache and TTL, and
 * report which level answered so the interceptor can say it in X-Cache.
 */
export interface RouteCacheScope {
  namespace: string;
  /** `Cache-Control: no-cache` / `Pragma: no-cache` on the request. */
  bypass: boolean;
  /** @CacheTTL of the route, when it overrides the namespace's. */
  ttlMs?: number;
  /** Set by the route's lookup (the last one, when there are several). */
  status?: CacheStatus;
  /** The value that lookup answered with (the cached object itself, never mutated). */
  value?: unknown;
}

const storage = new AsyncLocalStorage<RouteCacheScope>();

export function runInRouteCacheScope<R>(scope: RouteCacheScope, fn: () => R): R {
  return storage.run(scope, fn);
}

/** The current route's scope when it caches in `namespace`. */
export function routeCacheScope(namespace: string): RouteCacheScope | undefined {
  const scope = storage.getStore();
  return scope?.namespace === namespace ? scope : undefined;
}
