import { FairPool, PoolRefusedError, PoolWaitTimeoutError, Release, tenantShare } from '@libs/scheduling';
import { AnswerCapacityError } from './answer.errors';

export interface AnswerSlotsOptions {
  /** Chat requests in flight at once in this process (ANSWER_CONCURRENCY). */
  concurrency: number;
  /** Longest wait for a slot before 503 CAPACITY_EXCEEDED (ANSWER_QUEUE_WAIT_MS; 0: refuse at once). */
  waitMs: number;
  /** Share of the slots, and of the waiting room, one tenant may hold (POOL_TENANT_SHARE). */
  tenantShare: number;
}

/** Requests that may wait for a slot, per slot (the waiting room is bounded too). */
export const ANSWER_QUEUE_PER_SLOT = 8;

/**
 * The bound on answer=generate (issue 22): every chat-completions request — whole or streamed — holds one
 * of ANSWER_CONCURRENCY slots of this process from the request to its last token. Slots go to tenants in
 * turn (FairPool, README "Fair shares between tenants"): one tenant holds at most its POOL_TENANT_SHARE of
 * them and of the waiting room, so another tenant's question still gets a slot. A request waits at most
 * ANSWER_QUEUE_WAIT_MS (and never past its client leaving), then gets 503 CAPACITY_EXCEEDED with
 * Retry-After. Extractive answers and cached answers take no slot.
 */
export class AnswerSlots {
  readonly pool: FairPool;

  constructor(private readonly opts: AnswerSlotsOptions) {
    const queueMax = opts.concurrency * ANSWER_QUEUE_PER_SLOT;
    this.pool = new FairPool({
      name: 'answer',
      limit: opts.concurrency,
      tenantLimit: tenantShare(opts.concurrency, opts.tenantShare),
      queueMax,
      tenantQueueMax: tenantShare(queueMax, opts.tenantShare),
    });
  }

  /** A slot for `tenant`, or AnswerCapacityError; `signal` (the client left) stops the wait. */
  async acquire(tenant: string, signal?: AbortSignal): Promise<Release> {
    try {
      return await this.pool.acquire(tenant, {
        timeoutMs: this.opts.waitMs,
        wait: this.opts.waitMs > 0,
        signal,
      });
    } catch (err) {
      if (err instanceof PoolRefusedError) throw new AnswerCapacityError(err.reason, err.limit, 0);
      if (err instanceof PoolWaitTimeoutError)
        throw new AnswerCapacityError('wait_timeout', this.pool.limit, err.waitedMs);
      throw err;
    }
  }
}
