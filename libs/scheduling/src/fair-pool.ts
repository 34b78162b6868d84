/**
 * FairPool: a counting semaphore shared by tenants and fair between them — the one scheduling primitive
 * behind every shared pool (downloads, PDF rendering, batch slots, parser children, the embedded
 * database's session; README "Fair shares").
 *
 * Written here because no well-kept npm library does per-key fair queueing under one shared limit:
 * p-limit and p-queue serve one FIFO (p-queue's priorities belong to jobs, not keys), Bottleneck's Group
 * gives each key an independent limiter with no shared bound (and has had no release since 2019), and
 * BullMQ's groups are a BullMQ Pro feature.
 *
 * The rules, for `limit` slots:
 * - a tenant holds at most `tenantLimit` slots at once, so one tenant can never take every slot: with
 *   room left, another tenant's first request is granted at once;
 * - a freed slot goes to the waiting tenant that holds the fewest slots (a tenant at its cap is skipped);
 *   among equals, to the one served longest ago — every tenant with work gets its turn (round robin,
 *   also for a pool of one slot), and each tenant's own requests keep their order;
 * - waiting is bounded: at most `queueMax` waiters in all and `tenantQueueMax` per tenant (one tenant
 *   cannot fill the queue), each for at most its `timeoutMs`; past a bound the caller gets an error to
 *   answer with a coded 503, never an unbounded wait.
 * A released slot passes straight to the next waiter (it is never free in between, so nothing that
 * arrives meanwhile jumps the queue). Tenants are opaque keys; this file knows nothing of HTTP or Nest.
 */

export type Release = () => void;

export interface FairPoolOptions {
  /** The pool's name (the `pool` label of pool_wait_seconds / pool_in_use, and in errors). */
  name: string;
  /** Slots in all. */
  limit: number;
  /** Slots one tenant may hold at once (default: limit, i.e. fair ordering without a cap). */
  tenantLimit?: number;
  /** Waiters in all (default: unbounded). */
  queueMax?: number;
  /** Waiters one tenant may have (default: queueMax). */
  tenantQueueMax?: number;
}

export interface AcquireOptions {
  /** Aborting removes the waiter (its promise rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Longest wait for a slot; then PoolWaitTimeoutError. */
  timeoutMs?: number;
  /** false: refuse at once (PoolRefusedError) when no slot can be granted now. Default true. */
  wait?: boolean;
  /** Queue even past queueMax / tenantQueueMax (callers whose own concurrency bounds how many wait). */
  unbounded?: boolean;
}

export type RefusalReason = 'pool_full' | 'tenant_limit' | 'queue_full' | 'tenant_queue_full';

/** No slot now and waiting was not allowed (wait: false), or the waiting room is full. */
export class PoolRefusedError extends Error {
  constructor(
    readonly pool: string,
    readonly reason: RefusalReason,
    /** The bound that refused: slots (pool_full, tenant_limit) or waiters (queue_full, tenant_queue_full). */
    readonly limit: number,
  ) {
    super(`Pool ${pool} refused a request (${reason}, limit ${limit})`);
    this.name = 'PoolRefusedError';
  }
}

/** A waiter got no slot within its timeoutMs. */
export class PoolWaitTimeoutError extends Error {
  constructor(
    readonly pool: string,
    readonly waitedMs: number,
  ) {
    super(`No slot of pool ${pool} within ${Math.round(waitedMs)} ms`);
    this.name = 'PoolWaitTimeoutError';
  }
}

export interface FairPoolStats {
  limit: number;
  tenantLimit: number;
  /** Slots in use. */
  active: number;
  /** Waiters. */
  queued: number;
  /** Tenants holding or waiting for a slot. */
  tenants: number;
}

/** What a pool reports, for metrics (without tenants) and logs (with them). */
export interface PoolObserver {
  /** A slot was granted after `waitedMs` (0: at once). */
  granted?(tenant: string, waitedMs: number): void;
  /** A waiter gave up: its timeout (`timedOut`) or its signal. */
  abandoned?(tenant: string, waitedMs: number, timedOut: boolean): void;
  /** A request was refused without waiting. */
  refused?(tenant: string, reason: RefusalReason): void;
  /** Slots in use changed (a grant or a release). */
  changed?(active: number): void;
}

interface Waiter {
  tenant: TenantState;
  seq: number;
  since: number;
  grant(release: Release): void;
  reject(err: unknown): void;
  timer?: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface TenantState {
  key: string;
  active: number;
  waiters: Waiter[];
  /** When it was last granted a slot (the pool's grant count then; 0: not since it was idle). */
  lastGrant: number;
}

export class FairPool {
  readonly name: string;
  readonly limit: number;
  readonly tenantLimit: number;
  readonly queueMax: number;
  readonly tenantQueueMax: number;
  private active = 0;
  private queued = 0;
  private seq = 0;
  private grants = 0;
  private readonly tenants = new Map<string, TenantState>();
  /** Tenants with at least one waiter: the candidates for a freed slot. */
  private readonly waiting = new Set<TenantState>();
  private readonly observers: PoolObserver[] = [];

  constructor(opts: FairPoolOptions) {
    if (!(opts.limit >= 1)) throw new RangeError(`pool ${opts.name}: limit must be at least 1`);
    this.name = opts.name;
    this.limit = opts.limit;
    this.tenantLimit = Math.max(1, Math.min(opts.limit, opts.tenantLimit ?? opts.limit));
    this.queueMax = opts.queueMax ?? Infinity;
    this.tenantQueueMax = Math.min(this.queueMax, opts.tenantQueueMax ?? this.queueMax);
  }

  observe(observer: PoolObserver): void {
    this.observers.push(observer);
  }

  stats(): FairPoolStats {
    return {
      limit: this.limit,
      tenantLimit: this.tenantLimit,
      active: this.active,
      queued: this.queued,
      tenants: this.tenants.size,
    };
  }

  /** One tenant's share right now (for log lines). */
  tenantStats(tenant: string): { active: number; queued: number } {
    const t = this.tenants.get(tenant);
    return { active: t?.active ?? 0, queued: t?.waiters.length ?? 0 };
  }

  /** A slot now, or PoolRefusedError (pool_full / tenant_limit). */
  tryAcquire(tenant: string): Release {
    const t = this.tenant(tenant);
    if (this.grantableNow(t)) return this.take(t, 0);
    const reason: RefusalReason = t.active >= this.tenantLimit ? 'tenant_limit' : 'pool_full';
    this.forget(t);
    this.emit((o) => o.refused?.(tenant, reason));
    throw new PoolRefusedError(this.name, reason, reason === 'tenant_limit' ? this.tenantLimit : this.limit);
  }

  /** Waits for a slot (see the file's header for the order); resolves with its release function. */
  acquire(tenant: string, opts: AcquireOptions = {}): Promise<Release> {
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason as Error);
    if (opts.wait === false) return new Promise((resolve) => resolve(this.tryAcquire(tenant)));
    const t = this.tenant(tenant);
    if (this.grantableNow(t)) return Promise.resolve(this.take(t, 0));
    if (!opts.unbounded) {
      const full: RefusalReason | undefined =
        t.waiters.length >= this.tenantQueueMax
          ? 'tenant_queue_full'
          : this.queued >= this.queueMax
            ? 'queue_full'
            : undefined;
      if (full) {
        this.forget(t);
        this.emit((o) => o.refused?.(tenant, full));
        return Promise.reject(
          new PoolRefusedError(
            this.name,
            full,
            full === 'tenant_queue_full' ? this.tenantQueueMax : this.queueMax,
          ),
        );
      }
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        tenant: t,
        seq: this.seq++,
        since: performance.now(),
        grant: resolve,
        reject,
        signal: opts.signal,
      };
      if (opts.timeoutMs !== undefined)
        waiter.timer = setTimeout(() => {
          const waited = performance.now() - waiter.since;
          if (this.remove(waiter)) {
            this.emit((o) => o.abandoned?.(tenant, waited, true));
            reject(new PoolWaitTimeoutError(this.name, waited));
          }
        }, opts.timeoutMs);
      if (opts.signal) {
        const signal = opts.signal;
        waiter.onAbort = () => {
          if (this.remove(waiter)) {
            this.emit((o) => o.abandoned?.(tenant, performance.now() - waiter.since, false));
            reject(signal.reason as Error);
          }
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      t.waiters.push(waiter);
      this.queued++;
      this.waiting.add(t);
    });
  }

  /** acquire, run fn, release (also when fn throws). */
  async run<T>(tenant: string, fn: () => Promise<T>, opts: AcquireOptions = {}): Promise<T> {
    const release = await this.acquire(tenant, opts);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Rejects every waiter with `err` (shutdown); slots in use stay until released. */
  rejectWaiting(err: Error): void {
    for (const t of [...this.waiting])
      for (const w of [...t.waiters]) {
        this.remove(w);
        w.reject(err);
      }
  }

  private tenant(key: string): TenantState {
    let t = this.tenants.get(key);
    if (!t) {
      t = { key, active: 0, waiters: [], lastGrant: 0 };
      this.tenants.set(key, t);
    }
    return t;
  }

  /** Drops a tenant's entry once it holds and waits for nothing (tenants are unbounded). */
  private forget(t: TenantState): void {
    if (t.active === 0 && t.waiters.length === 0) this.tenants.delete(t.key);
  }

  /**
   * Free slot and the tenant under its cap. (No waiter can be passed over: any waiter that could take a
   * free slot was granted it when the slot was freed, see dispatch.)
   */
  private grantableNow(t: TenantState): boolean {
    return this.active < this.limit && t.active < this.tenantLimit;
  }

  private take(t: TenantState, waitedMs: number): Release {
    this.active++;
    t.active++;
    t.lastGrant = ++this.grants;
    this.emit((o) => o.granted?.(t.key, waitedMs));
    this.emit((o) => o.changed?.(this.active));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      t.active--;
      this.dispatch();
      this.forget(t);
      this.emit((o) => o.changed?.(this.active));
    };
  }

  /**
   * Grants free slots to waiters: the tenant holding the fewest slots first; among equals the one served
   * longest ago (round robin: with one slot every tenant holds none, and they take turns), then the one
   * whose oldest waiter came first.
   */
  private dispatch(): void {
    while (this.active < this.limit) {
      let next: TenantState | undefined;
      for (const t of this.waiting) {
        if (t.active >= this.tenantLimit) continue;
        if (!next || before(t, next)) next = t;
      }
      if (!next) return;
      const w = next.waiters[0];
      // kept in the map while it moves from waiting to holding (remove would forget an idle tenant)
      this.remove(w, false);
      w.grant(this.take(next, performance.now() - w.since));
    }
  }

  /** Takes a waiter out of the queue; false when it already left (granted, timed out, aborted). */
  private remove(w: Waiter, forget = true): boolean {
    const i = w.tenant.waiters.indexOf(w);
    if (i < 0) return false;
    w.tenant.waiters.splice(i, 1);
    this.queued--;
    clearTimeout(w.timer);
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
    if (w.tenant.waiters.length === 0) {
      this.waiting.delete(w.tenant);
      if (forget) this.forget(w.tenant);
    }
    return true;
  }

  private emit(fn: (o: PoolObserver) => void): void {
    for (const o of this.observers) fn(o);
  }
}

function before(a: TenantState, b: TenantState): boolean {
  if (a.active !== b.active) return a.active < b.active;
  if (a.lastGrant !== b.lastGrant) return a.lastGrant < b.lastGrant;
  return a.waiters[0].seq < b.waiters[0].seq;
}

/** A tenant's cap from a pool's size and the share one tenant may hold (rounded up, at least one slot). */
export function tenantShare(size: number, share: number): number {
  return Math.max(1, Math.min(size, Math.ceil(size * share)));
}
