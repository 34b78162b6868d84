import { Logger } from '@nestjs/common';
import { Cache, createCache } from 'cache-manager';
import type { Keyv } from 'keyv';
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { ConnectionMonitor } from '@libs/observability';
import { CacheMetrics } from './cache-metrics';
import { CacheEnvelope, createL1Keyv, L1Level } from './l1-store';
import {
  BoundedRedisStore,
  createL2Keyv,
  InvalidationMessage,
  RedisConnection,
  RedisL2,
} from './redis-store';

export interface CacheBackendOptions {
  /** redis:// URL of the shared L2; unset = L1 only. */
  redisUrl?: string;
  /** Upper bound of every Redis operation (CACHE_OP_TIMEOUT_MS). */
  opTimeoutMs: number;
  /** L1 bound in entries, all namespaces together (CACHE_L1_MAX_ENTRIES). */
  l1MaxEntries: number;
  /**
   * L1 bound in bytes (JSON size of the entries), all namespaces together (CACHE_L1_MAX_BYTES); an entry
   * larger than an eighth of it is not kept in L1. Default 64 MiB.
   */
  l1MaxBytes?: number;
  /** The app's Prometheus registry. */
  registry: Registry;
  /**
   * Where the Redis clients report their connection (the app shares one with its other Redis clients, so an
   * outage is told once); default: one of the cache's own.
   */
  connectionMonitor?: ConnectionMonitor;
}

export const DEFAULT_L1_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The Keyv stores the cache manager is built from (CacheModule hands `keyvs` to @nestjs/cache-manager):
 * L1 lru-cache (bounded in entries and bytes), L2 @keyv/redis behind the bounded-operation wrapper. Also the metrics
 * and the Redis connection, which the stores and the backend share.
 */
export class CacheStores {
  readonly metrics: CacheMetrics;
  readonly l1: L1Level;
  readonly redis?: RedisConnection;
  readonly l2Store?: BoundedRedisStore;
  readonly keyvs: Array<Keyv<CacheEnvelope>>;

  constructor(readonly options: CacheBackendOptions) {
    const { keyv: l1Keyv, map } = createL1Keyv({
      maxEntries: options.l1MaxEntries,
      maxBytes: options.l1MaxBytes ?? DEFAULT_L1_MAX_BYTES,
    });
    this.l1 = new L1Level(l1Keyv, map);
    this.metrics = new CacheMetrics(options.registry, () => this.l1.sizeByKeyType());
    map.onOperation = (operation, seconds) => this.metrics.op('l1', operation, 'ok', seconds);
    this.keyvs = [l1Keyv];
    if (options.redisUrl) {
      this.redis = new RedisConnection(options.redisUrl, options.opTimeoutMs, options.connectionMonitor);
      this.l2Store = new BoundedRedisStore(this.redis, options.opTimeoutMs, this.metrics);
      this.keyvs.push(createL2Keyv(this.l2Store));
    }
  }
}

/** How many invalidated keys are remembered for in-flight lookups (older ones: assume invalidated). */
const INVALIDATION_MEMORY = 10_000;

/**
 * The process-wide cache state every TieredCache shares: the cache manager (cache-manager 7 over its Keyv
 * stores, L1 then L2 — every read and write of the namespaces goes through it), the metrics, the loads in
 * flight that the manager's `wrap` does not cover (stale revalidation, no-cache), and the recent
 * invalidations, so an invalidation — local or from another replica — also stops a lookup that started before
 * it from writing its now-stale result.
 *
 * `new CacheBackend(options)` builds its own stores and cache manager (tests, scripts); in the app,
 * CacheModule builds the stores, lets @nestjs/cache-manager create CACHE_MANAGER from them, and passes both.
 */
export class CacheBackend {
  readonly instanceId = randomUUID();
  readonly manager: Cache;
  readonly l1: L1Level;
  readonly l2?: RedisL2;
  readonly metrics: CacheMetrics;
  readonly opTimeoutMs: number;
  /** Loads outside the manager's `wrap` (stale revalidation, no-cache), one per key. */
  readonly loads = new Map<string, Promise<unknown>>();
  /** Namespaces created with `enabled: false` (their routes' CacheInterceptor passes through). */
  readonly disabledNamespaces = new Set<string>();
  /** namespace → its TieredCache's error event (an L2 get or set of one of its keys failed). */
  readonly l2Failures = new Map<string, () => void>();
  /**
   * Envelopes this process holds in L1, by identity: L1 keeps the objects it is given (no serializer), while
   * L2 answers with a new object parsed from Redis. What `wrap` returns is thereby known to come from L1
   * or L2 — the level metrics — without asking the stores twice.
   */
  readonly inL1 = new WeakSet<object>();
  /** Envelopes loaded by this process: the order of their load (a lookup that started earlier saw a MISS). */
  readonly loadedAt = new WeakMap<object, number>();
  /** Ticks once per lookup and per load. */
  tick = 0;
  /** Bumped by every invalidated key; a lookup notes it when it starts. */
  private invalidationSeq = 0;
  /** key → invalidationSeq of its last invalidation, oldest first, at most INVALIDATION_MEMORY */
  private readonly invalidatedAt = new Map<string, number>();
  /** the newest sequence number dropped from invalidatedAt */
  private forgottenSeq = 0;
  private readonly logger = new Logger('Cache');
  remoteInvalidations = 0;

  constructor(source: CacheBackendOptions | CacheStores, manager?: Cache) {
    const stores = source instanceof CacheStores ? source : new CacheStores(source);
    this.manager = manager ?? createCache({ stores: stores.keyvs });
    this.metrics = stores.metrics;
    this.opTimeoutMs = stores.options.opTimeoutMs;
    this.l1 = stores.l1;
    if (stores.l2Store)
      stores.l2Store.onFailure = (key) => this.l2Failures.get(key.slice(0, key.indexOf(':')))?.();
    // the manager's second store (with Redis) is L2: the invalidation channel and the health check sit beside it
    const l2Store = this.manager.stores[1] as Keyv<CacheEnvelope> | undefined;
    if (stores.redis && l2Store)
      this.l2 = new RedisL2(stores.redis, l2Store, this.metrics, this.instanceId, this.opTimeoutMs, (msg) =>
        this.applyRemote(msg),
      );
  }

  start(): void {
    this.l2?.start();
    this.logger.log(
      this.l2
        ? `Cache: L1 (${this.l1Bounds()}) + L2 Redis (op timeout ${this.opTimeoutMs} ms)`
        : `Cache: L1 only (${this.l1Bounds()}); set REDIS_URL for a shared L2`,
    );
  }

  private l1Bounds(): string {
    return `${this.l1.maxEntries} entries, ${Math.round(this.l1.maxBytes / 1024 / 1024)} MiB`;
  }

  async close(): Promise<void> {
    await this.manager.disconnect();
    this.l1.clear();
  }

  /** Where the invalidation sequence is now: what a lookup notes when it starts. */
  get sequence(): number {
    return this.invalidationSeq;
  }

  /** True when `key` was (or may have been) invalidated after `seq`: a lookup started then must not store. */
  invalidatedSince(key: string, seq: number): boolean {
    if (seq === this.invalidationSeq) return false;
    const at = this.invalidatedAt.get(key);
    return at !== undefined ? at > seq : this.forgottenSeq > seq;
  }

  /**
   * Drops keys from this replica's L1 and stops lookups of them in flight from storing. Synchronous on
   * purpose: an invalidation from another replica takes effect before any later read here.
   */
  dropLocal(keys: string[]): number {
    for (const key of keys) this.forget(key);
    const n = this.l1.delete(keys);
    this.metrics.op('l1', 'invalidate', 'ok');
    return n;
  }

  /**
   * Invalidates everywhere: this L1 (at once), both levels through the cache manager's `mdel`, and (via
   * pub/sub) the L1 of every other replica.
   */
  async invalidate(keys: string[]): Promise<{ l1: number; published: boolean }> {
    const l1 = this.dropLocal(keys);
    if (keys.length) await this.manager.mdel(keys).catch(() => false); // L2 failures are counted by its store
    if (!this.l2) return { l1, published: true };
    return { l1, published: await this.l2.publish(keys) };
  }

  private forget(key: string): void {
    const seq = ++this.invalidationSeq;
    this.invalidatedAt.delete(key);
    this.invalidatedAt.set(key, seq);
    if (this.invalidatedAt.size > INVALIDATION_MEMORY) {
      const [oldest, oldestSeq] = this.invalidatedAt.entries().next().value as [string, number];
      this.invalidatedAt.delete(oldest);
      this.forgottenSeq = oldestSeq;
    }
    // later callers start a new load instead of joining one that began before the invalidation
    this.loads.delete(key);
  }

  private applyRemote(msg: InvalidationMessage): void {
    this.remoteInvalidations++;
    this.dropLocal(msg.k ?? []);
  }

  /** What /metrics/cache and the `cache` section of /metrics/live show. */
  snapshot(): Record<string, unknown> {
    const hits = this.metrics.snapshot();
    const sizes = this.l1.sizeByKeyType();
    const l1ByType: Record<string, unknown> = {};
    for (const keyType of new Set([...Object.keys(hits.l1), ...Object.keys(sizes)]))
      l1ByType[keyType] = {
        ...(hits.l1[keyType] ?? { hits: 0, misses: 0, hitRate: null }),
        size: sizes[keyType] ?? 0,
      };
    return {
      l1: {
        size: this.l1.size,
        maxEntries: this.l1.maxEntries,
        bytes: this.l1.bytes,
        maxBytes: this.l1.maxBytes,
        evictions: this.l1.evictions,
        keyTypes: l1ByType,
      },
      l2: this.l2
        ? {
            configured: true,
            state: this.l2.state,
            subscribed: this.l2.subscribed,
            opTimeoutMs: this.opTimeoutMs,
            operations: this.metrics.operations('l2'),
            keyTypes: hits.l2,
            remoteInvalidations: this.remoteInvalidations,
          }
        : { configured: false },
    };
  }
}
