import { CapacityExceededError } from './downloader.errors';

/**
 * A counting semaphore with a FIFO queue: `acquire` waits for a slot (abortable), `tryAcquire`
 * refuses at once when every slot is busy (the PDF route's 503 CAPACITY_EXCEEDED).
 */
export class ConcurrencyPool {
  private active = 0;
  private readonly waiters: Array<{ grant: () => void; signal?: AbortSignal; onAbort?: () => void }> = [];

  constructor(
    readonly name: string,
    readonly limit: number,
    private readonly onChange: (active: number) => void = () => undefined,
  ) {}

  stats(): { limit: number; active: number; queued: number } {
    return { limit: this.limit, active: this.active, queued: this.waiters.length };
  }

  tryAcquire(): () => void {
    if (this.active >= this.limit) throw new CapacityExceededError(this.name, this.limit);
    return this.take();
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.active < this.limit) return Promise.resolve(this.take());
    return new Promise((resolve, reject) => {
      const waiter: (typeof this.waiters)[number] = { grant: () => resolve(this.take()), signal };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason as Error);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private take(): () => void {
    this.active++;
    this.onChange(this.active);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.onChange(this.active);
      const next = this.waiters.shift();
      if (next) {
        if (next.signal && next.onAbort) next.signal.removeEventListener('abort', next.onAbort);
        next.grant();
      }
    };
  }
}
