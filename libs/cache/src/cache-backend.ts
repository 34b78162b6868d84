import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { CacheMetrics } from './cache-metrics';
import { CacheEnvelope, LruStore } from './lru-store';
import { InvalidationMessage, RedisL2 } from './redis-store';

export interface CacheBackendOptions {
  /** redis:// URL of the shared L2; unset = L1 only. */
  redisUrl?: string;
  /** Upper bound of every Redis operation (CACHE_OP_TIMEOUT_MS). */
  opTimeoutMs: number;
  /** L1 bound, all namespaces together (CACHE_L1_MAX_ENTRIES). */
  l1MaxEntries: number;
  /** The app's Prometheus registry. */
  registry: Registry;
}

/** A load in progress; `store: false` once an invalidation overtook it, so it cannot write old data back. */
export interface Flight<R> {
  promise: Promise<R>;
  store: boolean;
}

/**
 * The process-wide cache state every TieredCache shares: the L1 LRU, the optional Redis L2, the
 * metrics, and the in-flight loads (so an invalidation — local or from another replica — also stops
 * a load that started before it from writing its now-stale result).
 */
export class CacheBackend {
  readonly instanceId = randomUUID();
  readonly l1: LruStore;
  readonly l2?: RedisL2;
  readonly metrics: CacheMetrics;
  readonly opTimeoutMs: number;
  readonly loads = new Map<string, Flight<unknown>>();
  readonly lookups = new Map<string, Promise<unknown>>();
  private readonly logger = new Logger('Cache');
  remoteInvalidations = 0;

  constructor(opts: CacheBackendOptions) {
    this.l1 = new LruStore(opts.l1MaxEntries);
    this.metrics = new CacheMetrics(opts.registry, this.l1);
    this.opTimeoutMs = opts.opTimeoutMs;
    if (opts.redisUrl)
      this.l2 = new RedisL2(opts.redisUrl, opts.opTimeoutMs, this.metrics, this.instanceId, (msg) =>
        this.applyRemote(msg),
      );
  }

  start(): void {
    this.l2?.start();
    this.logger.log(
      this.l2
        ? `Cache: L1 (${this.l1.maxEntries} entries) + L2 Redis (op timeout ${this.opTimeoutMs} ms)`
        : `Cache: L1 only (${this.l1.maxEntries} entries); set REDIS_URL for a shared L2`,
    );
  }

  async close(): Promise<void> {
    await this.l2?.close();
    this.l1.clear();
  }

  l1Set(key: string, keyType: string, env: CacheEnvelope): void {
    const started = process.hrtime.bigint();
    this.l1.set(key, keyType, env);
    this.metrics.op('l1', 'set', 'ok', Number(process.hrtime.bigint() - started) / 1e9);
  }

  /** Drops keys from this replica's L1 and stops in-flight loads of them from storing. */
  dropLocal(keys: string[], prefixes: string[] = []): number {
    let n = 0;
    for (const key of keys) {
      if (this.l1.delete(key)) n++;
      this.forget(key);
    }
    for (const prefix of prefixes) {
      n += this.l1.deleteByPrefix(prefix);
      for (const key of [...this.loads.keys(), ...this.lookups.keys()])
        if (key.startsWith(prefix)) this.forget(key);
    }
    this.metrics.op('l1', 'invalidate', 'ok');
    return n;
  }

  /** Invalidates everywhere: this L1, Redis, and (via pub/sub) the L1 of every other replica. */
  async invalidate(
    keys: string[],
    prefixes: string[] = [],
  ): Promise<{ l1: number; l2: boolean; published: boolean }> {
    const l1 = this.dropLocal(keys, prefixes);
    if (!this.l2) return { l1, l2: true, published: true };
    const [deleted, ...byPrefix] = await Promise.all([
      this.l2.delete(keys),
      ...prefixes.map((p) => this.l2!.deleteByPrefix(p)),
    ]);
    const published = await this.l2.publish({
      k: keys.length ? keys : undefined,
      p: prefixes.length ? prefixes : undefined,
    });
    return { l1, l2: deleted && byPrefix.every(Boolean), published };
  }

  private forget(key: string): void {
    const flight = this.loads.get(key);
    if (flight) {
      flight.store = false;
      this.loads.delete(key);
    }
    this.lookups.delete(key);
  }

  private applyRemote(msg: InvalidationMessage): void {
    this.remoteInvalidations++;
    this.dropLocal(msg.k ?? [], msg.p ?? []);
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
