import { BatchedThrottlerStorage } from './batched-throttler.storage';

describe('BatchedThrottlerStorage without Redis (per-process counters)', () => {
  let storage: BatchedThrottlerStorage;
  const hit = (key: string, limit: number, windowMs = 60_000) =>
    storage.increment(key, windowMs, limit, windowMs, 'default');

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    storage = new BatchedThrottlerStorage({
      prefix: 'test:',
      opTimeoutMs: 100,
      syncIntervalMs: 100,
      localShare: 0.05,
    });
  });
  afterEach(async () => {
    await storage.onApplicationShutdown();
    jest.useRealTimers();
  });

  it('sizes the batch a replica may hold unsynced from the limit (below 2: every hit counted in Redis)', () => {
    expect(storage.batchOf(5)).toBe(1);
    expect(storage.batchOf(39)).toBe(1);
    expect(storage.batchOf(40)).toBe(2);
    expect(storage.batchOf(100)).toBe(5);
    expect(storage.batchOf(1200)).toBe(60);
  });

  it('admits `limit` hits per window, then refuses until the window ends, with the time left', async () => {
    const records = [];
    for (let i = 0; i < 5; i++) records.push(await hit('default:k1', 4));
    expect(records.map((r) => r.isBlocked)).toEqual([false, false, false, false, true]);
    expect(records.map((r) => r.totalHits)).toEqual([1, 2, 3, 4, 5]);
    const left = records[4].timeToBlockExpire;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(60);
    expect(records[0].timeToExpire).toBe(left);

    // other keys (another caller, another group) have their own windows
    expect((await hit('default:k2', 4)).isBlocked).toBe(false);
    expect((await hit('search:k1', 4)).isBlocked).toBe(false);
    if (left > 1) {
      jest.advanceTimersByTime((left - 1) * 1000 - 1);
      expect((await hit('default:k1', 4)).isBlocked).toBe(true);
    }
    jest.advanceTimersByTime(1001);
    expect(await hit('default:k1', 4)).toMatchObject({ isBlocked: false, totalHits: 1 });
  });

  it('counts in O(1) memory per caller and forgets windows that ended', async () => {
    for (let i = 0; i < 10_000; i++) await hit('default:busy', 1_000_000_000);
    for (let i = 0; i < 50; i++) await hit(`default:caller-${i}`, 10);
    expect(storage.size).toBe(51);
    jest.advanceTimersByTime(60_000 + 200);
    expect(storage.size).toBe(0);
  });
});
