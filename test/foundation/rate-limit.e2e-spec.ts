import { randomBytes } from 'node:crypto';
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
    expect(metrics).toMatch(/errors_total\{type="rate_limit",route="\/api\/v1\/fixture\/whoami"\} 1/);
  });

  it('probes and scrapes are never limited', async () => {
    for (let i = 0; i < 8; i++) expect((await a.request('/health/live')).status).toBe(200);
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
