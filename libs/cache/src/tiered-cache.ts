import type { CacheBackend } from './cache-backend';
import type { CacheEnvelope } from './l1-store';
import { type CacheStatus, routeCacheScope } from './route-scope';

export type { CacheStatus };

export interface CacheFeatureOptions {
  /** Bounded label for metrics: building, search, download… */
  keyType: string;
  /** First segment of every key: `${namespace}:${tenantId}:${key}`. */
  namespace: string;
  /** How long an entry is fresh (served as HIT). */
  ttlMs: number;
  /** Stale-if-error: after expiry the old value is kept this long and served (STALE) when the loader fails. */
  staleTtlMs?: number;
  /** How long a `null` ("not found") result is cached; 0 = not cached. */
  negativeTtlMs?: number;
  /**
   * false: the namespace caches nothing — every lookup calls the loader, nothing is stored or
   * invalidated, and its routes' CacheInterceptor passes through (no X-Cache). Default true.
   */
  enabled?: boolean;
}

export interface GetOrLoadOptions {
  /** `Cache-Control: no-cache`: skip the read, load fresh, still store the result. Default: the route's (CacheInterceptor). */
  bypass?: boolean;
  /** Overrides the namespace's ttlMs for this entry. Default: the route's @CacheTTL, else the namespace's. */
  ttlMs?: number;
}

export interface CacheResult<T> {
  /** null = the loader said "not found" (possibly a cached negative entry). */
  value: T | null;
  status: CacheStatus;
}

/**
 * What a loader may return instead of a bare value when the entry decides its own lifetime (e.g. an
 * origin's Cache-Control): fresh for `ttlMs`, kept (for revalidation) until `keepMs`, or not stored.
 * `revalidated`: the loader confirmed the stale copy it was given (a 304) — the caller sees a HIT.
 */
export class Loaded<T> {
  constructor(
    readonly value: T | null,
    readonly opts: { ttlMs?: number; keepMs?: number; store?: boolean; revalidated?: boolean } = {},
  ) {}
}

/** A loader gets the stale value (past its TTL, still kept) when there is one, e.g. to revalidate it. */
export type Loader<T> = (stale: T | undefined) => Promise<T | null | Loaded<T>>;

/** Per-namespace events, for feature metrics (building_cache_operations_total…). */
export type CacheEvent = 'hit' | 'miss' | 'set' | 'error' | 'stale' | 'invalidate';

/**
 * What a load gives `wrap` when its result must not be stored (the cache manager stores whatever its
 * function returns): thrown through `wrap` to every caller that joined it, who answer with the value.
 */
class Unstored<T> extends Error {
  constructor(
    readonly value: T | null,
    readonly revalidated: boolean,
  ) {
    super('loaded, not to be stored');
  }
}

/**
 * One feature's namespace of the two-level cache. The tenant is part of every key, so one tenant can never
 * read, overwrite or invalidate another's entries.
 *
 * Reads and writes go through the cache manager (`CACHE_MANAGER`, cache-manager 7, its stores L1 then L2):
 * `wrap` reads L1, then L2 (copying an L2 answer into L1), and on a miss calls the loader once per key
 * however many callers wait (its own coalescing) and writes both levels; `get`, `set` and `mdel` do the
 * rest. What cache-manager and cacheable do not offer is Atrium's, here and in the files named:
 * - **stale-if-error** — an entry is kept past its TTL for `staleTtlMs`: each level holds an envelope
 *   `{v, f (fresh until), s (kept until), n}` with the store TTL at `s`; a lookup that finds it past `f`
 *   loads again (the loader gets the stale value, e.g. to revalidate) and answers STALE only when the load
 *   fails. (cache-manager's `refreshThreshold` is stale-while-revalidate: the old value first, the load in the
 *   background — not this contract's.)
 * - **negative caching** — `null` ("not found") is stored for `negativeTtlMs`, errors never are;
 * - **lifetimes per entry** — `Loaded` (an origin's Cache-Control: fresh for, kept until, not stored, 304);
 * - **invalidation** — a load that an invalidation overtook does not store (CacheBackend), and other replicas
 *   drop their L1 copy through Redis pub/sub (redis-store.ts `RedisL2`);
 * - **the tenant in every key** — `keyOf`;
 * - **time-bounded Redis with the offline queue off** — redis-store.ts `BoundedRedisStore`/`RedisConnection`;
 * - **which level answered** (the per-level metrics and X-Cache) — CacheBackend's `inL1`/`loadedAt`.
 * Inside a route marked for the CacheInterceptor, the route's no-cache and TTL apply and the status becomes
 * the response's X-Cache.
 */
export class TieredCache<T = unknown> {
  private readonly staleTtlMs: number;
  private readonly negativeTtlMs: number;
  readonly enabled: boolean;
  private readonly listeners: Array<(event: CacheEvent, count: number) => void> = [];
  /** The store TTL of an envelope: until the end of its stale window (at least 1 ms: Keyv reads 0 as "forever"). */
  private readonly storeTtl = (env: CacheEnvelope): number => Math.max(1, env.s - Date.now());

  constructor(
    private readonly backend: CacheBackend,
    readonly options: CacheFeatureOptions,
  ) {
    if (/[:*?[\]]/.test(options.namespace)) throw new Error(`Invalid cache namespace "${options.namespace}"`);
    this.staleTtlMs = options.staleTtlMs ?? 0;
    this.negativeTtlMs = options.negativeTtlMs ?? 0;
    this.enabled = options.enabled !== false;
    if (!this.enabled) backend.disabledNamespaces.add(options.namespace);
    backend.l1.registerNamespace(options.namespace, options.keyType);
    backend.l2Failures.set(options.namespace, () => this.emit('error'));
  }

  get keyType(): string {
    return this.options.keyType;
  }

  /** `${namespace}:${tenantId}:${key}` — the L1 and Redis key. */
  keyOf(tenantId: string, key: string): string {
    if (!tenantId) throw new Error('A tenant id is required for every cache key');
    return `${this.options.namespace}:${tenantId}:${key}`;
  }

  /** True when the route being served asked for a fresh answer (its lookups here will be BYPASS). */
  get bypassed(): boolean {
    return routeCacheScope(this.options.namespace)?.bypass === true;
  }

  /** Subscribes to this namespace's cache events (feature metrics). */
  onEvent(listener: (event: CacheEvent, count: number) => void): void {
    this.listeners.push(listener);
  }

  async getOrLoad(
    tenantId: string,
    key: string,
    loader: Loader<T>,
    opts: GetOrLoadOptions = {},
  ): Promise<CacheResult<T>> {
    if (!this.enabled) return { value: await this.direct(loader), status: 'BYPASS' };
    const route = routeCacheScope(this.options.namespace);
    const result = await this.lookup(
      this.keyOf(tenantId, key),
      loader,
      opts.bypass ?? route?.bypass ?? false,
      opts.ttlMs ?? route?.ttlMs,
    );
    if (route) {
      route.status = result.status;
      route.value = result.value;
    }
    return result;
  }

  /** The fresh value, or undefined (absent, expired or a negative entry): the cache manager's `get`, L1 then L2. */
  async get(tenantId: string, key: string): Promise<T | undefined> {
    if (!this.enabled) return undefined;
    const env = await this.backend.manager.get<CacheEnvelope<T>>(this.keyOf(tenantId, key));
    if (env) this.countLevels(env, Date.now());
    return env && env.f > Date.now() && !env.n ? (env.v as T) : undefined;
  }

  /** Stores a value (null = negative entry) in L1 and L2: the cache manager's `set`. */
  async set(tenantId: string, key: string, value: T | null, ttlMs?: number): Promise<void> {
    if (!this.enabled) return;
    const env = this.envelope(new Loaded(value, { ttlMs }), Date.now());
    if (!env) return;
    await this.backend.manager.set(this.keyOf(tenantId, key), env, this.storeTtl(env));
    this.backend.inL1.add(env);
    this.emit('set');
  }

  /** Removes the tenant's keys from L1 on every replica and from L2; returns how many keys were named. */
  async invalidate(tenantId: string, keys: string[]): Promise<number> {
    const unique = [...new Set(keys)];
    if (!this.enabled) return unique.length;
    await this.backend.invalidate(unique.map((k) => this.keyOf(tenantId, k)));
    this.emit('invalidate', unique.length);
    return unique.length;
  }

  /** Loads fresh and stores (cache warming); single-flighted with concurrent loads of the key. */
  refresh(tenantId: string, key: string, loader: Loader<T>, ttlMs?: number): Promise<T | null> {
    if (!this.enabled) return this.direct(loader);
    const seq = this.backend.sequence;
    return this.reload(this.keyOf(tenantId, key), loader, undefined, ttlMs, seq).then((r) => r.value);
  }

  /** A disabled namespace: the loader's answer, as is. */
  private async direct(loader: Loader<T>): Promise<T | null> {
    const raw = await loader(undefined);
    return raw instanceof Loaded ? raw.value : raw;
  }

  private async lookup(
    full: string,
    loader: Loader<T>,
    bypass: boolean,
    ttlMs: number | undefined,
  ): Promise<CacheResult<T>> {
    const seq = this.backend.sequence;
    if (bypass) {
      const { value } = await this.reload(full, loader, undefined, ttlMs, seq);
      return { value, status: 'BYPASS' };
    }
    const { backend } = this;
    const started = ++backend.tick;
    let env: CacheEnvelope<T>;
    try {
      // L1, then L2 (copied into L1), else one load for every caller of the key, stored in both
      env = await backend.manager.wrap<CacheEnvelope<T>>(full, () => this.fill(full, loader, ttlMs, seq), {
        ttl: this.storeTtl,
      });
    } catch (err) {
      // both levels missed; the load failed (never cached), or its result is not to be stored (a null
      // without negative caching, `store: false`, an invalidation came first)
      this.countLevels(undefined, 0);
      if (!(err instanceof Unstored)) throw err;
      this.emit(err.revalidated ? 'hit' : 'miss');
      return { value: (err as Unstored<T>).value, status: err.revalidated ? 'HIT' : 'MISS' };
    }
    const now = Date.now();
    const stamp = backend.loadedAt.get(env);
    if (stamp !== undefined && Math.abs(stamp) > started) {
      // loaded by the wrap this caller started or joined (a joiner is a miss like the caller that started it)
      this.countLevels(undefined, now);
      const revalidated = stamp < 0;
      this.emit(revalidated ? 'hit' : 'miss');
      return { value: env.v, status: revalidated ? 'HIT' : 'MISS' };
    }
    const level = this.countLevels(env, now);
    if (env.f > now) {
      this.emit('hit');
      return { value: env.v, status: 'HIT' };
    }
    // past its TTL: another replica may have stored a fresh copy in L2 since L1 took this one
    let stale: CacheEnvelope<T> | undefined = env;
    if (level === 'l1' && backend.l2) {
      const remote = (await backend.manager.stores[1].get(full)) as CacheEnvelope<T> | undefined;
      if (remote && remote.f > Date.now()) {
        this.backend.metrics.hit('l2', this.options.keyType);
        if (!backend.invalidatedSince(full, seq)) await this.storeL1(full, remote);
        this.emit('hit');
        return { value: remote.v, status: 'HIT' };
      }
      this.backend.metrics.miss('l2', this.options.keyType);
      if (remote && remote.f > env.f) stale = remote;
    }
    if (stale.n) stale = undefined; // a stale "not found" is not worth serving
    try {
      const { value, revalidated } = await this.reload(full, loader, stale?.v ?? undefined, ttlMs, seq);
      this.emit(revalidated ? 'hit' : 'miss');
      return { value, status: revalidated ? 'HIT' : 'MISS' };
    } catch (err) {
      if (stale && Date.now() < stale.f + this.staleTtlMs) {
        this.emit('stale');
        return { value: stale.v, status: 'STALE' };
      }
      throw err;
    }
  }

  /** The load `wrap` runs on a miss: the envelope it stores, or Unstored. */
  private async fill(
    full: string,
    loader: Loader<T>,
    ttlMs: number | undefined,
    seq: number,
  ): Promise<CacheEnvelope<T>> {
    const raw = await loader(undefined);
    const loaded = raw instanceof Loaded ? raw : new Loaded(raw, { ttlMs });
    const revalidated = loaded.opts.revalidated === true;
    const env = this.backend.invalidatedSince(full, seq) ? undefined : this.envelope(loaded, Date.now());
    if (!env) throw new Unstored(loaded.value, revalidated);
    const tick = ++this.backend.tick;
    this.backend.loadedAt.set(env, revalidated ? -tick : tick);
    this.backend.inL1.add(env);
    this.emit('set');
    return env;
  }

  /**
   * A load outside `wrap` (a stale entry, no-cache, warming): one loader call per key at a time, the result
   * stored in both levels through the cache manager's `set` (Redis bounded by the op timeout) unless an
   * invalidation of the key came after `seq`.
   */
  private reload(
    full: string,
    loader: Loader<T>,
    stale: T | undefined,
    ttlMs: number | undefined,
    seq: number,
  ): Promise<{ value: T | null; revalidated: boolean }> {
    type Out = { value: T | null; revalidated: boolean };
    const existing = this.backend.loads.get(full) as Promise<Out> | undefined;
    if (existing) return existing;
    const flight: Promise<Out> = (async () => {
      const raw = await loader(stale);
      const loaded = raw instanceof Loaded ? raw : new Loaded(raw, { ttlMs });
      const env = this.backend.invalidatedSince(full, seq) ? undefined : this.envelope(loaded, Date.now());
      if (env) {
        this.backend.inL1.add(env);
        this.emit('set');
        await this.backend.manager.set(full, env, this.storeTtl(env));
      }
      return { value: loaded.value, revalidated: loaded.opts.revalidated === true };
    })().finally(() => {
      if (this.backend.loads.get(full) === flight) this.backend.loads.delete(full);
    });
    this.backend.loads.set(full, flight);
    return flight;
  }

  /** Copies an envelope read from L2 into L1 (its first store, which the manager exposes as `stores[0]`). */
  private async storeL1(full: string, env: CacheEnvelope<T>): Promise<void> {
    await this.backend.manager.stores[0].set(full, env, this.storeTtl(env));
    this.backend.inL1.add(env);
  }

  /** The envelope a loaded value is stored as, or undefined when it is not to be stored. */
  private envelope(loaded: Loaded<T>, now: number): CacheEnvelope<T> | undefined {
    const { value, opts } = loaded;
    if (opts.store === false) return undefined;
    let env: CacheEnvelope<T>;
    if (value === null || value === undefined) {
      if (this.negativeTtlMs <= 0) return undefined;
      env = { v: null, f: now + this.negativeTtlMs, s: now + this.negativeTtlMs, n: 1 };
    } else {
      const f = now + (opts.ttlMs ?? this.options.ttlMs);
      env = { v: value, f, s: Math.max(f + this.staleTtlMs, now + (opts.keepMs ?? 0)) };
    }
    return env.s > now ? env : undefined;
  }

  /**
   * Counts a read in the level metrics: the envelope `wrap`/`get` answered with came from L1 when this process
   * holds that very object there, else from L2 (and is in L1 now: the manager copied it up); undefined = both
   * missed. A hit is a fresh envelope; a stale one is a miss at its level. Returns the level that answered.
   */
  private countLevels(env: CacheEnvelope<T> | undefined, now: number): 'l1' | 'l2' | undefined {
    const { metrics } = this.backend;
    const keyType = this.options.keyType;
    if (env && this.backend.inL1.has(env)) {
      if (env.f > now) metrics.hit('l1', keyType);
      else metrics.miss('l1', keyType);
      return 'l1';
    }
    metrics.miss('l1', keyType);
    if (!this.backend.l2) return undefined;
    if (!env) {
      metrics.miss('l2', keyType);
      return undefined;
    }
    if (env.f > now) metrics.hit('l2', keyType);
    else metrics.miss('l2', keyType);
    this.backend.inL1.add(env);
    return 'l2';
  }

  private emit(event: CacheEvent, count = 1): void {
    for (const listener of this.listeners) listener(event, count);
  }
}
