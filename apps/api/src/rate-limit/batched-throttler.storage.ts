import { Logger, OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { ConnectionMonitor, LogThrottle, redisAddress } from '@libs/observability';

/** What `ThrottlerStorage.increment` resolves to (the package's root exports the interface, not the record type). */
type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

// One hash per counter and window: `_w` names the window (set by the push that opens it, which also
// sets its expiry — the window starts with the first hit any replica pushes, as a shared INCR's would),
// and a field per replica holds that replica's hits so far in the window. A replica writes its running
// count (never less than what is stored), so a push repeated after a timeout counts nothing twice. Counts
// pushed for a window that has since ended (ARGV[3] names another window) are not added to the new one.
// Reply: {total over every replica, the window's name, ms left}.
const PUSH = `
local window = redis.call('HGET', KEYS[1], '_w')
if not window then
  window = ARGV[4]
  redis.call('HSET', KEYS[1], '_w', window)
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
if ARGV[3] == '' or ARGV[3] == window then
  local stored = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
  if tonumber(ARGV[2]) > stored then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
end
local total = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  if fields[i] ~= '_w' then total = total + tonumber(fields[i + 1]) end
end
return {total, window, redis.call('PTTL', KEYS[1])}`;

type PushReply = [number, string, number];
/** key, replica, its running count, the window it counted in ('' = not known yet), a name for a new window, window ms */
type Push = (
  key: string,
  replica: string,
  mine: number,
  window: string,
  newWindow: string,
  windowMs: number,
) => Promise<PushReply>;
type RedisWithPush = Redis & { atriumRateLimitPush: Push };

/** Failed Redis calls in a row after which a replica enforces limits on its own (see `failures`). */
const FAILURES_BEFORE_LOCAL = 3;

export interface BatchedThrottlerOptions {
  /** redis://… ; unset = every replica counts on its own. */
  redisUrl?: string;
  /** Prefix of the Redis keys (`<prefix><group>:<caller>:<window>`). */
  prefix: string;
  /** Bound on one Redis call (a slower answer counts as Redis being unavailable). */
  opTimeoutMs: number;
  /** How often local counts are pushed to Redis and the shared totals read back. */
  syncIntervalMs: number;
  /**
   * Share of a limit one replica may admit that Redis has not yet acknowledged (its batch). A batch below
   * 2 means every hit is counted in Redis before it is answered, as a plain shared counter would.
   */
  localShare: number;
  /** Where the Redis client reports its connection (one line per outage); default: one of its own. */
  connectionMonitor?: ConnectionMonitor;
}

/** One (group, caller) window as this replica sees it. */
interface Counter {
  key: string;
  windowMs: number;
  /** The window's name in Redis; undefined until a push has answered (the window may not exist yet). */
  window?: string;
  /** Epoch ms when the window ends (provisional until Redis has answered). */
  windowEnd: number;
  /** Hits admitted here in this window. */
  mine: number;
  /** How many of them Redis has acknowledged. */
  acked: number;
  /** The window's total over every replica at the last answer (this replica's acknowledged hits included). */
  shared: number;
  /** The push in flight (batched counters: one at a time). */
  flushing?: Promise<void>;
}

/**
 * @nestjs/throttler storage with local counters synced to Redis in batches, instead of a Redis round trip
 * per request.
 *
 * Fixed windows, shared through Redis: a window starts with the first hit any replica pushes and lasts
 * the window length. Each replica decides on its own view of a window — the shared total at the last sync
 * plus the hits it has admitted since — and pushes its running count every `syncIntervalMs` (one pipelined
 * round trip for all active counters) or as soon as half a batch is unacknowledged; the reply brings the
 * other replicas' hits back. The batch is `floor(limit × localShare)`: a replica never holds more than
 * that many hits Redis has not acknowledged (a request that would exceed it waits for the push in flight).
 * Hence the bound: in one window the replicas together admit at most `limit − 1 + replicas × batch`
 * requests — once the shared total has reached the limit, each replica admits at most the batch it held
 * before learning it. Limits whose batch would be below 2 are counted in Redis on every hit, exactly, as a
 * shared INCR would.
 *
 * Refused requests are not counted in batches (the window is exhausted; counting them changes nothing).
 * Without Redis, or while it does not answer, the same counters enforce each limit per replica; the hits
 * admitted meanwhile reach Redis with the next push that succeeds.
 */
export class BatchedThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly counters = new Map<string, Counter>();
  private readonly redis?: RedisWithPush;
  private readonly replica = randomBytes(6).toString('base64url');
  private readonly timer: NodeJS.Timeout;
  /**
   * Redis calls that failed in a row; cleared by one that succeeds. One slow answer (a GC pause, a busy
   * event loop) does not drop the shared limit: after FAILURES_BEFORE_LOCAL in a row, or as soon as the
   * connection is down, this replica enforces limits on its own until Redis answers again.
   */
  private failures = 0;
  private readonly warnings = new LogThrottle(10_000);
  private closed = false;

  constructor(private readonly options: BatchedThrottlerOptions) {
    if (options.redisUrl) {
      const redis = new Redis(options.redisUrl, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: options.opTimeoutMs,
        retryStrategy: (times) => Math.min(times * 200, 2000),
      });
      const monitor =
        options.connectionMonitor ??
        new ConnectionMonitor({
          dependency: 'Redis',
          address: redisAddress(options.redisUrl),
          impact: 'rate limits are counted per replica',
        });
      // a lost connection is reported once by the monitor, not per reconnect attempt
      monitor.watch('rate-limit counters', redis);
      redis.defineCommand('atriumRateLimitPush', { numberOfKeys: 1, lua: PUSH });
      this.redis = redis as RedisWithPush;
    }
    this.timer = setInterval(() => this.tick(), options.syncIntervalMs);
    this.timer.unref();
  }

  /** Hits one replica may hold that Redis has not acknowledged, for a limit (1 = counted on every hit). */
  batchOf(limit: number): number {
    const batch = Math.floor(limit * this.options.localShare);
    return batch < 2 ? 1 : batch;
  }

  /** Resolves once the Redis connection is up (tests; requests never wait for it). */
  async ready(): Promise<void> {
    const redis = this.redis;
    if (redis !== undefined && redis.status !== 'ready')
      await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
  }

  /** Counters held in memory (they are swept once their window has ended). */
  get size(): number {
    return this.counters.size;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    _throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    let counter = this.counterOf(key, ttl, Date.now());
    const batch = this.batchOf(limit);
    if (batch === 1 && this.redisUsable()) {
      counter.mine++;
      const total = await this.pushOne(counter);
      if (total !== undefined) return this.record(counter, total, total > limit);
      // Redis failed: this hit stays counted here (it reaches Redis with the next push that succeeds)
      const used = this.used(counter);
      if (used <= limit) return this.record(counter, used, false);
      counter.mine--;
      return this.record(counter, used, true);
    }
    for (;;) {
      const used = this.used(counter);
      if (used >= limit) return this.record(counter, used + 1, true);
      const unacked = counter.mine - counter.acked;
      if (batch > 1 && unacked >= batch && this.redisUsable()) {
        // this replica already holds a full batch Redis has not acknowledged: wait until it has
        await (counter.flushing ?? this.flush([counter]));
        counter = this.counterOf(key, ttl, Date.now()); // the window may have ended meanwhile
        continue;
      }
      counter.mine++;
      if ((unacked + 1) * 2 >= batch && batch > 1 && counter.flushing === undefined && this.redisUsable())
        void this.flush([counter]);
      return this.record(counter, used + 1, false);
    }
  }

  /** This replica's view of the window's total: the last shared total plus its own unacknowledged hits. */
  private used(counter: Counter): number {
    return counter.shared + counter.mine - counter.acked;
  }

  private record(counter: Counter, totalHits: number, isBlocked: boolean): ThrottlerStorageRecord {
    const timeToExpire = Math.max(1, Math.ceil((counter.windowEnd - Date.now()) / 1000));
    return { totalHits, timeToExpire, isBlocked, timeToBlockExpire: isBlocked ? timeToExpire : 0 };
  }

  private counterOf(key: string, windowMs: number, now: number): Counter {
    let counter = this.counters.get(key);
    if (counter === undefined || counter.windowMs !== windowMs || now >= counter.windowEnd) {
      counter = { key, windowMs, windowEnd: now + windowMs, mine: 0, acked: 0, shared: 0 };
      this.counters.set(key, counter);
    }
    return counter;
  }

  private redisUsable(): boolean {
    return this.redis !== undefined && this.failures < FAILURES_BEFORE_LOCAL && this.redis.status === 'ready';
  }

  private pushArgs(counter: Counter, mine: number): Parameters<Push> {
    return [
      this.options.prefix + counter.key,
      this.replica,
      mine,
      counter.window ?? '',
      `${Date.now()}.${this.replica}`,
      counter.windowMs,
    ];
  }

  /** A push for one hit, answered before the request (small limits); undefined when Redis failed. */
  private async pushOne(counter: Counter): Promise<number | undefined> {
    const sent = counter.mine;
    try {
      const reply = await this.redis!.atriumRateLimitPush(...this.pushArgs(counter, sent));
      this.failures = 0;
      this.settle(counter, sent, reply);
      return Number(reply[0]);
    } catch (err) {
      this.markFailing(err as Error);
      return undefined;
    }
  }

  /** Pushes each counter's running count in one pipelined round trip and reads the totals back. */
  private flush(counters: Counter[]): Promise<void> {
    const redis = this.redis;
    const due = counters.filter((c) => c.mine > c.acked && c.flushing === undefined);
    if (redis === undefined || due.length === 0) return Promise.resolve();
    const sent = due.map((counter) => ({ counter, mine: counter.mine }));
    const pipeline = redis.pipeline() as unknown as { atriumRateLimitPush: Push; exec: Redis['exec'] };
    for (const { counter, mine } of sent) void pipeline.atriumRateLimitPush(...this.pushArgs(counter, mine));
    const done: Promise<void> = pipeline.exec().then(
      (results) => {
        let failed: Error | undefined;
        sent.forEach(({ counter, mine }, i) => {
          if (counter.flushing === done) counter.flushing = undefined;
          const [err, reply] = results?.[i] ?? [new Error('no reply'), undefined];
          if (err) failed = err;
          else this.settle(counter, mine, reply as PushReply);
        });
        if (failed) this.markFailing(failed);
        else this.failures = 0;
      },
      (err: Error) => {
        for (const { counter } of sent) if (counter.flushing === done) counter.flushing = undefined;
        this.markFailing(err);
      },
    );
    for (const { counter } of sent) counter.flushing = done;
    return done;
  }

  /** Redis answered a push of `mine` hits with the window's total, name and time left. */
  private settle(counter: Counter, mine: number, [total, window, msLeft]: PushReply): void {
    if (this.counters.get(counter.key) !== counter) return; // this replica has moved on to a later window
    if (counter.window !== undefined && counter.window !== window) {
      // Redis's window ended and another began: this push was not counted in it. What this replica admitted
      // and Redis had not acknowledged is counted in the new window (erring on the side of the limit).
      counter.mine -= counter.acked;
      counter.acked = 0;
      counter.shared = 0;
      counter.window = undefined;
      return;
    }
    counter.window = window;
    counter.windowEnd = Date.now() + (Number(msLeft) > 0 ? Number(msLeft) : counter.windowMs);
    if (mine < counter.acked) return; // an older answer overtaken by a newer one
    counter.acked = mine;
    counter.shared = Number(total);
  }

  private markFailing(err: Error): void {
    if (++this.failures < FAILURES_BEFORE_LOCAL && this.redis?.status === 'ready') return;
    // without a connection the monitor has said so (once); this line is for a connected Redis that fails calls
    if (this.redis?.status === 'ready' && this.warnings.allow()) {
      this.logger.warn(
        `Redis rate-limit counters unavailable (${err.message}); enforcing limits per replica until it answers`,
      );
    }
  }

  /** Every interval: push what accumulated (this also finds out whether Redis is back); forget ended windows. */
  private tick(): void {
    const now = Date.now();
    const due: Counter[] = [];
    for (const [key, c] of this.counters) {
      if (now >= c.windowEnd) this.counters.delete(key);
      else if (c.mine > c.acked && c.flushing === undefined) due.push(c);
    }
    if (due.length > 0 && this.redis?.status === 'ready') void this.flush(due);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (this.redis === undefined) return;
    // hand this replica's last hits to the others before leaving
    if (this.redisUsable()) await this.flush([...this.counters.values()]);
    this.redis.disconnect();
  }
}
