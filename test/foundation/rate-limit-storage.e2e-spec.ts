import { Redis } from 'ioredis';
import { BatchedThrottlerStorage } from '@app/rate-limit/batched-throttler.storage';
import { RedisProcess } from '../support/redis-server';

/**
 * The rate-limit storage against a real (private) Redis, several replicas in one process: the overshoot
 * bound under concurrency, exact counting of small limits, idempotent pushes, and Redis going away.
 */
describe('BatchedThrottlerStorage on Redis', () => {
  let redis: RedisProcess;
  let client: Redis;
  const replicas: BatchedThrottlerStorage[] = [];
  const replica = (localShare = 0.05, syncIntervalMs = 200): BatchedThrottlerStorage => {
    const r = new BatchedThrottlerStorage({
      redisUrl: redis.url,
      prefix: 'rl-test:',
      opTimeoutMs: 1000,
      syncIntervalMs,
      localShare,
    });
    replicas.push(r);
    return r;
  };
  const ready = async (...rs: BatchedThrottlerStorage[]): Promise<void> => {
    for (const r of rs) await r.ready();
  };
  const hit = (r: BatchedThrottlerStorage, key: string, limit: number) =>
    r.increment(key, 60_000, limit, 60_000, 'default');
  /** The window's total in Redis: every replica's field of the hash, without its name. */
  const inRedis = async (key: string): Promise<number> =>
    Object.entries(await client.hgetall(`rl-test:${key}`)).reduce(
      (sum, [f, v]) => (f === '_w' ? sum : sum + Number(v)),
      0,
    );
  const eventually = async (check: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('condition not reached');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    redis = await RedisProcess.start();
    client = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
  });
  afterAll(async () => {
    for (const r of replicas) await r.onApplicationShutdown();
    client.disconnect();
    await redis.stop();
  });

  it('three replicas, 3,000 concurrent hits on one limit of 200: at most limit − 1 + replicas × batch admitted', async () => {
    const rs = [replica(), replica(), replica()];
    await ready(...rs);
    const batch = rs[0].batchOf(200); // 10
    const records = await Promise.all(Array.from({ length: 3000 }, (_, i) => hit(rs[i % 3], 'bound', 200)));
    const admitted = records.filter((r) => !r.isBlocked).length;
    expect(admitted).toBeGreaterThanOrEqual(200);
    expect(admitted).toBeLessThanOrEqual(200 - 1 + 3 * batch);
    // what was admitted reaches Redis, counted once
    await eventually(async () => (await inRedis('bound')) === admitted);
    for (const r of records.filter((x) => x.isBlocked)) expect(r.timeToBlockExpire).toBeGreaterThan(0);
  });

  it('small limits are counted in Redis on every hit: exact across replicas, Remaining included', async () => {
    const [a, b] = [replica(), replica()];
    await ready(a, b);
    expect(a.batchOf(5)).toBe(1);
    const seen = [];
    for (let i = 0; i < 7; i++) seen.push(await hit(i % 2 ? b : a, 'exact', 5));
    expect(seen.map((r) => r.isBlocked)).toEqual([false, false, false, false, false, true, true]);
    expect(seen.slice(0, 5).map((r) => r.totalHits)).toEqual([1, 2, 3, 4, 5]);
  });

  it('a replica joining later learns the window from Redis (its first push brings the total back)', async () => {
    const [a, b] = [replica(0.05, 50), replica(0.05, 50)];
    await ready(a, b);
    for (let i = 0; i < 60; i++) await hit(a, 'join', 100);
    await eventually(async () => (await inRedis('join')) === 60);
    // b starts from its own count until its first push answers; then it sees a's 60
    await hit(b, 'join', 100);
    await eventually(async () => (await hit(b, 'join', 100)).totalHits > 60);
  });

  it('with Redis gone each replica enforces the limit alone; its hits reach Redis when it is back', async () => {
    const [a, b] = [replica(0.05, 50), replica(0.05, 50)];
    await ready(a, b);
    await redis.stop();
    const admittedA = (await Promise.all(Array.from({ length: 150 }, () => hit(a, 'outage', 100)))).filter(
      (r) => !r.isBlocked,
    ).length;
    const admittedB = (await Promise.all(Array.from({ length: 150 }, () => hit(b, 'outage', 100)))).filter(
      (r) => !r.isBlocked,
    ).length;
    expect([admittedA, admittedB]).toEqual([100, 100]);

    await redis.start();
    await eventually(async () => {
      try {
        return (await inRedis('outage')) === 200;
      } catch {
        return false; // the helper client is reconnecting
      }
    });
    // a replica that was not there learns from Redis that the window is exhausted
    const c = replica(0.05, 50);
    await ready(c);
    await eventually(async () => (await hit(c, 'outage', 100)).isBlocked);
    expect(await inRedis('outage')).toBeLessThanOrEqual(200 + c.batchOf(100));
  });
});
