import { FairPool, PoolRefusedError, PoolWaitTimeoutError, Release, tenantShare } from './fair-pool';
import { seededInt } from '../../../test/support/seeded-random';

/** Resolves after pending promise callbacks (grants) have run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

/** Queues an acquire and records the order grants arrive in. */
function queue(sut: FairPool, tenant: string, order: string[], label = tenant): Promise<Release> {
  return sut.acquire(tenant).then((r) => (order.push(label), r));
}

describe('FairPool', () => {
  it('grants up to the limit, and a tenant at its cap leaves the rest of the pool to others at once', async () => {
    const sut = new FairPool({ name: 'download', limit: 4, tenantLimit: 2 });
    const a1 = await sut.acquire('a');
    await sut.acquire('a');
    const order: string[] = [];
    const a3 = queue(sut, 'a', order, 'a3');
    await settle();
    expect(order).toEqual([]); // a is at its cap with two slots free
    await sut.acquire('b'); // granted at once
    expect(sut.stats()).toEqual({ limit: 4, tenantLimit: 2, active: 3, queued: 1, tenants: 2 });
    a1();
    await a3;
    expect(order).toEqual(['a3']);
  });

  it('gives a freed slot to the waiting tenant holding the fewest slots, whoever queued first', async () => {
    const sut = new FairPool({ name: 'extraction', limit: 2 });
    const held = [await sut.acquire('a'), await sut.acquire('a')];
    const order: string[] = [];
    const waiting = [
      queue(sut, 'a', order, 'a3'),
      queue(sut, 'a', order, 'a4'),
      queue(sut, 'b', order, 'b1'),
    ];
    held[0]();
    await settle();
    expect(order).toEqual(['b1']); // a holds one, b none: b first although a3 came earlier
    held[1]();
    await settle();
    expect(order).toEqual(['b1', 'a3']);
    (await waiting[2])();
    (await waiting[0])();
    await settle();
    expect(order).toEqual(['b1', 'a3', 'a4']);
  });

  it('serves tenants round robin and each tenant in its own order', async () => {
    const sut = new FairPool({ name: 'batch', limit: 1 });
    const first = await sut.acquire('x');
    const order: string[] = [];
    const grants = new Map<string, Promise<Release>>();
    for (const l of ['a1', 'a2', 'a3', 'b1', 'b2', 'c1']) grants.set(l, queue(sut, l[0], order, l));
    let release = first;
    for (let i = 0; i < grants.size; i++) {
      release();
      await settle();
      release = await grants.get(order[order.length - 1])!;
    }
    release();
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
    expect(sut.stats()).toMatchObject({ active: 0, queued: 0, tenants: 0 });
  });

  it('skips a tenant at its cap even when its waiter is the oldest', async () => {
    const sut = new FairPool({ name: 'pdf', limit: 3, tenantLimit: 2 });
    const a = [await sut.acquire('a'), await sut.acquire('a')];
    const b1 = await sut.acquire('b');
    const order: string[] = [];
    queue(sut, 'a', order, 'a3').catch(() => undefined);
    queue(sut, 'b', order, 'b2').catch(() => undefined);
    b1();
    await settle();
    expect(order).toEqual(['b2']); // a3 waits for one of a's own slots
    a[0]();
    await settle();
    expect(order).toEqual(['b2', 'a3']);
  });

  it('refuses without waiting with the reason: pool_full or tenant_limit', async () => {
    const sut = new FairPool({ name: 'pdf', limit: 2, tenantLimit: 1 });
    const refused: string[] = [];
    sut.observe({ refused: (tenant, reason) => refused.push(`${tenant}:${reason}`) });
    sut.tryAcquire('a');
    expect(() => sut.tryAcquire('a')).toThrow(
      expect.objectContaining({ reason: 'tenant_limit', limit: 1, pool: 'pdf' }),
    );
    sut.tryAcquire('b');
    await expect(sut.acquire('c', { wait: false })).rejects.toMatchObject({ reason: 'pool_full', limit: 2 });
    expect(refused).toEqual(['a:tenant_limit', 'c:pool_full']);
  });

  it('bounds the waiting room per tenant and in all; unbounded callers queue anyway', async () => {
    const sut = new FairPool({ name: 'extraction', limit: 1, queueMax: 3, tenantQueueMax: 2 });
    await sut.acquire('a');
    const pending = [sut.acquire('a'), sut.acquire('a')];
    await expect(sut.acquire('a')).rejects.toBeInstanceOf(PoolRefusedError);
    await expect(sut.acquire('a')).rejects.toMatchObject({ reason: 'tenant_queue_full', limit: 2 });
    pending.push(sut.acquire('b')); // another tenant still finds room
    await expect(sut.acquire('c')).rejects.toMatchObject({ reason: 'queue_full', limit: 3 });
    pending.push(sut.acquire('c', { unbounded: true }));
    expect(sut.stats().queued).toBe(4);
    sut.rejectWaiting(new Error('closing'));
    await expect(Promise.all(pending)).rejects.toThrow('closing');
    expect(sut.stats()).toMatchObject({ queued: 0, active: 1 });
  });

  it('a waiter past its timeout leaves the queue with PoolWaitTimeoutError and is reported', async () => {
    jest.useFakeTimers();
    try {
      const sut = new FairPool({ name: 'database', limit: 1 });
      const abandoned: Array<[string, boolean]> = [];
      sut.observe({ abandoned: (t, _ms, timedOut) => abandoned.push([t, timedOut]) });
      const release = await sut.acquire('a');
      const waiting = sut.acquire('b', { timeoutMs: 1000 });
      jest.advanceTimersByTime(1000);
      await expect(waiting).rejects.toBeInstanceOf(PoolWaitTimeoutError);
      expect(abandoned).toEqual([['b', true]]);
      expect(sut.stats()).toMatchObject({ queued: 0, tenants: 1 });
      release();
      expect(sut.stats()).toMatchObject({ active: 0, tenants: 0 });
    } finally {
      jest.useRealTimers();
    }
  });

  it('an aborted waiter leaves the queue and never takes a slot', async () => {
    const sut = new FairPool({ name: 'batch', limit: 1 });
    const release = await sut.acquire('a');
    const controller = new AbortController();
    const waiting = sut.acquire('b', { signal: controller.signal });
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    await expect(sut.acquire('b', { signal: controller.signal })).rejects.toThrow('cancelled');
    release();
    release(); // releasing twice is harmless
    expect(sut.stats()).toMatchObject({ active: 0, queued: 0, tenants: 0 });
  });

  it('reports each grant with how long it waited, and run releases when the work throws', async () => {
    const sut = new FairPool({ name: 'download', limit: 1 });
    const grants: Array<[string, number]> = [];
    sut.observe({ granted: (t, ms) => grants.push([t, ms]) });
    const release = await sut.acquire('a');
    const later = sut.run('b', async () => 'done');
    await new Promise((r) => setTimeout(r, 20));
    release();
    await expect(later).resolves.toBe('done');
    await expect(sut.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(grants.map(([t]) => t)).toEqual(['a', 'b', 'a']);
    expect(grants[1][1]).toBeGreaterThanOrEqual(10);
    expect(sut.stats().active).toBe(0);
  });

  it('keeps its invariants through a random workload: within limits, work-conserving, no tenant starved', async () => {
    const rand = seededInt(25);
    const sut = new FairPool({ name: 'sim', limit: 5, tenantLimit: 3 });
    const held: Array<{ tenant: string; release: Release }> = [];
    const waiting = new Map<string, number>();
    const grantedAfter: Record<string, number[]> = {};
    let releases = 0;
    const check = () => {
      const s = sut.stats();
      const perTenant = new Map<string, number>();
      for (const h of held) perTenant.set(h.tenant, (perTenant.get(h.tenant) ?? 0) + 1);
      expect(s.active).toBe(held.length);
      expect(s.active).toBeLessThanOrEqual(5);
      for (const n of perTenant.values()) expect(n).toBeLessThanOrEqual(3);
      // work-conserving: a free slot never coexists with a waiter that could take it
      if (s.active < 5)
        for (const [t, n] of waiting) if (n > 0) expect(perTenant.get(t) ?? 0).toBeGreaterThanOrEqual(3);
    };
    for (let step = 0; step < 2000; step++) {
      if (held.length && rand(3) === 0) {
        const [h] = held.splice(rand(held.length), 1);
        h.release();
        releases++;
      } else {
        // tenant a is heavy (most arrivals), b..d are light
        const tenant = rand(10) < 7 ? 'a' : ['b', 'c', 'd'][rand(3)];
        waiting.set(tenant, (waiting.get(tenant) ?? 0) + 1);
        const asked = releases;
        void sut.acquire(tenant).then((release) => {
          waiting.set(tenant, waiting.get(tenant)! - 1);
          held.push({ tenant, release });
          (grantedAfter[tenant] ??= []).push(releases - asked);
        });
      }
      await settle();
      check();
    }
    // a light tenant's request never waits behind a queue of the heavy one's: at most a few releases
    const worstLight = Math.max(...['b', 'c', 'd'].flatMap((t) => grantedAfter[t] ?? [0]));
    const worstHeavy = Math.max(...(grantedAfter.a ?? [0]));
    expect(worstLight).toBeLessThan(worstHeavy);
  });

  it('tenantShare: the share of a pool one tenant may hold, rounded up, at least one slot', () => {
    expect(tenantShare(32, 0.5)).toBe(16);
    expect(tenantShare(2, 0.5)).toBe(1);
    expect(tenantShare(3, 0.5)).toBe(2);
    expect(tenantShare(1, 0.5)).toBe(1);
    expect(tenantShare(4, 1)).toBe(4);
  });
});
