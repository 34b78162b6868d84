import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RunningApp, startApp } from '../support/app';
import { FixtureRoutesModule } from '../support/fixture-routes';
import { RedisProcess, SHARED_REDIS_URL } from '../support/redis-server';

describe('rate limits', () => {
  // a fresh key per run: counters in the shared Redis never collide with another run or suite
  const key = `rl-${randomBytes(8).toString('hex')}`;
  const env = {
    AUTH_API_KEYS: `${key}=demo`,
    RATE_LIMIT_DEFAULT: '5',
    RATE_LIMIT_WINDOW_MS: '60000',
    REDIS_URL: SHARED_REDIS_URL,
  };
  let a: RunningApp;
  let b: RunningApp;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startApp(env, { extraModules: [FixtureRoutesModule] }),
      startApp(env, { extraModules: [FixtureRoutesModule] }),
    ]);
  });
  afterAll(async () => Promise.all([a.close(), b.close()]));

  it('one limit shared by two instances on one Redis: 429 RATE_LIMITED with Retry-After, counted in the metric', async () => {
    const headers = { 'X-API-Key': key };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await (i % 2 ? b : a).request('/api/v1/fixture/whoami', { headers });
      statuses.push(res.status);
      if (res.status === 200) {
        expect(res.headers.get('x-ratelimit-limit')).toBe('5');
        expect(Number(res.headers.get('x-ratelimit-remaining'))).toBe(4 - i);
      } else {
        expect(res.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const metrics = (await b.request('/metrics')).text;
    expect(metrics).toMatch(/rate_limit_exceeded_total\{route="\/api\/v1\/fixture\/whoami"\} 1/);
    expect(metrics).toMatch(
      /errors_total\{type="rate_limit",route="\/api\/v1\/fixture\/whoami",fault="client"\} 1/,
    );
  });

  it('probes and scrapes are never limited', async () => {
    for (let i = 0; i < 8; i++) expect((await a.request('/health/live')).status).toBe(200);
  });
});

describe('rate limits switched off (RATE_LIMIT_ENABLED=false)', () => {
  it('nothing is counted or refused, and no X-RateLimit-* header is sent', async () => {
    const app = await startApp(
      { RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_DEFAULT: '2' },
      { extraModules: [FixtureRoutesModule] },
    );
    try {
      for (let i = 0; i < 5; i++) {
        const res = await app.request('/api/v1/fixture/whoami');
        expect(res.status).toBe(200);
        expect(res.headers.get('x-ratelimit-limit')).toBeNull();
      }
    } finally {
      await app.close();
    }
  });
});

describe('rate limits when Redis is down', () => {
  it('fall back to per-replica counting instead of failing requests', async () => {
    const redis = await RedisProcess.start();
    const app = await startApp(
      { RATE_LIMIT_DEFAULT: '3', REDIS_URL: redis.url },
      { extraModules: [FixtureRoutesModule] },
    );
    try {
      await redis.stop();
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await app.request('/api/v1/fixture/whoami')).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      await app.close();
      await redis.stop();
    }
  });
});

describe('rate limits counted locally and synced to Redis in batches (two instances)', () => {
  // limit 100 → each replica may hold floor(100 × RATE_LIMIT_LOCAL_SHARE 0.05) = 5 hits Redis has not counted
  const LIMIT = 100;
  const BATCH = 5;
  const REPLICAS = 2;
  const [shared, offline] = [0, 1].map((i) => `rl-batch-${i}-${randomBytes(8).toString('hex')}`);
  let redis: RedisProcess;
  let monitor: Redis;
  let feed: Redis | undefined;
  const evals: string[][] = [];
  let a: RunningApp;
  let b: RunningApp;

  beforeAll(async () => {
    redis = await RedisProcess.start();
    monitor = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    monitor.on('error', () => undefined);
    // every script call that reaches this private Redis, to count round trips and the hits they carry
    feed = await monitor.monitor();
    feed.on('error', () => undefined);
    feed.on('monitor', (_time: string, args: string[]) => {
      if (/^eval(sha)?$/i.test(args[0]) && args[3]?.startsWith('atrium:ratelimit:')) evals.push(args);
    });
    const env = {
      AUTH_API_KEYS: `${shared}=demo,${offline}=demo`,
      RATE_LIMIT_DEFAULT: String(LIMIT),
      RATE_LIMIT_WINDOW_MS: '600000',
      RATE_LIMIT_LOCAL_SHARE: '0.05',
      // pushes then come from the half-batch rule, not the clock: the count of Redis calls below does not
      // depend on how fast this machine answers the 300 requests
      RATE_LIMIT_SYNC_INTERVAL_MS: '5000',
      // the bound holds while Redis answers within the op timeout; this process runs both apps and the
      // client, and on a busy machine its event loop can stall for longer than the default 100 ms
      CACHE_OP_TIMEOUT_MS: '2000',
      REDIS_URL: redis.url,
    };
    [a, b] = await Promise.all([
      startApp(env, { extraModules: [FixtureRoutesModule] }),
      startApp(env, { extraModules: [FixtureRoutesModule] }),
    ]);
  }, 180_000); // two app boots on a busy 2-core machine
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    feed?.disconnect();
    monitor?.disconnect();
    await redis?.stop();
  });

  /** `total` requests alternating between the instances, `concurrency` at a time; the statuses. */
  const spread = async (key: string, total: number, concurrency = 10): Promise<number[]> => {
    const statuses: number[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        const res = await (i % 2 ? b : a).request('/api/v1/fixture/whoami', {
          headers: { 'X-API-Key': key },
        });
        if (res.status === 429) {
          expect(res.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        } else expect(res.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
        statuses.push(res.status);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return statuses;
  };

  it('300 requests over both: at most the limit plus the documented overshoot succeed, in far fewer Redis calls', async () => {
    const statuses = await spread(shared, 300);
    const ok = statuses.filter((s) => s === 200).length;
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(ok).toBeGreaterThanOrEqual(LIMIT);
    expect(ok).toBeLessThanOrEqual(LIMIT - 1 + REPLICAS * BATCH);

    // every admitted request reaches the shared window (the last ones with the next sync)...
    const counter = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    const tracker = `atrium:ratelimit:default:${principalFingerprint(shared)}`;
    try {
      const deadline = Date.now() + 30_000;
      let inRedis = 0;
      while (Date.now() < deadline) {
        // the window's hash: its name (_w) and a field per replica holding that replica's count
        const fields = await counter.hgetall(tracker);
        inRedis = Object.entries(fields).reduce((sum, [f, v]) => (f === '_w' ? sum : sum + Number(v)), 0);
        if (inRedis === ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(inRedis).toBe(ok);
    } finally {
      counter.disconnect();
    }
    // ...in batches: at least two requests per Redis call on average, not one call per request
    const calls = evals.filter((args) => args[3] === tracker);
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.length).toBeLessThanOrEqual(ok / 2);
  });

  it('with Redis stopped, each instance still enforces the limit on its own', async () => {
    await redis.stop();
    const statuses = await spread(offline, 2 * (LIMIT + 20));
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    // per instance: exactly the limit (no replica knows the other's count while Redis is away)
    expect(statuses.filter((s) => s === 200).length).toBe(REPLICAS * LIMIT);
  });
});

/** The rate-limit tracker of an API key: `key:` + the first 6 bytes of its SHA-256, as the auth guard names it. */
function principalFingerprint(key: string): string {
  return `key:${createHash('sha256').update(key).digest().subarray(0, 6).toString('hex')}`;
}
