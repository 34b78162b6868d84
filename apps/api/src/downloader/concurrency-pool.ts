import { FairPool, PoolRefusedError, Release, tenantShare } from '@libs/scheduling';
import { CapacityExceededError } from './downloader.errors';

export interface ConcurrencyPoolOptions {
  /** POOL_TENANT_SHARE: the share of the slots one tenant may hold (default 1: no cap). */
  tenantShare?: number;
  /** Slots in use after every grant and release (downloader_concurrency_active). */
  onChange?: (active: number) => void;
}

/**
 * A downloader pool (download, pdf): a FairPool — slots shared fairly between tenants, each capped at its
 * share — with the downloader's answer when a slot cannot be had: `acquire` waits its turn (abortable),
 * `tryAcquire` refuses at once with 503 CAPACITY_EXCEEDED (the PDF route).
 */
export class ConcurrencyPool {
  readonly fair: FairPool;

  constructor(
    readonly name: string,
    readonly limit: number,
    opts: ConcurrencyPoolOptions = {},
  ) {
    this.fair = new FairPool({ name, limit, tenantLimit: tenantShare(limit, opts.tenantShare ?? 1) });
    const onChange = opts.onChange;
    if (onChange) this.fair.observe({ changed: onChange });
  }

  stats(): { limit: number; active: number; queued: number } {
    const s = this.fair.stats();
    return { limit: s.limit, active: s.active, queued: s.queued };
  }

  tryAcquire(tenant: string): Release {
    try {
      return this.fair.tryAcquire(tenant);
    } catch (err) {
      if (err instanceof PoolRefusedError)
        throw new CapacityExceededError(this.name, err.limit, 'pdf', err.reason === 'tenant_limit');
      throw err;
    }
  }

  acquire(tenant: string, signal?: AbortSignal): Promise<Release> {
    return this.fair.acquire(tenant, { signal });
  }

  run<T>(tenant: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.fair.run(tenant, fn, { signal });
  }
}
