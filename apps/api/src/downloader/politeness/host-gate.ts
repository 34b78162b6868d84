import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { FairPool, PoolRefusedError, type Release } from '@libs/scheduling';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/** A request's turn at a host: held while the request is in flight, released once (idempotent). */
export interface HostPermit {
  readonly host: string;
  release(): void;
  /** The host asked to be left alone (429/503 Retry-After): nobody's next request to it starts before then. */
  backoff(ms: number): void;
}

export interface AcquireOptions {
  /** Whose request it is: a host's turns go round the tenants waiting for it (see HostGate). */
  tenant: string;
  /** Least time since the host's previous request started (DOWNLOAD_HOST_DELAY_MS or Crawl-delay). */
  delayMs: number;
  /** How long the slot is held at most if its holder dies without releasing it (Redis: another replica). */
  leaseMs: number;
  signal?: AbortSignal;
  /** Told once when the request has to wait for its host (true) and once when its turn comes (false). */
  onWait?: (waiting: boolean) => void;
}

/**
 * Where the per-host counters live: this process (no Redis) or Redis (shared by every replica).
 * `tryAcquire` takes a slot when the host has one free and its next allowed start has come (answers 0);
 * otherwise it answers how long to wait before asking again (-1: the host is full, ask when woken).
 */
export interface HostGateBackend {
  tryAcquire(host: string, token: string, limit: number, delayMs: number, leaseMs: number): Promise<number>;
  release(host: string, token: string): Promise<void>;
  backoff(host: string, ms: number): Promise<void>;
}

/** A host that is full is asked again at least this often (another replica may have released a slot). */
const FULL_POLL_MS = 100;
/** A sleeping waiter checks back at least this often (a backoff another request set may have been shortened). */
const MAX_SLEEP_MS = 1000;

export class MemoryHostBackend implements HostGateBackend {
  private readonly hosts = new Map<string, { inFlight: Map<string, number>; next: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor() {
    // hosts with nothing in flight and no wait pending are forgotten: the map stays as large as the traffic
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async tryAcquire(
    host: string,
    token: string,
    limit: number,
    delayMs: number,
    leaseMs: number,
  ): Promise<number> {
    const now = Date.now();
    const h = this.hosts.get(host) ?? { inFlight: new Map<string, number>(), next: 0 };
    this.hosts.set(host, h);
    for (const [t, expires] of h.inFlight) if (expires <= now) h.inFlight.delete(t);
    if (h.next > now) return h.next - now;
    if (h.inFlight.size >= limit) return -1;
    h.inFlight.set(token, now + leaseMs);
    if (delayMs > 0) h.next = now + delayMs;
    return 0;
  }

  async release(host: string, token: string): Promise<void> {
    this.hosts.get(host)?.inFlight.delete(token);
  }

  async backoff(host: string, ms: number): Promise<void> {
    const h = this.hosts.get(host) ?? { inFlight: new Map<string, number>(), next: 0 };
    this.hosts.set(host, h);
    h.next = Math.max(h.next, Date.now() + ms);
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [host, h] of this.hosts) if (h.inFlight.size === 0 && h.next <= now) this.hosts.delete(host);
  }
}

// KEYS[1] = the host's in-flight set (token → lease end), KEYS[2] = its next allowed start.
// ARGV: token, limit, delayMs, leaseMs. Redis's own clock, so replicas with skewed clocks agree.
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then return nxt - now end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
local lease = tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease)
local delay = tonumber(ARGV[3])
if delay > 0 then redis.call('SET', KEYS[2], now + delay, 'PX', delay) end
return 0`;

const BACKOFF = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + ms > nxt then redis.call('SET', KEYS[1], now + ms, 'PX', ms) end
return 0`;

export class RedisHostBackend implements HostGateBackend {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'atrium:host:',
  ) {}

  private keys(host: string): [string, string] {
    const base = `${this.prefix}{${host}}`;
    return [`${base}:inflight`, `${base}:next`];
  }

  async tryAcquire(
    host: string,
    token: string,
    limit: number,
    delayMs: number,
    leaseMs: number,
  ): Promise<number> {
    const [inFlight, next] = this.keys(host);
    return Number(await this.redis.eval(ACQUIRE, 2, inFlight, next, token, limit, delayMs, leaseMs));
  }

  async release(host: string, token: string): Promise<void> {
    await this.redis.zrem(this.keys(host)[0], token);
  }

  async backoff(host: string, ms: number): Promise<void> {
    await this.redis.eval(BACKOFF, 1, this.keys(host)[1], Math.max(1, Math.round(ms)));
  }
}

/**
 * Per-host politeness (issue 24): at most `limit` requests in flight per host and at least a delay between
 * the starts of two requests to it, whoever sends them (single downloads, every batch and crawl of every
 * tenant). With Redis the counters are shared by the replicas; when Redis fails, this replica keeps
 * counting on its own (a degraded but still polite limit) rather than failing downloads.
 * Waiters hold nothing else while they wait (the download pool slot is taken after the host's turn), so a
 * tenant's items queued behind a slow host never keep other tenants' work from running. Written here because
 * no maintained library does distributed per-key concurrency plus spacing with leases.
 *
 * Within a host, turns are fair between tenants: this process's requests for a host first line up in a
 * FairPool of the host's size (one per host while it has requests), so a freed turn goes to the waiting tenant
 * that holds the fewest — a tenant's hundred queued crawl pages do not keep another tenant's one download
 * waiting behind all of them. Across replicas (Redis) each replica's line is fair; the shared counters then
 * decide which replica's head goes first.
 */
export class HostGate {
  private readonly logger = new Logger(HostGate.name);
  private readonly local = new MemoryHostBackend();
  private readonly wakers = new Map<string, Set<() => void>>();
  /** Each host's line in this process while it has requests (in flight or waiting), fair between tenants. */
  private readonly lines = new Map<string, { pool: FairPool; users: number }>();
  private degraded = false;

  constructor(
    private readonly limit: number,
    private readonly maxWaitMs: number,
    private readonly shared?: HostGateBackend,
    private readonly onWaited?: () => void,
  ) {}

  async acquire(host: string, opts: AcquireOptions): Promise<HostPermit> {
    const token = randomUUID();
    const delayMs = Math.min(opts.delayMs, this.maxWaitMs);
    let waited = false;
    const waiting = (): void => {
      if (waited) return;
      waited = true;
      this.onWaited?.();
      opts.onWait?.(true);
    };
    const line = this.join(host);
    let leaveLine: Release = () => this.leave(host, line);
    try {
      const turn = await this.lineUp(line.pool, opts, waiting);
      leaveLine = () => {
        turn();
        this.leave(host, line);
      };
      for (;;) {
        opts.signal?.throwIfAborted();
        const [wait, backend] = await this.tryAcquire(host, token, delayMs, opts.leaseMs);
        if (wait === 0) return this.permit(host, token, backend, leaveLine);
        waiting();
        await this.sleep(host, wait < 0 ? (this.shared ? FULL_POLL_MS : MAX_SLEEP_MS) : wait, opts.signal);
      }
    } catch (err) {
      leaveLine();
      throw err;
    } finally {
      if (waited) opts.onWait?.(false);
    }
  }

  /** This process's place in the host's line: at once when the tenant may go, else its fair turn. */
  private async lineUp(pool: FairPool, opts: AcquireOptions, waiting: () => void): Promise<Release> {
    try {
      return pool.tryAcquire(opts.tenant);
    } catch (err) {
      if (!(err instanceof PoolRefusedError)) throw err;
    }
    waiting();
    return pool.acquire(opts.tenant, { signal: opts.signal, unbounded: true });
  }

  private join(host: string): { pool: FairPool; users: number } {
    let line = this.lines.get(host);
    if (!line)
      this.lines.set(host, (line = { pool: new FairPool({ name: 'host', limit: this.limit }), users: 0 }));
    line.users++;
    return line;
  }

  private leave(host: string, line: { pool: FairPool; users: number }): void {
    if (--line.users === 0 && this.lines.get(host) === line) this.lines.delete(host);
  }

  close(): void {
    this.local.close();
  }

  private async tryAcquire(
    host: string,
    token: string,
    delayMs: number,
    leaseMs: number,
  ): Promise<[number, HostGateBackend]> {
    if (this.shared) {
      try {
        const wait = await this.shared.tryAcquire(host, token, this.limit, delayMs, leaseMs);
        this.degraded = false;
        return [wait, this.shared];
      } catch (err) {
        if (!this.degraded) {
          this.degraded = true;
          this.logger.warn(
            { err },
            'Per-host limits fall back to this replica alone while Redis is unreachable',
          );
        }
      }
    }
    return [await this.local.tryAcquire(host, token, this.limit, delayMs, leaseMs), this.local];
  }

  private permit(host: string, token: string, backend: HostGateBackend, leaveLine: Release): HostPermit {
    let released = false;
    return {
      host,
      release: () => {
        if (released) return;
        released = true;
        leaveLine();
        backend.release(host, token).then(
          () => this.wake(host),
          () => this.wake(host), // the lease ends it on its own
        );
      },
      backoff: (ms: number) => {
        const capped = Math.min(Math.max(0, ms), this.maxWaitMs);
        if (capped > 0) void backend.backoff(host, capped).catch(() => this.local.backoff(host, capped));
      },
    };
  }

  /** Sleeps `ms`, or until a request to this host in this process ends, or the signal aborts. */
  private async sleep(host: string, ms: number, signal?: AbortSignal): Promise<void> {
    const ac = new AbortController();
    const waker = (): void => ac.abort();
    let set = this.wakers.get(host);
    if (!set) this.wakers.set(host, (set = new Set()));
    set.add(waker);
    try {
      await sleep(Math.min(ms, MAX_SLEEP_MS), undefined, {
        signal: signal ? AbortSignal.any([signal, ac.signal]) : ac.signal,
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (!ac.signal.aborted) throw err;
    } finally {
      set.delete(waker);
      if (set.size === 0) this.wakers.delete(host);
    }
  }

  private wake(host: string): void {
    const set = this.wakers.get(host);
    if (set) for (const w of [...set]) w();
  }
}
