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
 * One feature's namespace of the two-level cache. The tenant is part of every key, so one tenant can
 * never read, overwrite or invalidate another's entries. Reads and writes go through the cache
 * manager's stores (CacheBackend): L1 the in-process LRU, L2 Redis.
 *
 * getOrLoad: L1 (fresh → HIT) → L2 (fresh → HIT, copied into L1) → the loader (MISS), with one load
 * per key in this process however many callers wait (single flight). An entry past its TTL is kept
 * for `staleTtlMs` and served (STALE) when the loader throws (stale-if-error). Errors are never cached;
 * `null` is, for `negativeTtlMs`. Which level answered is the status; inside a route marked for the
 * CacheInterceptor, the route's no-cache and TTL apply and the status becomes the response's X-Cache.
 */
export class TieredCache<T = unknown> {
  private readonly staleTtlMs: number;
  private readonly negativeTtlMs: number;
  readonly enabled: boolean;
  private readonly listeners: Array<(event: CacheEvent, count: number) => void> = [];

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
      this.backend.sequence,
    );
    if (route) {
      route.status = result.status;
      route.value = result.value;
    }
    return result;
  }

  /** The fresh value, or undefined (absent, expired or a negative entry). L1 then L2. */
  async get(tenantId: string, key: string): Promise<T | undefined> {
    if (!this.enabled) return undefined;
    const full = this.keyOf(tenantId, key);
    const now = Date.now();
    const local = await this.readL1(full, now);
    if (local && local.f > now) return local.n ? undefined : (local.v as T);
    const remote = await this.readL2(full, now);
    return remote && remote.f > now && !remote.n ? (remote.v as T) : undefined;
  }

  /** Stores a value (null = negative entry) in L1 and L2. */
  async set(tenantId: string, key: string, value: T | null, ttlMs?: number): Promise<void> {
    if (!this.enabled) return;
    await this.store(this.keyOf(tenantId, key), new Loaded(value, { ttlMs }), this.backend.sequence, true);
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
    return this.load(this.keyOf(tenantId, key), loader, undefined, ttlMs, seq).then((r) => r.value);
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
    seq: number,
  ): Promise<CacheResult<T>> {
    if (bypass) {
      const { value } = await this.load(full, loader, undefined, ttlMs, seq);
      return { value, status: 'BYPASS' };
    }
    const now = Date.now();
    const local = await this.readL1(full, now);
    if (local && local.f > now) {
      this.emit('hit');
      return { value: local.v as T | null, status: 'HIT' };
    }

    // one lookup (L2 read + load) per key; later callers join it
    let lookup = this.backend.lookups.get(full) as Promise<CacheResult<T>> | undefined;
    if (!lookup) {
      const started: Promise<CacheResult<T>> = this.resolve(full, local, loader, ttlMs, seq).finally(() => {
        if (this.backend.lookups.get(full) === started) this.backend.lookups.delete(full);
      });
      lookup = started;
      this.backend.lookups.set(full, lookup);
    }
    const result = await lookup;
    // counted per caller: a caller that joined a load is a miss like the one that started it
    this.emit(result.status === 'HIT' ? 'hit' : result.status === 'STALE' ? 'stale' : 'miss');
    return result;
  }

  private async resolve(
    full: string,
    local: CacheEnvelope | undefined,
    loader: Loader<T>,
    ttlMs: number | undefined,
    seq: number,
  ): Promise<CacheResult<T>> {
    let stale = local;
    const remote = await this.readL2(full, Date.now());
    if (remote && remote.f > Date.now()) {
      // an invalidation that arrived while Redis answered may have deleted what it read: keep it out of L1
      if (!this.backend.invalidatedSince(full, seq)) await this.backend.l1Set(full, remote);
      return { value: remote.v as T | null, status: 'HIT' };
    }
    if (remote && (!stale || remote.f > stale.f)) stale = remote;
    if (stale?.n) stale = undefined; // a stale "not found" is not worth serving

    try {
      const { value, revalidated } = await this.load(full, loader, stale?.v as T | undefined, ttlMs, seq);
      return { value, status: revalidated ? 'HIT' : 'MISS' };
    } catch (err) {
      if (stale && Date.now() < stale.f + this.staleTtlMs) {
        return { value: stale.v as T, status: 'STALE' };
      }
      throw err;
    }
  }

  /**
   * One loader call per key at a time; the result is stored unless an invalidation of the key came
   * after `seq` (when the lookup that asked for this load started).
   */
  private load(
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
      await this.store(full, loaded, seq, false);
      return { value: loaded.value, revalidated: loaded.opts.revalidated === true };
    })().finally(() => {
      if (this.backend.loads.get(full) === flight) this.backend.loads.delete(full);
    });
    this.backend.loads.set(full, flight);
    return flight;
  }

  private async store(full: string, loaded: Loaded<T>, seq: number, awaitL2: boolean): Promise<void> {
    const { value, opts } = loaded;
    if (opts.store === false || this.backend.invalidatedSince(full, seq)) return;
    const now = Date.now();
    let env: CacheEnvelope<T>;
    if (value === null || value === undefined) {
      if (this.negativeTtlMs <= 0) return;
      env = { v: null, f: now + this.negativeTtlMs, s: now + this.negativeTtlMs, n: 1 };
    } else {
      const f = now + (opts.ttlMs ?? this.options.ttlMs);
      env = { v: value, f, s: Math.max(f + this.staleTtlMs, now + (opts.keepMs ?? 0)) };
    }
    if (env.s <= now) return;
    await this.backend.l1Set(full, env, now);
    this.emit('set');
    if (!this.backend.l2) return;
    // a MISS answers without waiting for Redis; the write finishes (or times out) on its own
    const write = this.backend.l2.set(full, env, now).then((ok) => {
      if (!ok) this.emit('error');
    });
    if (awaitL2) await write;
    else void write;
  }

  /** L1's envelope for `full`, through the cache manager's L1 store (Keyv). */
  private readL1(full: string, now: number): Promise<CacheEnvelope | undefined> {
    return this.backend.l1Get(full).then((env) => this.countL1(env, now));
  }

  /** Counts an L1 read as a hit (fresh) or a miss, and passes the envelope on. */
  private countL1(env: CacheEnvelope | undefined, now: number): CacheEnvelope | undefined {
    if (env && env.f > now) this.backend.metrics.hit('l1', this.options.keyType);
    else this.backend.metrics.miss('l1', this.options.keyType);
    return env;
  }

  private async readL2(full: string, now: number): Promise<CacheEnvelope | undefined> {
    const l2 = this.backend.l2;
    if (!l2) return undefined;
    const { ok, env } = await l2.get(full);
    if (!ok) this.emit('error');
    if (env && env.f > now) this.backend.metrics.hit('l2', this.options.keyType);
    else this.backend.metrics.miss('l2', this.options.keyType);
    return env && env.s > now ? env : undefined;
  }

  private emit(event: CacheEvent, count = 1): void {
    for (const listener of this.listeners) listener(event, count);
  }
}
