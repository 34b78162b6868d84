import { ConcurrencyPool } from './concurrency-pool';
import { CapacityExceededError } from './downloader.errors';

describe('ConcurrencyPool', () => {
  it('grants up to the limit, queues the rest in order and reports its stats', async () => {
    const changes: number[] = [];
    const sut = new ConcurrencyPool('download', 2, (a) => changes.push(a));
    const r1 = await sut.acquire();
    const r2 = await sut.acquire();
    const order: number[] = [];
    const w3 = sut.acquire().then((r) => (order.push(3), r));
    const w4 = sut.acquire().then((r) => (order.push(4), r));
    expect(sut.stats()).toEqual({ limit: 2, active: 2, queued: 2 });
    r1();
    r1(); // releasing twice is harmless
    const r3 = await w3;
    expect(sut.stats()).toEqual({ limit: 2, active: 2, queued: 1 });
    r2();
    const r4 = await w4;
    r3();
    r4();
    expect(order).toEqual([3, 4]);
    expect(sut.stats()).toEqual({ limit: 2, active: 0, queued: 0 });
    expect(Math.max(...changes)).toBe(2);
  });

  it('tryAcquire refuses at once with 503 CAPACITY_EXCEEDED when full', () => {
    const sut = new ConcurrencyPool('pdf', 1);
    const release = sut.tryAcquire();
    expect(() => sut.tryAcquire()).toThrow(CapacityExceededError);
    release();
    expect(() => sut.tryAcquire()).not.toThrow();
  });

  it('an aborted waiter leaves the queue and never takes a slot', async () => {
    const sut = new ConcurrencyPool('batch', 1);
    const release = await sut.acquire();
    const controller = new AbortController();
    const waiting = sut.acquire(controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(sut.stats().queued).toBe(0);
    release();
    expect(sut.stats().active).toBe(0);
  });

  it('run releases the slot when the work throws', async () => {
    const sut = new ConcurrencyPool('download', 1);
    await expect(sut.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(sut.stats().active).toBe(0);
  });
});
