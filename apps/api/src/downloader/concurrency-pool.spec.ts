import { ConcurrencyPool } from './concurrency-pool';
import { CapacityExceededError } from './downloader.errors';

describe('ConcurrencyPool (a downloader pool over FairPool)', () => {
  it('grants up to the limit, queues the rest in order and reports its stats and changes', async () => {
    const changes: number[] = [];
    const sut = new ConcurrencyPool('download', 2, { onChange: (a) => changes.push(a) });
    const r1 = await sut.acquire('t');
    const r2 = await sut.acquire('t');
    const order: number[] = [];
    const w3 = sut.acquire('t').then((r) => (order.push(3), r));
    const w4 = sut.acquire('t').then((r) => (order.push(4), r));
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
    expect(changes[changes.length - 1]).toBe(0);
  });

  it('tryAcquire refuses at once with 503 CAPACITY_EXCEEDED when full', () => {
    const sut = new ConcurrencyPool('pdf', 1);
    const release = sut.tryAcquire('t');
    expect(() => sut.tryAcquire('u')).toThrow(CapacityExceededError);
    release();
    expect(() => sut.tryAcquire('u')).not.toThrow();
  });

  it('tryAcquire refuses a tenant at its share while another tenant still gets a slot', () => {
    const sut = new ConcurrencyPool('pdf', 2, { tenantShare: 0.5 });
    sut.tryAcquire('a');
    let refusal: unknown;
    try {
      sut.tryAcquire('a');
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(CapacityExceededError);
    expect(refusal).toMatchObject({
      status: 503,
      code: 'CAPACITY_EXCEEDED',
      details: { pool: 'pdf', limit: 1, scope: 'tenant' },
    });
    expect(() => sut.tryAcquire('b')).not.toThrow();
  });

  it('an aborted waiter leaves the queue and never takes a slot', async () => {
    const sut = new ConcurrencyPool('batch', 1);
    const release = await sut.acquire('t');
    const controller = new AbortController();
    const waiting = sut.acquire('t', controller.signal);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect(sut.stats().queued).toBe(0);
    release();
    expect(sut.stats().active).toBe(0);
  });

  it('run releases the slot when the work throws', async () => {
    const sut = new ConcurrencyPool('download', 1);
    await expect(sut.run('t', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(sut.stats().active).toBe(0);
  });
});
