import { HostGate, HostPermit } from './host-gate';

describe('HostGate (per-host politeness, in process)', () => {
  let sut: HostGate;
  afterEach(() => sut.close());

  it('lets at most `limit` requests to a host in flight; the next one gets its turn when one ends', async () => {
    sut = new HostGate(2, 60_000);
    const a = await sut.acquire('h:1', { tenant: 't1', delayMs: 0, leaseMs: 10_000 });
    const b = await sut.acquire('h:1', { tenant: 't1', delayMs: 0, leaseMs: 10_000 });
    const waits: boolean[] = [];
    let third: HostPermit | undefined;
    const pending = sut
      .acquire('h:1', { tenant: 't1', delayMs: 0, leaseMs: 10_000, onWait: (w) => void waits.push(w) })
      .then((p) => (third = p));
    // another host is not held up by this one
    const other = await sut.acquire('other:1', { tenant: 't1', delayMs: 0, leaseMs: 10_000 });
    await new Promise((r) => setImmediate(r));
    expect(third).toBeUndefined();
    expect(waits).toEqual([true]);
    a.release();
    a.release(); // idempotent: does not free a second slot
    await pending;
    expect(third).toBeDefined();
    expect(waits).toEqual([true, false]);
    b.release();
    third!.release();
    other.release();
  });

  it('spaces the starts of requests to a host by delayMs, and a backoff holds every request until it ends', async () => {
    sut = new HostGate(10, 60_000);
    const first = await sut.acquire('h:1', { tenant: 't1', delayMs: 150, leaseMs: 10_000 });
    const t0 = Date.now();
    const second = await sut.acquire('h:1', { tenant: 't1', delayMs: 150, leaseMs: 10_000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    second.backoff(300);
    const t1 = Date.now();
    const third = await sut.acquire('h:1', { tenant: 't1', delayMs: 0, leaseMs: 10_000 });
    expect(Date.now() - t1).toBeGreaterThanOrEqual(290);
    [first, second, third].forEach((p) => p.release());
  });

  it('caps a hostile delay at maxWaitMs and ends a wait when its signal aborts', async () => {
    sut = new HostGate(1, 200);
    const held = await sut.acquire('h:1', { tenant: 't1', delayMs: 0, leaseMs: 10_000 });
    held.backoff(3_600_000); // capped to 200 ms
    const ac = new AbortController();
    const waiting = sut.acquire('h:1', { tenant: 't1', delayMs: 0, leaseMs: 10_000, signal: ac.signal });
    ac.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    held.release();
    const t0 = Date.now();
    (await sut.acquire('h:1', { tenant: 't1', delayMs: 0, leaseMs: 10_000 })).release();
    expect(Date.now() - t0).toBeLessThan(3_600_000);
  });

  it('counts a request that had to wait once (download_host_waits_total)', async () => {
    let waits = 0;
    sut = new HostGate(1, 60_000, undefined, () => waits++);
    const a = await sut.acquire('h:1', { tenant: 't1', delayMs: 0, leaseMs: 10_000 });
    const b = sut.acquire('h:1', { tenant: 't1', delayMs: 0, leaseMs: 10_000 });
    await new Promise((r) => setImmediate(r));
    a.release();
    (await b).release();
    expect(waits).toBe(1);
  });

  it("goes round the tenants waiting for a host: one tenant's queue does not hold another's request behind it", async () => {
    sut = new HostGate(1, 60_000);
    const held = await sut.acquire('h:1', { tenant: 'busy', delayMs: 0, leaseMs: 10_000 });
    const order: string[] = [];
    const queue = (tenant: string, n: number): Promise<void> =>
      sut.acquire('h:1', { tenant, delayMs: 0, leaseMs: 10_000 }).then((p) => {
        order.push(`${tenant}${n}`);
        p.release();
      });
    const busy = [1, 2, 3].map((n) => queue('busy', n));
    await new Promise((r) => setImmediate(r));
    const quiet = queue('quiet', 1); // arrives after the busy tenant's three
    await new Promise((r) => setImmediate(r));
    held.release();
    await Promise.all([...busy, quiet]);
    // first come first served would have been busy1, busy2, busy3, quiet1
    expect(order.indexOf('quiet1')).toBeLessThan(order.indexOf('busy2'));
    expect(order.filter((o) => o.startsWith('busy'))).toEqual(['busy1', 'busy2', 'busy3']);
  });

  it('forgets a host once its requests are done, also when a waiter gave up', async () => {
    sut = new HostGate(1, 60_000);
    const held = await sut.acquire('h:1', { tenant: 'a', delayMs: 0, leaseMs: 10_000 });
    const ac = new AbortController();
    const gaveUp = sut.acquire('h:1', { tenant: 'b', delayMs: 0, leaseMs: 10_000, signal: ac.signal });
    ac.abort(new Error('gone'));
    await expect(gaveUp).rejects.toThrow('gone');
    held.release();
    // a new request is served at once (no turn is left taken by the abandoned waiter)
    const next = await sut.acquire('h:1', { tenant: 'c', delayMs: 0, leaseMs: 10_000 });
    next.release();
  });
});
