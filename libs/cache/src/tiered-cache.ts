import { Logger } from '@nestjs/common';
import type { CacheBackend, Flight } from './cache-backend';
import type { CacheEnvelope } from './lru-store';

/** What a response served through the cache says in `X-Cache`. */
export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';

export interface CacheFeatureOptions {
  /** Bounded label for metrics: building, search, download… */
  keyType: string;
  /** First segment of every key: `${namespace}:${tenantId}:${key}`. */
  namespace: string;
  /** How long an entry is fresh (served as HIT). */
  ttlMs: number;
  /** Stale-if-error: after expiry the old value is kept this long and served (STALE) when the loader fails. */
  staleTtlMs?: number;
  /** Stale-while-revalidate: within this long after expiry the old value is served at once (STALE) and refreshed in the background. 0 = off. */
  swrMs?: number;
  /** How long a `null` ("not found") result is cached; 0 = not cached. */
  negativeTtlMs?: number;
}

export interface GetOrLoadOptions {
  /** `Cache-Control: no-cache`: skip the read, load fresh, still store the result. */
  bypass?: boolean;
  /** Overrides the namespace's ttlMs for this entry. */
  ttlMs?: number;
}

export interface CacheResult<T> {
  /** null = the loader said "not found" (possibly a cached negative entry). */
  value: T | null;
  status: CacheStatus;
}

/** Per-namespace events, for feature metrics (building_cache_operations_total…). */
export type CacheEvent = 'hit' | 'miss' | 'set' | 'error' | 'stale' | 'invalidate';

/**
 * One feature's namespace of the two-level cache. The tenant is part of every key, so one tenant can
 * never read, overwrite or invalidate another's entries.
 *
 * getOrLoad: L1 (fresh → HIT) → L2 (fresh → HIT, copied into L1) → the loader (MISS), with one load
 * per key in this process however many callers wait (single flight). An entry past its TTL is kept
 * for the stale windows: served at once while revalidating within `swrMs`, served when the loader
 * throws within `staleTtlMs` (stale-if-error). Errors are never cached; `null` is, for `negativeTtlMs`.
 */
export class TieredCache<T = unknown> {
  private readonly logger: Logger;
  private readonly staleTtlMs: number;
  private readonly swrMs: number;
  private readonly negativeTtlMs: number;
  private readonly listeners: Array<(event: CacheEvent, count: number) => void> = [];

  constructor(
    private readonly backend: CacheBackend,
    readonly options: CacheFeatureOptions,
  ) {
    if (/[:*?[\]]/.test(options.namespace)) throw new Error(`Invalid cache namespace "${options.namespace}"`);
    this.logger = new Logger(`Cache:${options.namespace}`);
    this.staleTtlMs = options.staleTtlMs ?? 0;
    this.swrMs = options.swrMs ?? 0;
    this.negativeTtlMs = options.negativeTtlMs ?? 0;
  }

  get keyType(): string {
    return this.options.keyType;
  }

  /** `${namespace}:${tenantId}:${key}` — the L1 and Redis key. */
  keyOf(tenantId: string, key: string): string {
    if (!tenantId) throw new Error('A tenant id is required for every cache key');
    return `${this.options.namespace}:${tenantId}:${key}`;
  }

  /** Subscribes to this namespace's cache events (feature metrics). */
  onEvent(listener: (event: CacheEvent, count: number) => void): void {
    this.listeners.push(listener);
  }

  async getOrLoad(
    tenantId: string,
    key: string,
    loader: () => Promise<T | null>,
    opts: GetOrLoadOptions = {},
  ): Promise<CacheResult<T>> {
    const full = this.keyOf(tenantId, key);
    if (opts.bypass) {
      const value = await this.load(full, loader, opts.ttlMs);
      return { value, status: 'BYPASS' };
    }
    const now = Date.now();
    const local = this.readL1(full, now);
    if (local && local.f > now) {
      this.emit('hit');
      return { value: local.v as T | null, status: 'HIT' };
    }

    // one lookup (L2 read + load) per key; later callers join it
    let lookup = this.backend.lookups.get(full) as Promise<CacheResult<T>> | undefined;
    if (!lookup) {
      const started: Promise<CacheResult<T>> = this.resolve(full, local, loader, opts.ttlMs).finally(() => {
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

  /** The fresh value, or undefined (absent, expired or a negative entry). L1 then L2. */
  async get(tenantId: string, key: string): Promise<T | undefined> {
    const full = this.keyOf(tenantId, key);
    const now = Date.now();
    const local = this.readL1(full, now);
    if (local && local.f > now) return local.n ? undefined : (local.v as T);
    const remote = await this.readL2(full, now);
    return remote && remote.f > now && !remote.n ? (remote.v as T) : undefined;
  }

  /** Stores a value (null = negative entry) in L1 and L2. */
  async set(tenantId: string, key: string, value: T | null, ttlMs?: number): Promise<void> {
    await this.store(this.keyOf(tenantId, key), value, ttlMs, true);
  }

  async delete(tenantId: string, key: string): Promise<void> {
    await this.invalidate(tenantId, [key]);
  }

  /** Removes the tenant's keys from L1 on every replica and from L2; returns how many keys were named. */
  async invalidate(tenantId: string, keys: string[]): Promise<number> {
    const unique = [...new Set(keys)];
    await this.backend.invalidate(unique.map((k) => this.keyOf(tenantId, k)));
    this.emit('invalidate', unique.length);
    return unique.length;
  }

  /** Removes every entry of one tenant in this namespace, on every replica and in L2. */
  async invalidateTenant(tenantId: string): Promise<void> {
    await this.backend.invalidate([], [this.keyOf(tenantId, '')]);
    this.emit('invalidate', 1);
  }

  /** Loads fresh and stores (cache warming); single-flighted with concurrent loads of the key. */
  refresh(tenantId: string, key: string, loader: () => Promise<T | null>, ttlMs?: number): Promise<T | null> {
    return this.load(this.keyOf(tenantId, key), loader, ttlMs);
  }

  private async resolve(
    full: string,
    local: CacheEnvelope | undefined,
    loader: () => Promise<T | null>,
    ttlMs: number | undefined,
  ): Promise<CacheResult<T>> {
    let stale = local;
    const now = Date.now();
    const remote = await this.readL2(full, now);
    if (remote && remote.f > now) {
      this.backend.l1Set(full, this.options.keyType, remote);
      return { value: remote.v as T | null, status: 'HIT' };
    }
    if (remote && (!stale || remote.f > stale.f)) stale = remote;
    if (stale?.n) stale = undefined; // a stale "not found" is not worth serving

    if (stale && Date.now() < stale.f + this.swrMs) {
      this.load(full, loader, ttlMs).catch((err: Error) =>
        this.logger.warn(`Background revalidation of ${full} failed: ${err.message}`),
      );
      return { value: stale.v as T, status: 'STALE' };
    }
    try {
      return { value: await this.load(full, loader, ttlMs), status: 'MISS' };
    } catch (err) {
      if (stale && Date.now() < stale.f + this.staleTtlMs) {
        return { value: stale.v as T, status: 'STALE' };
      }
      throw err;
    }
  }

  /** One loader call per key at a time; the result is stored unless an invalidation overtook it. */
  private load(full: string, loader: () => Promise<T | null>, ttlMs: number | undefined): Promise<T | null> {
    const existing = this.backend.loads.get(full) as Flight<T | null> | undefined;
    if (existing) return existing.promise;
    const flight: Flight<T | null> = { promise: Promise.resolve(null), store: true };
    flight.promise = (async () => {
      const value = await loader();
      if (flight.store) await this.store(full, value, ttlMs, false);
      return value;
    })().finally(() => {
      if (this.backend.loads.get(full) === flight) this.backend.loads.delete(full);
    });
    this.backend.loads.set(full, flight);
    return flight.promise;
  }

  private async store(
    full: string,
    value: T | null,
    ttlMs: number | undefined,
    awaitL2: boolean,
  ): Promise<void> {
    const now = Date.now();
    let env: CacheEnvelope<T>;
    if (value === null || value === undefined) {
      if (this.negativeTtlMs <= 0) return;
      env = { v: null, f: now + this.negativeTtlMs, s: now + this.negativeTtlMs, n: 1 };
    } else {
      const f = now + (ttlMs ?? this.options.ttlMs);
      env = { v: value, f, s: f + Math.max(this.staleTtlMs, this.swrMs) };
    }
    this.backend.l1Set(full, this.options.keyType, env);
    this.emit('set');
    if (!this.backend.l2) return;
    // a MISS answers without waiting for Redis; the write finishes (or times out) on its own
    const write = this.backend.l2.set(full, env, now).then((ok) => {
      if (!ok) this.emit('error');
    });
    if (awaitL2) await write;
    else void write;
  }

  private readL1(full: string, now: number): CacheEnvelope | undefined {
    const started = process.hrtime.bigint();
    const env = this.backend.l1.get(full, now);
    this.backend.metrics.op('l1', 'get', 'ok', Number(process.hrtime.bigint() - started) / 1e9);
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
