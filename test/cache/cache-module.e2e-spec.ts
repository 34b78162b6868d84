import { RedisProcess } from '../support/redis-server';
import { RunningApp, startApp } from '../support/app';
import { poll } from '../support/wait';

/** CacheModule.forRoot() inside the real app: /metrics/cache, the redis health check, readiness. */
describe('CacheModule in the app', () => {
  let redis: RedisProcess;
  let app: RunningApp;

  beforeAll(async () => {
    redis = await RedisProcess.start();
    app = await startApp({ REDIS_URL: redis.url, CACHE_OP_TIMEOUT_MS: '50' });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  it('GET /metrics/cache shows both levels, without an API key', async () => {
    const res = await app.request('/metrics/cache');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      l1: { size: expect.any(Number), maxEntries: 10000 },
      l2: { configured: true, opTimeoutMs: 50 },
    });
  });

  it('/health shows redis up; when Redis dies, /health shows it down and readiness stays 200', async () => {
    let health = await app.request('/health');
    await poll(
      async () => (health = await app.request('/health')).body?.details?.redis?.status === 'up',
      5000,
      50,
    );
    expect(health.body.details.redis).toMatchObject({ status: 'up', state: 'ready' });

    await redis.stop();
    health = await app.request('/health');
    expect(health.body.details.redis.status).toBe('down');
    expect((await app.request('/health/ready')).status).toBe(200);
    expect((await app.request('/metrics/live')).body.cache).toMatchObject({ l2: { configured: true } });

    await redis.start();
  });

  it('exposes the cache metric families in /metrics', async () => {
    const text = (await app.request('/metrics')).text;
    for (const name of ['cache_operations_total', 'cache_operation_duration_seconds', 'cache_size'])
      expect(text).toContain(`# TYPE ${name}`);
  });
});
