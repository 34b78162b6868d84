import { HOLD_FACTOR, UploadBudget, UploadCapacityError } from './upload-budget';

const MiB = 1024 * 1024;
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('UploadBudget', () => {
  const make = (budgetMiB: number, waitMs = 60_000, tenantShare = 1) =>
    new UploadBudget({ budgetBytes: budgetMiB * MiB, waitMs, maxFileBytes: 20 * MiB, tenantShare });

  it('reserves one file of the declared size (at most the per-file limit; a chunked body the limit) times the hold factor', () => {
    const sut = make(1000);
    expect(sut.reservation(1 * MiB)).toBe(HOLD_FACTOR * MiB);
    expect(sut.reservation(400 * MiB)).toBe(HOLD_FACTOR * 20 * MiB);
    expect(sut.reservation(undefined)).toBe(HOLD_FACTOR * 20 * MiB);
    expect(sut.reservation(Number.NaN)).toBe(HOLD_FACTOR * 20 * MiB);
    // never more than the budget: one upload at a time still gets through a tiny budget
    expect(make(16).reservation(undefined)).toBe(16 * MiB);
  });

  it('admits while there is room, then makes the next wait until a release', async () => {
    const sut = make(250); // two 100 MiB reservations fit, a third does not
    const r1 = await sut.acquire('a', 20 * MiB);
    await sut.acquire('b', 20 * MiB);
    let third = false;
    const pending = sut.acquire('c', 20 * MiB).then((r) => ((third = true), r));
    await settle();
    expect(third).toBe(false);
    expect(sut.reservedBytes).toBe(200 * MiB);
    r1();
    r1(); // idempotent
    await pending;
    expect(third).toBe(true);
    expect(sut.reservedBytes).toBe(200 * MiB);
  });

  it('refuses with 503 CAPACITY_EXCEEDED and Retry-After after waiting at most waitMs (or at once with 0)', async () => {
    jest.useFakeTimers();
    try {
      const sut = make(100, 5000);
      await sut.acquire('a', 20 * MiB);
      const waiting = sut.acquire('b', 20 * MiB);
      jest.advanceTimersByTime(5000);
      const err = await waiting.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UploadCapacityError);
      expect(err).toMatchObject({
        status: 503,
        code: 'CAPACITY_EXCEEDED',
        headers: { 'Retry-After': expect.any(String), Connection: 'close' },
        details: { pool: 'upload_memory', budgetBytes: 100 * MiB },
      });
      const now = make(100, 0);
      await now.acquire('a', 20 * MiB);
      await expect(now.acquire('a', 1)).rejects.toBeInstanceOf(UploadCapacityError);
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps a tenant to its share (its first request only needs room) and serves the waiting tenant holding least first', async () => {
    const sut = make(400, 60_000, 0.5); // four 100 MiB reservations, two per tenant
    const order: string[] = [];
    const a = [await sut.acquire('a', 20 * MiB), await sut.acquire('a', 20 * MiB)];
    const a3 = sut.acquire('a', 20 * MiB).then((r) => (order.push('a3'), r));
    await settle();
    expect(order).toEqual([]); // a holds its half: a3 waits with room left
    const b = [await sut.acquire('b', 20 * MiB), await sut.acquire('b', 20 * MiB)]; // room for b at once
    const b3 = sut.acquire('b', 20 * MiB).then((r) => (order.push('b3'), r));
    b[0]();
    await settle();
    // b released, but b3 is b's third: b holds 100, a holds 200 — b3 (under b's share) goes first
    expect(order).toEqual(['b3']);
    a[0]();
    await settle();
    expect(order).toEqual(['b3', 'a3']);
    await Promise.all([a3, b3]);
  });

  it('admits a first request larger than the tenant share when there is room', async () => {
    const sut = make(150, 60_000, 0.5);
    await sut.acquire('a', 20 * MiB); // 100 MiB > 75 MiB share
    expect(sut.reservedBytes).toBe(100 * MiB);
  });
});
