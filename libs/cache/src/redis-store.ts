import { Logger } from '@nestjs/common';
import KeyvRedis, { createClient, RedisClientType } from '@keyv/redis';
import { Keyv, KeyvStoreAdapter, StoredData } from 'keyv';
import { randomUUID } from 'node:crypto';
import { ConnectionMonitor, ConnectionReporter, LogThrottle, redisAddress } from '@libs/observability';
import type { CacheEnvelope } from './l1-store';
import { CacheMetrics, CacheOperation } from './cache-metrics';
import { TimeoutError, withTimeout } from './with-timeout';

/** The pub/sub channel replicas use to drop keys from each other's L1. */
export const INVALIDATION_CHANNEL = 'atrium:cache:invalidate';

export interface InvalidationMessage {
  /** instance id of the sender (it has already dropped its own L1 entries) */
  o: string;
  /** full keys */
  k?: string[];
}

export type RedisState = 'ready' | 'connecting' | 'closed';

/**
 * The two node-redis clients of L2. Two traps avoided on purpose:
 * - a node-redis client queues commands while disconnected and @keyv/redis would await them forever,
 *   so the command client is created with `disableOfflineQueue` (offline = immediate error) and
 *   every operation is raced against the op timeout (BoundedRedisStore);
 * - connecting is never awaited: startup with an unreachable Redis goes on with L1 only, and the
 *   reconnect strategy keeps trying in the background so L2 comes back by itself.
 * Both clients report their connection to the `monitor` (shared with the app's other Redis clients), which
 * says once that Redis is lost and once that it is back.
 */
export class RedisConnection {
  readonly client: RedisClientType;
  readonly subscriber: RedisClientType;
  readonly monitor: ConnectionMonitor;
  private readonly logger = new Logger('CacheRedis');
  private readonly errorLog = new LogThrottle(5000);
  private readonly reporters: ConnectionReporter[];
  private closed = false;
  /** Redis has acknowledged the SUBSCRIBE (node-redis renews it by itself after a reconnect). */
  private subscribeAcked = false;

  constructor(url: string, opTimeoutMs: number, monitor?: ConnectionMonitor) {
    const socket = {
      connectTimeout: Math.max(250, opTimeoutMs * 10),
      // keep retrying (capped backoff) so L2 returns when Redis does; never give up
      reconnectStrategy: (retries: number): number => Math.min(50 * 2 ** Math.min(retries, 6), 2000),
    };
    this.client = createClient({ url, disableOfflineQueue: true, socket });
    // the subscriber may queue its SUBSCRIBE until connected: it is background work, no caller waits
    this.subscriber = createClient({ url, socket });
    this.monitor =
      monitor ??
      new ConnectionMonitor({
        dependency: 'Redis',
        address: redisAddress(url),
        impact: 'the cache degrades to L1 + source',
      });
    const client = this.monitor.reporter('cache');
    const subscriber = this.monitor.reporter('cache invalidation subscriber');
    this.reporters = [client, subscriber];
    // connection errors go to the monitor (one line per outage), never unhandled
    this.client.on('error', (err: Error) => client.error(err));
    this.subscriber.on('error', (err: Error) => subscriber.error(err));
    this.client.on('ready', () => client.ready());
    this.subscriber.on('ready', () => subscriber.ready());
  }

  /** Starts connecting in the background and subscribes to invalidations; resolves at once. */
  start(onMessage: (message: string) => void): void {
    const [client, subscriber] = this.reporters;
    this.client.connect().catch((err: Error) => client.error(err));
    this.subscriber.connect().catch((err: Error) => subscriber.error(err));
    this.subscriber
      .subscribe(INVALIDATION_CHANNEL, onMessage)
      .then(() => (this.subscribeAcked = true))
      .catch((err: Error) => this.logError('redis subscribe failed', err));
  }

  get ready(): boolean {
    return !this.closed && this.client.isReady;
  }

  get state(): RedisState {
    if (this.closed) return 'closed';
    return this.client.isReady ? 'ready' : 'connecting';
  }

  /**
   * Connected and subscribed: a connected subscriber whose SUBSCRIBE is still on its way would miss an
   * invalidation published meanwhile, so `isReady` alone is not enough.
   */
  get subscribed(): boolean {
    return this.subscribeAcked && this.subscriber.isReady;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.reporters) r.closed();
    // destroy, not QUIT: a sleeping/unreachable Redis must not hold up shutdown
    for (const c of [this.client, this.subscriber]) {
      try {
        if (c.isOpen) c.destroy();
      } catch {
        // already gone
      }
    }
  }

  /**
   * An operation that failed or timed out while connected (a slow or overloaded Redis): at most one line per
   * 5 s, so it does not flood the log at request rate. A lost connection is the monitor's to report.
   */
  logError(msg: string, err: Error): void {
    if (!this.client.isReady || !this.errorLog.allow()) return;
    this.logger.warn(`${msg}: ${err.message} (cache degrades to L1 + source)`);
  }
}

class RedisOfflineError extends Error {
  constructor() {
    super('redis is not connected');
  }
}

/**
 * The bounded-operation wrapper around @keyv/redis, as a Keyv store: the cache manager's L2.
 * Every operation fails at once while Redis is known to be offline, is raced against the op timeout
 * (a slow Redis, e.g. DEBUG SLEEP, costs at most that long), and is counted in
 * cache_operations_total{cache_level="l2"}. A failed get or set is reported to `onFailure` with its key
 * (the namespace's `error` event) and thrown to the L2 Keyv, which turns it into a miss / `false` (it has
 * no throwOnErrors): the cache manager goes on without L2, as it does for any store that fails. Redis holds
 * the envelope as JSON under the bare key (`building_dir:{tenant}:{id}`), with a Redis TTL at the end of
 * its stale window.
 */
export class BoundedRedisStore implements KeyvStoreAdapter {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- KeyvStoreAdapter declares opts as any
  opts: any = {};
  namespace?: string;
  /** Told of each get or set that failed or timed out, with its key. */
  onFailure?: (key: string) => void;
  private readonly inner: KeyvRedis<string>;

  constructor(
    private readonly connection: RedisConnection,
    private readonly opTimeoutMs: number,
    private readonly metrics: CacheMetrics,
  ) {
    this.inner = new KeyvRedis<string>(connection.client, {
      throwOnErrors: true,
      throwOnConnectError: true,
      useUnlink: true,
    });
    this.inner.namespace = undefined; // keys are already namespaced: building_dir:{tenant}:{id}
    this.inner.on('error', () => undefined); // counted here; without a listener Hookified rethrows
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    const raw = await this.run('get', () => this.inner.get(key), key);
    if (typeof raw !== 'string') return undefined;
    try {
      return { value: JSON.parse(raw) as Value };
    } catch {
      return undefined; // not ours to read: a miss
    }
  }

  async set(key: string, data: { value: CacheEnvelope }, ttl?: number): Promise<boolean> {
    if (ttl === undefined || ttl <= 0) return true;
    await this.run('set', () => this.inner.set(key, JSON.stringify(data.value), ttl), key);
    return true;
  }

  async delete(key: string): Promise<boolean> {
    return this.run('del', () => this.inner.delete(key));
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    return this.run('del', () => this.inner.deleteMany(keys));
  }

  /** Never clears a shared Redis (no namespace: @keyv/redis's clear is a no-op). */
  async clear(): Promise<void> {
    await this.inner.clear();
  }

  async disconnect(): Promise<void> {
    this.connection.close();
  }

  on(): this {
    return this;
  }

  private async run<T>(operation: CacheOperation, fn: () => Promise<T>, key?: string): Promise<T> {
    if (!this.connection.ready) {
      // known to be offline: fail at once instead of sending a doomed command
      this.metrics.op('l2', operation, 'error');
      if (key !== undefined) this.onFailure?.(key);
      throw new RedisOfflineError();
    }
    const started = process.hrtime.bigint();
    try {
      const result = await withTimeout(fn(), this.opTimeoutMs);
      this.metrics.op('l2', operation, 'ok', Number(process.hrtime.bigint() - started) / 1e9);
      return result;
    } catch (err) {
      const timedOut = err instanceof TimeoutError;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.op('l2', operation, timedOut ? 'timeout' : 'error', seconds);
      this.connection.logError(`redis ${operation} ${timedOut ? 'timed out' : 'failed'}`, err as Error);
      if (key !== undefined) this.onFailure?.(key);
      throw err;
    }
  }
}

/**
 * The Keyv the cache manager holds as L2: the bounded store, no serializer of its own, bare keys. A failed
 * operation is a miss (get) or `false` (set) — counted and reported by the store — so the cache manager's
 * `wrap` keeps the loaded value when Redis cannot take it.
 */
export function createL2Keyv(store: BoundedRedisStore): Keyv<CacheEnvelope> {
  const keyv = new Keyv<CacheEnvelope>({
    store,
    namespace: undefined,
    useKeyPrefix: false,
    serialize: undefined,
    deserialize: undefined,
  });
  keyv.on('error', () => undefined); // counted and reported by the store; without a listener Keyv rethrows
  return keyv;
}

/**
 * What Keyv and the cache manager have no word for: the cross-replica invalidation channel, the connection's
 * state and a health round trip — plus a read of one key through the cache manager's L2 store (inspection).
 */
export class RedisL2 {
  private readonly logger = new Logger('CacheRedis');

  constructor(
    private readonly connection: RedisConnection,
    private readonly store: Keyv<CacheEnvelope>,
    private readonly metrics: CacheMetrics,
    readonly instanceId: string,
    private readonly opTimeoutMs: number,
    private readonly onInvalidate: (msg: InvalidationMessage) => void,
  ) {}

  start(): void {
    this.connection.start((message: string) => {
      try {
        const msg = JSON.parse(message) as InvalidationMessage;
        if (msg.o !== this.instanceId) this.onInvalidate(msg);
      } catch {
        this.logger.warn('Ignoring a malformed cache invalidation message');
      }
    });
  }

  get state(): RedisState {
    return this.connection.state;
  }

  get subscribed(): boolean {
    return this.connection.subscribed;
  }

  /** The envelope Redis holds for `key` (through the L2 Keyv; undefined when absent or Redis did not answer). */
  async get(key: string): Promise<{ env?: CacheEnvelope }> {
    return { env: await this.store.get(key) };
  }

  /** Tells the other replicas to drop these keys from their L1. */
  async publish(keys: string[]): Promise<boolean> {
    if (!this.connection.ready) {
      this.metrics.op('l2', 'invalidate', 'error');
      return false;
    }
    const payload = JSON.stringify({ o: this.instanceId, k: keys } satisfies InvalidationMessage);
    const started = process.hrtime.bigint();
    try {
      await withTimeout(this.connection.client.publish(INVALIDATION_CHANNEL, payload), this.opTimeoutMs);
      this.metrics.op('l2', 'invalidate', 'ok', Number(process.hrtime.bigint() - started) / 1e9);
      return true;
    } catch (err) {
      const timedOut = err instanceof TimeoutError;
      this.metrics.op('l2', 'invalidate', timedOut ? 'timeout' : 'error');
      this.connection.logError('redis publish failed', err as Error);
      return false;
    }
  }

  /** Health: a real write, read and delete round trip (throws when Redis does not answer). */
  async roundTrip(timeoutMs: number): Promise<{ latencyMs: number; subscribed: boolean }> {
    const started = Date.now();
    const key = `atrium:health:${this.instanceId}:${randomUUID()}`;
    const value = String(started);
    const client = this.connection.client;
    await withTimeout(
      (async () => {
        await client.set(key, value, { PX: 10000 });
        const read = await client.get(key);
        await client.unlink(key);
        if (read !== value) throw new Error('Redis returned a different value than written');
      })(),
      timeoutMs,
    );
    return { latencyMs: Date.now() - started, subscribed: this.subscribed };
  }
}
