/**
 * The process's memory budget for upload work in flight (issue 25, item 2): bytes being received,
 * extracted and held by uploads. A request reserves its share **before its body is read** and keeps it
 * until its last file is stored; past the budget it waits briefly, fairly between tenants, or is refused
 * with 503 CAPACITY_EXCEEDED and Retry-After — its body never read.
 *
 * What a request reserves: the files of one request are received, extracted and stored one at a time, so
 * a request holds at most one file's worth of work — the file's bytes, its decoded and normalised text
 * and its chunks, several copies of the file at worst (HOLD_FACTOR). The file's size is taken from the
 * declared Content-Length (a smaller request reserves less), capped at UPLOAD_MAX_FILE_BYTES; a chunked
 * body without a length reserves the cap.
 *
 * Fairness (weighted, so not libs/scheduling's FairPool of unit slots): one tenant holds at most
 * POOL_TENANT_SHARE of the budget (its first request always fits when there is room), so another tenant's
 * upload finds room; freed room goes to the waiting tenant holding least, each tenant's own requests in
 * order. Written here: no well-kept library queues weighted requests per key
 * under one shared bound (see libs/scheduling/src/fair-pool.ts for the survey).
 */
import { AppError, capacityExceeded } from '@app/errors';

/** Copies of a file's bytes one upload holds at worst (bytes, decoded text, normalised text, chunks, SQL parameters). */
export const HOLD_FACTOR = 5;

/** Seconds a refused client is told to wait (Retry-After). */
const RETRY_AFTER_S = 2;

export class UploadCapacityError extends AppError {
  constructor(budgetBytes: number, reservedBytes: number, waitedMs: number) {
    super(
      ...capacityExceeded({
        pool: 'upload_memory',
        message: `Uploads in progress already use this server's upload memory budget (UPLOAD_MEMORY_BUDGET_MB); nothing of this request was read, try again shortly`,
        retryAfterSeconds: RETRY_AFTER_S,
        details: { budgetBytes, requestedBytes: reservedBytes },
        waitedMs,
        // the unread body is not drained: the connection closes after this answer
        headers: { Connection: 'close' },
      }),
    );
  }
}

export interface UploadBudgetOptions {
  budgetBytes: number;
  /** Longest wait for room before 503 (UPLOAD_MEMORY_WAIT_MS). */
  waitMs: number;
  maxFileBytes: number;
  /** The share of the budget one tenant may hold (POOL_TENANT_SHARE; 1 = no cap). */
  tenantShare: number;
}

interface Waiter {
  tenant: string;
  bytes: number;
  since: number;
  grant: (release: () => void) => void;
  timer: NodeJS.Timeout;
}

export class UploadBudget {
  private reserved = 0;
  private readonly held = new Map<string, number>();
  private readonly waiting = new Map<string, Waiter[]>();
  private readonly lastServed = new Map<string, number>();
  private turn = 0;
  /** Observers (metrics): one grant after `waitedMs`, or a refusal. */
  onWait?: (waitedMs: number, granted: boolean) => void;

  constructor(readonly options: UploadBudgetOptions) {}

  /** The bytes a request declaring `contentLength` (undefined: chunked, unknown) reserves. */
  reservation(contentLength: number | undefined): number {
    const file =
      contentLength === undefined || !Number.isFinite(contentLength) || contentLength < 0
        ? this.options.maxFileBytes
        : Math.min(contentLength, this.options.maxFileBytes);
    // never more than the whole budget: a budget smaller than one file still admits one upload at a time
    return Math.min(Math.max(file, 1) * HOLD_FACTOR, this.options.budgetBytes);
  }

  get reservedBytes(): number {
    return this.reserved;
  }

  /**
   * Reserves room for one request of `tenant` declaring `contentLength`; resolves with its release
   * (idempotent), or rejects with UploadCapacityError after waiting at most waitMs.
   */
  acquire(tenant: string, contentLength: number | undefined): Promise<() => void> {
    const bytes = this.reservation(contentLength);
    if (!this.hasWaiters() && this.fits(tenant, bytes)) {
      this.onWait?.(0, true);
      return Promise.resolve(this.take(tenant, bytes));
    }
    if (this.options.waitMs <= 0) {
      this.onWait?.(0, false);
      return Promise.reject(new UploadCapacityError(this.options.budgetBytes, bytes, 0));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        tenant,
        bytes,
        since: performance.now(),
        grant: resolve,
        timer: setTimeout(() => {
          const queue = this.waiting.get(tenant) ?? [];
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          if (!queue.length) this.waiting.delete(tenant);
          const waited = performance.now() - waiter.since;
          this.onWait?.(waited, false);
          reject(new UploadCapacityError(this.options.budgetBytes, bytes, waited));
          // the head of this tenant's queue may have been what blocked others
          this.dispatch();
        }, this.options.waitMs),
      };
      const queue = this.waiting.get(tenant);
      if (queue) queue.push(waiter);
      else this.waiting.set(tenant, [waiter]);
      // another tenant's waiter (at its cap) may be all that stood in the way
      this.dispatch();
    });
  }

  private hasWaiters(): boolean {
    return this.waiting.size > 0;
  }

  /** Room in the budget, and the tenant within its share (a tenant's first request only needs room). */
  private fits(tenant: string, bytes: number): boolean {
    if (this.reserved + bytes > this.options.budgetBytes) return false;
    const mine = this.held.get(tenant) ?? 0;
    return mine === 0 || mine + bytes <= this.options.budgetBytes * this.options.tenantShare;
  }

  private take(tenant: string, bytes: number): () => void {
    this.reserved += bytes;
    this.held.set(tenant, (this.held.get(tenant) ?? 0) + bytes);
    this.lastServed.set(tenant, ++this.turn);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.reserved -= bytes;
      const left = (this.held.get(tenant) ?? 0) - bytes;
      if (left > 0) this.held.set(tenant, left);
      else {
        this.held.delete(tenant);
        if (!this.waiting.has(tenant)) this.lastServed.delete(tenant);
      }
      this.dispatch();
    };
  }

  /** Grants waiting heads that fit, the tenant holding least (then served longest ago) first. */
  private dispatch(): void {
    for (;;) {
      const tenants = [...this.waiting.keys()].sort(
        (a, b) =>
          (this.held.get(a) ?? 0) - (this.held.get(b) ?? 0) ||
          (this.lastServed.get(a) ?? 0) - (this.lastServed.get(b) ?? 0),
      );
      const next = tenants.find((t) => this.fits(t, this.waiting.get(t)![0].bytes));
      if (next === undefined) return;
      const queue = this.waiting.get(next)!;
      const waiter = queue.shift()!;
      if (!queue.length) this.waiting.delete(next);
      clearTimeout(waiter.timer);
      this.onWait?.(performance.now() - waiter.since, true);
      waiter.grant(this.take(next, waiter.bytes));
    }
  }
}
