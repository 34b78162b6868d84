import { Registry } from 'prom-client';
import { CacheBackend } from './cache-backend';
import { CacheFeatureOptions, TieredCache } from './tiered-cache';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('TieredCache (L1 only)', () => {
  let registry: Registry;
  let backend: CacheBackend;
  const make = (opts: Partial<CacheFeatureOptions> = {}) =>
    new TieredCache<{ n: number }>(backend, { keyType: 'building', namespace: 'bd', ttlMs: 1000, ...opts });

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    registry = new Registry();
    backend = new CacheBackend({ opTimeoutMs: 50, l1MaxEntries: 100, registry });
  });
  afterEach(() => jest.useRealTimers());

  it('keys are namespace:tenant:key', () => {
    expect(make().keyOf('acme', 'b-1')).toBe('bd:acme:b-1');
    expect(() => make().keyOf('', 'b-1')).toThrow();
  });

  it('a disabled namespace calls the loader every time and stores nothing (its routes pass through)', async () => {
    const sut = make({ enabled: false });
    const loader = jest.fn(async () => ({ n: 1 }));
    expect(await sut.getOrLoad('t', 'k', loader)).toEqual({ value: { n: 1 }, status: 'BYPASS' });
    expect(await sut.getOrLoad('t', 'k', loader)).toEqual({ value: { n: 1 }, status: 'BYPASS' });
    expect(loader).toHaveBeenCalledTimes(2);
    await sut.set('t', 'k', { n: 2 });
    expect(await sut.get('t', 'k')).toBeUndefined();
    expect(await sut.refresh('t', 'k', loader)).toEqual({ n: 1 });
    expect(await sut.invalidate('t', ['k', 'k', 'j'])).toBe(2);
    expect(backend.l1.size).toBe(0);
    expect(backend.disabledNamespaces.has('bd')).toBe(true);
  });

  it('MISS then HIT without calling the loader again', async () => {
    const sut = make();
    const loader = jest.fn(async () => ({ n: 1 }));
    expect(await sut.getOrLoad('t', 'k', loader)).toEqual({ value: { n: 1 }, status: 'MISS' });
    expect(await sut.getOrLoad('t', 'k', loader)).toEqual({ value: { n: 1 }, status: 'HIT' });
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('single flight: 200 concurrent callers of a cold key make one load', async () => {
    const sut = make();
    const d = deferred<{ n: number }>();
    const loader = jest.fn(() => d.promise);
    const all = Promise.all(Array.from({ length: 200 }, () => sut.getOrLoad('t', 'k', loader)));
    await Promise.resolve();
    d.resolve({ n: 7 });
    const results = await all;
    expect(loader).toHaveBeenCalledTimes(1);
    expect(results.every((r) => r.value?.n === 7 && r.status === 'MISS')).toBe(true);
  });

  it('a failed load rejects every waiter and is not cached', async () => {
    const sut = make();
    const loader = jest.fn().mockRejectedValueOnce(new Error('boom')).mockResolvedValueOnce({ n: 2 });
    const [a, b] = await Promise.allSettled([
      sut.getOrLoad('t', 'k', loader),
      sut.getOrLoad('t', 'k', loader),
    ]);
    expect(a.status).toBe('rejected');
    expect(b.status).toBe('rejected');
    expect(await sut.getOrLoad('t', 'k', loader)).toEqual({ value: { n: 2 }, status: 'MISS' });
  });

  it('tenants are isolated: same key, different values; invalidating one keeps the other', async () => {
    const sut = make();
    await sut.getOrLoad('a', 'k', async () => ({ n: 1 }));
    await sut.getOrLoad('b', 'k', async () => ({ n: 2 }));
    expect((await sut.getOrLoad('a', 'k', async () => ({ n: 99 }))).value).toEqual({ n: 1 });
    await sut.invalidate('a', ['k']);
    expect(await sut.getOrLoad('b', 'k', async () => ({ n: 99 }))).toEqual({
      value: { n: 2 },
      status: 'HIT',
    });
    expect(await sut.getOrLoad('a', 'k', async () => ({ n: 3 }))).toEqual({
      value: { n: 3 },
      status: 'MISS',
    });
  });

  it('stale-if-error: after the TTL the old value is served STALE only when the loader fails, within staleTtlMs', async () => {
    const sut = make({ ttlMs: 1000, staleTtlMs: 5000 });
    await sut.getOrLoad('t', 'k', async () => ({ n: 1 }));
    jest.advanceTimersByTime(1500);
    const failing = jest.fn(async (): Promise<{ n: number }> => {
      throw new Error('upstream down');
    });
    expect(await sut.getOrLoad('t', 'k', failing)).toEqual({ value: { n: 1 }, status: 'STALE' });
    // a working loader refreshes instead of serving stale
    expect(await sut.getOrLoad('t', 'k', async () => ({ n: 2 }))).toEqual({
      value: { n: 2 },
      status: 'MISS',
    });
    jest.advanceTimersByTime(1000 + 5000 + 1);
    await expect(sut.getOrLoad('t', 'k', failing)).rejects.toThrow('upstream down');
  });

  it('negative caching: null is cached for negativeTtlMs, then asked again', async () => {
    const sut = make({ negativeTtlMs: 300 });
    const loader = jest.fn(async () => null);
    expect(await sut.getOrLoad('t', 'missing', loader)).toEqual({ value: null, status: 'MISS' });
    expect(await sut.getOrLoad('t', 'missing', loader)).toEqual({ value: null, status: 'HIT' });
    jest.advanceTimersByTime(301);
    expect(await sut.getOrLoad('t', 'missing', loader)).toEqual({ value: null, status: 'MISS' });
    expect(loader).toHaveBeenCalledTimes(2);
  });

  it('without negativeTtlMs, null is not cached', async () => {
    const sut = make();
    const loader = jest.fn(async () => null);
    await sut.getOrLoad('t', 'missing', loader);
    await sut.getOrLoad('t', 'missing', loader);
    expect(loader).toHaveBeenCalledTimes(2);
  });

  it('bypass skips the read but stores the fresh value', async () => {
    const sut = make();
    await sut.getOrLoad('t', 'k', async () => ({ n: 1 }));
    expect(await sut.getOrLoad('t', 'k', async () => ({ n: 2 }), { bypass: true })).toEqual({
      value: { n: 2 },
      status: 'BYPASS',
    });
    expect(await sut.getOrLoad('t', 'k', async () => ({ n: 3 }))).toEqual({ value: { n: 2 }, status: 'HIT' });
  });

  it('an invalidation during a load keeps the (older) result of that load out of the cache', async () => {
    const sut = make();
    const d = deferred<{ n: number }>();
    const first = sut.getOrLoad('t', 'k', () => d.promise);
    await Promise.resolve();
    await sut.invalidate('t', ['k']);
    d.resolve({ n: 1 });
    expect((await first).value).toEqual({ n: 1 });
    expect(await sut.getOrLoad('t', 'k', async () => ({ n: 2 }))).toEqual({
      value: { n: 2 },
      status: 'MISS',
    });
  });

  it('counts hits and misses per level and key type, and emits feature events', async () => {
    const sut = make();
    const events: string[] = [];
    sut.onEvent((e) => events.push(e));
    await sut.getOrLoad('t', 'k', async () => ({ n: 1 }));
    await sut.getOrLoad('t', 'k', async () => ({ n: 1 }));
    expect(events).toEqual(['set', 'miss', 'hit']);
    const text = await registry.metrics();
    expect(text).toContain('cache_hits_total{cache_level="l1",key_type="building"} 1');
    expect(text).toContain('cache_misses_total{cache_level="l1",key_type="building"} 1');
    expect(text).toContain('cache_size{cache_level="l1",key_type="building"} 1');
    expect(backend.snapshot()).toMatchObject({
      l1: { size: 1, keyTypes: { building: { hits: 1, misses: 1, hitRate: 0.5, size: 1 } } },
      l2: { configured: false },
    });
  });
});
