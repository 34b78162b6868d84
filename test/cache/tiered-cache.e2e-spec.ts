import { Registry } from 'prom-client';
import { CacheBackend, TieredCache } from '@libs/cache';
import { freePort, RedisProcess } from '../support/redis-server';
import { until } from '../support/wait';

/** The cache library against a real, private redis-server (never the shared one). */
describe('TieredCache with Redis (L2)', () => {
  let redis: RedisProcess;
  const backends: CacheBackend[] = [];

  const backend = (url: string, opTimeoutMs = 50) => {
    const b = new CacheBackend({ redisUrl: url, opTimeoutMs, l1MaxEntries: 1000, registry: new Registry() });
    b.start();
    backends.push(b);
    return b;
  };
  const cacheOf = (b: CacheBackend) =>
    new TieredCache<{ n: number }>(b, {
      keyType: 'building',
      namespace: 'bd',
      ttlMs: 60_000,
      staleTtlMs: 60_000,
    });
  const ready = (b: CacheBackend) => until(() => b.l2?.state === 'ready' && b.l2.subscribed);

  beforeAll(async () => {
    redis = await RedisProcess.start();
  });
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await redis.stop();
  });

  it('a value loaded by one replica is an L2 HIT for another, stored under namespace:tenant:key', async () => {
    const a = backend(redis.url);
    const b = backend(redis.url);
    await Promise.all([ready(a), ready(b)]);
    const ca = cacheOf(a);
    const cb = cacheOf(b);
    expect((await ca.getOrLoad('acme', 'x1', async () => ({ n: 1 }))).status).toBe('MISS');
    await until(async () => (await b.l2!.get('bd:acme:x1')).env !== undefined);
    const loader = jest.fn(async () => ({ n: 2 }));
    expect(await cb.getOrLoad('acme', 'x1', loader)).toEqual({ value: { n: 1 }, status: 'HIT' });
    expect(loader).not.toHaveBeenCalled();
    expect(b.snapshot()).toMatchObject({ l2: { keyTypes: { building: { hits: 1 } } } });
  });

  it('a copy past its TTL in L1 gives way to a fresh one another replica stored in L2 (HIT, no load)', async () => {
    const a = backend(redis.url);
    const b = backend(redis.url);
    await Promise.all([ready(a), ready(b)]);
    const short = (x: CacheBackend) =>
      new TieredCache<{ n: number }>(x, {
        keyType: 'building',
        namespace: 'bd',
        ttlMs: 200,
        staleTtlMs: 60_000,
      });
    const ca = short(a);
    const cb = short(b);
    await ca.getOrLoad('acme', 'x3', async () => ({ n: 1 }));
    expect(await cb.getOrLoad('acme', 'x3', async () => ({ n: 9 }))).toEqual({
      value: { n: 1 },
      status: 'HIT',
    });
    expect(b.l1.has('bd:acme:x3')).toBe(true);
    await new Promise((r) => setTimeout(r, 250)); // both copies past their TTL, still kept (stale window)
    await ca.refresh('acme', 'x3', async () => ({ n: 2 }));
    const loader = jest.fn(async () => ({ n: 3 }));
    expect(await cb.getOrLoad('acme', 'x3', loader)).toEqual({ value: { n: 2 }, status: 'HIT' });
    expect(loader).not.toHaveBeenCalled();
    // and it is B's L1 copy now
    expect(await cb.getOrLoad('acme', 'x3', loader)).toEqual({ value: { n: 2 }, status: 'HIT' });
    expect(b.snapshot()).toMatchObject({ l1: { keyTypes: { building: { hits: 1 } } } });
  });

  it('an invalidation on one replica removes the key from the other replica’s L1 (pub/sub) and from L2', async () => {
    const a = backend(redis.url);
    const b = backend(redis.url);
    await Promise.all([ready(a), ready(b)]);
    const ca = cacheOf(a);
    const cb = cacheOf(b);
    await ca.set('acme', 'x2', { n: 1 });
    await cb.getOrLoad('acme', 'x2', async () => ({ n: 9 }));
    expect(b.l1.has('bd:acme:x2')).toBe(true);
    await cb.set('other', 'x2', { n: 5 });
    await ca.invalidate('acme', ['x2']);
    await until(() => !b.l1.has('bd:acme:x2'));
    expect((await a.l2!.get('bd:acme:x2')).env).toBeUndefined();
    expect(b.l1.has('bd:other:x2')).toBe(true);
    expect(await cb.getOrLoad('acme', 'x2', async () => ({ n: 3 }))).toEqual({
      value: { n: 3 },
      status: 'MISS',
    });
  });

  it('Redis slow (DEBUG SLEEP): every operation gives up after the op timeout and is counted', async () => {
    const a = backend(redis.url, 50);
    await ready(a);
    const ca = cacheOf(a);
    const { awake } = await redis.sleep(1);
    const loaded = ca.getOrLoad('acme', 'slow', async () => ({ n: 1 }));
    // the answer comes while Redis still sleeps (20× the op timeout): the cache did not wait for it
    const first = await Promise.race([loaded.then(() => 'cache'), awake.then(() => 'redis')]);
    expect(first).toBe('cache');
    expect(await loaded).toEqual({ value: { n: 1 }, status: 'MISS' });
    expect(a.metrics.operations('l2').timeout).toBeGreaterThanOrEqual(1);
    await awake;
  });

  it('Redis stopped mid-run: fails soft at once, then L2 is used again once Redis is back', async () => {
    const own = await RedisProcess.start();
    try {
      const a = backend(own.url);
      await ready(a);
      const ca = cacheOf(a);
      await own.stop();
      await until(() => a.l2!.state !== 'ready');
      const before = a.metrics.operations('l2');
      expect((await ca.getOrLoad('acme', 'down', async () => ({ n: 1 }))).status).toBe('MISS');
      // failed at once (an error), not after waiting for the op timeout
      expect(a.metrics.operations('l2').error).toBeGreaterThan(before.error);
      expect(a.metrics.operations('l2').timeout).toBe(before.timeout);
      await own.start();
      await ready(a);
      await ca.set('acme', 'back', { n: 2 });
      expect((await a.l2!.get('bd:acme:back')).env?.v).toEqual({ n: 2 });
    } finally {
      await own.stop();
    }
  });

  it('Redis unreachable at startup: works on L1, connects when Redis appears', async () => {
    const port = await freePort();
    const a = backend(`redis://127.0.0.1:${port}`);
    const ca = cacheOf(a);
    expect((await ca.getOrLoad('acme', 'u', async () => ({ n: 1 }))).status).toBe('MISS');
    expect((await ca.getOrLoad('acme', 'u', async () => ({ n: 1 }))).status).toBe('HIT');
    // Redis absent: every L2 operation failed at once (an error), none waited for the op timeout
    expect(a.metrics.operations('l2').error).toBeGreaterThanOrEqual(1);
    expect(a.metrics.operations('l2').timeout).toBe(0);
    const late = new RedisProcess(port);
    await late.start();
    try {
      await ready(a);
      await ca.set('acme', 'u2', { n: 2 });
      expect((await a.l2!.get('bd:acme:u2')).env?.v).toEqual({ n: 2 });
    } finally {
      await late.stop();
    }
  });
});
