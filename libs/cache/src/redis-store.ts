import { Logger } from '@nestjs/common';
import KeyvRedis, { createClient, RedisClientType } from '@keyv/redis';
import { randomUUID } from 'node:crypto';
import type { CacheEnvelope } from './lru-store';
import { CacheMetrics, CacheOperation } from './cache-metrics';
import { CacheTimeoutError, withTimeout } from './with-timeout';

/** The pub/sub channel replicas use to drop keys from each other's L1. */
export const INVALIDATION_CHANNEL = 'atrium:cache:invalidate';

export interface InvalidationMessage {
  /** instance id of the sender (it has already dropped its own L1 entries) */
  o: string;
  /** full keys */
  k?: string[];
  /** key prefixes (a tenant of a namespace) */
  p?: string[];
}

export type RedisState = 'ready' | 'connecting' | 'closed';

/**
 * L2: Redis through @keyv/redis, fail-soft. Two traps avoided on purpose:
 * - a node-redis client queues commands while disconnected and @keyv/redis would await them forever,
 *   so the client is created with `disableOfflineQueue` (offline = immediate error) and every command
 *   is raced against `opTimeoutMs` (a slow Redis, e.g. DEBUG SLEEP, costs at most that long);
 * - connecting is never awaited: startup with an unreachable Redis goes on with L1 only, and the
 *   reconnect strategy keeps trying in the background so L2 comes back by itself.
 * Every method resolves (never rejects); failures are counted in cache_operations_total.
 */
export class RedisL2 {
  private readonly logger = new Logger('CacheRedis');
  private readonly client: RedisClientType;
  private readonly subscriber: RedisClientType;
  private readonly store: KeyvRedis<string>;
  private lastErrorLog = 0;
  private closed = false;

  constructor(
    url: string,
    private readonly opTimeoutMs: number,
    private readonly metrics: CacheMetrics,
    readonly instanceId: string,
    private readonly onInvalidate: (msg: InvalidationMessage) => void,
  ) {
    const socket = {
      connectTimeout: Math.max(250, opTimeoutMs * 10),
      // keep retrying (capped backoff) so L2 returns when Redis does; never give up
      reconnectStrategy: (retries: number): number => Math.min(50 * 2 ** Math.min(retries, 6), 2000),
    };
    this.client = createClient({ url, disableOfflineQueue: true, socket });
    // the subscriber may queue its SUBSCRIBE until connected: it is background work, no caller waits
    this.subscriber = createClient({ url, socket });
    this.client.on('error', (err: Error) => this.logError('redis client error', err));
    this.subscriber.on('error', (err: Error) => this.logError('redis subscriber error', err));
    this.client.on('ready', () => this.logger.log('Redis (cache L2) connected'));
    this.store = new KeyvRedis<string>(this.client, {
      throwOnErrors: true,
      throwOnConnectError: true,
      useUnlink: true,
    });
    this.store.namespace = undefined; // keys are already namespaced: building_dir:{tenant}:{id}
    this.store.on('error', () => undefined); // counted by the caller; without a listener Hookified rethrows
  }

  /** Starts connecting in the background; resolves at once. */
  start(): void {
    this.client.connect().catch((err: Error) => this.logError('redis connect failed', err));
    this.subscriber.connect().catch((err: Error) => this.logError('redis subscriber connect failed', err));
    this.subscriber
      .subscribe(INVALIDATION_CHANNEL, (message: string) => {
        try {
          const msg = JSON.parse(message) as InvalidationMessage;
          if (msg.o !== this.instanceId) this.onInvalidate(msg);
        } catch {
          this.logger.warn('Ignoring a malformed cache invalidation message');
        }
      })
      .catch((err: Error) => this.logError('redis subscribe failed', err));
  }

  get state(): RedisState {
    if (this.closed) return 'closed';
    return this.client.isReady ? 'ready' : 'connecting';
  }

  get subscribed(): boolean {
    return this.subscriber.isReady;
  }

  /** `ok: false` when Redis failed or timed out (the caller treats it as a miss). */
  async get(key: string): Promise<{ ok: boolean; env?: CacheEnvelope }> {
    const r = await this.run('get', () => this.store.get(key));
    if (!r.ok || typeof r.value !== 'string') return { ok: r.ok };
    try {
      return { ok: true, env: JSON.parse(r.value) as CacheEnvelope };
    } catch {
      return { ok: true };
    }
  }

  async set(key: string, env: CacheEnvelope, now = Date.now()): Promise<boolean> {
    const ttl = env.s - now;
    if (ttl <= 0) return true;
    return (await this.run('set', () => this.store.set(key, JSON.stringify(env), ttl))).ok;
  }

  async delete(keys: string[]): Promise<boolean> {
    if (!keys.length) return true;
    return (await this.run('del', () => this.store.deleteMany(keys))).ok;
  }

  /** SCAN + UNLINK of every key under a prefix; bounded by 20× the op timeout in total. */
  async deleteByPrefix(prefix: string): Promise<boolean> {
    const escaped = prefix.replace(/[*?[\]\\]/g, '\\$&');
    const work = async (): Promise<boolean> => {
      for await (const batch of this.client.scanIterator({ MATCH: `${escaped}*`, COUNT: 500 })) {
        const keys = batch;
        if (keys.length) await this.client.unlink(keys);
      }
      return true;
    };
    return (await this.run('invalidate', work, this.opTimeoutMs * 20)).ok;
  }

  /** Tells the other replicas to drop these keys/prefixes from their L1. */
  async publish(msg: Omit<InvalidationMessage, 'o'>): Promise<boolean> {
    const payload = JSON.stringify({ ...msg, o: this.instanceId });
    return (await this.run('invalidate', () => this.client.publish(INVALIDATION_CHANNEL, payload))).ok;
  }

  /** Health: a real write, read and delete round trip (throws when Redis does not answer). */
  async roundTrip(timeoutMs: number): Promise<{ latencyMs: number; subscribed: boolean }> {
    const started = Date.now();
    const key = `atrium:health:${this.instanceId}:${randomUUID()}`;
    const value = String(started);
    await withTimeout(
      (async () => {
        await this.client.set(key, value, { PX: 10000 });
        const read = await this.client.get(key);
        await this.client.unlink(key);
        if (read !== value) throw new Error('Redis returned a different value than written');
      })(),
      timeoutMs,
    );
    return { latencyMs: Date.now() - started, subscribed: this.subscribed };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // destroy, not QUIT: a sleeping/unreachable Redis must not hold up shutdown
    for (const c of [this.client, this.subscriber]) {
      try {
        if (c.isOpen) c.destroy();
      } catch {
        // already gone
      }
    }
  }

  private async run<T>(
    operation: CacheOperation,
    fn: () => Promise<T>,
    timeoutMs = this.opTimeoutMs,
  ): Promise<{ ok: true; value: T } | { ok: false; value?: undefined }> {
    if (this.closed || !this.client.isReady) {
      // known to be offline: fail at once instead of sending a doomed command
      this.metrics.op('l2', operation, 'error');
      return { ok: false };
    }
    const started = process.hrtime.bigint();
    try {
      const result = await withTimeout(fn(), timeoutMs);
      this.metrics.op('l2', operation, 'ok', Number(process.hrtime.bigint() - started) / 1e9);
      return { ok: true, value: result };
    } catch (err) {
      const timedOut = err instanceof CacheTimeoutError;
      this.metrics.op(
        'l2',
        operation,
        timedOut ? 'timeout' : 'error',
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      this.logError(`redis ${operation} ${timedOut ? 'timed out' : 'failed'}`, err as Error);
      return { ok: false };
    }
  }

  /** At most one line per 5 s: a Redis outage must not flood the log at request rate. */
  private logError(msg: string, err: Error): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 5000) return;
    this.lastErrorLog = now;
    this.logger.warn(`${msg}: ${err.message} (cache degrades to L1 + source)`);
  }
}
