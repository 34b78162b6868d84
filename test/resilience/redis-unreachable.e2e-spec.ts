import { ChildApp } from '../support/child-app';
import { freePort, RedisProcess } from '../support/redis-server';
import { sleep, until } from '../support/wait';

/**
 * Issue 20, item 6: with REDIS_URL pointing at nothing, the service used to print `[ioredis] Unhandled error
 * event … ECONNREFUSED` with a stack trace 32 times in 25 s, mixed into the JSON log, and /health blamed the
 * downloader (`timed out after 1500 ms`). Now every Redis client reports to one monitor: one structured warning
 * when Redis is lost, one line when it is back, and /health names it (`redis: connection refused`).
 */
describe('Redis unreachable: said once, clearly (child process)', () => {
  let app: ChildApp | undefined;
  let redis: RedisProcess | undefined;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    app = await ChildApp.spawn({ REDIS_URL: `redis://127.0.0.1:${port}`, LOG_LEVEL: 'info' });
    await app.waitReady();
  });
  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  const events = (name: string) => app!.lines.filter((l) => l.event === name);

  it('logs one structured "lost" warning, however many reconnects fail, and nothing unhandled', async () => {
    await until(() => events('connection_lost').length > 0, 20_000, 'the "lost" warning');
    // let the clients fail several reconnects (their backoff reaches 2 s), with requests that use Redis
    for (let i = 0; i < 4; i++) {
      expect((await app!.request('/api/v1/buildings/bld-001')).status).toBe(200); // L1 + source
      await sleep(2000);
    }
    const batch = await app!.request('/api/v1/batch', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ urls: ['http://127.0.0.1:9/x'] }),
    });
    expect([batch.status, batch.body.code]).toEqual([503, 'JOB_QUEUE_UNAVAILABLE']);

    expect(app!.log).not.toContain('Unhandled error event');
    expect(app!.log).not.toMatch(/^\s+at /m); // no stack trace anywhere in stdout or stderr
    const lost = events('connection_lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({
      level: 'warn',
      dependency: 'redis',
      address: `127.0.0.1:${port}`,
      reason: 'connection refused',
    });
    expect(String(lost[0].msg)).toMatch(/^Redis connection lost \(127\.0\.0\.1:\d+: connection refused\)/);
    // every other line about Redis being unreachable is gone (the cache's, the queue's, the counters')
    expect(app!.lines.filter((l) => /ECONNREFUSED/.test(String(l.msg)))).toEqual([]);
  });

  it('/health names the dependency that is down: redis, connection refused (not the downloader timing out)', async () => {
    const health = await app!.request('/health');
    expect(health.status).toBe(503);
    expect(health.body.error.redis).toMatchObject({ status: 'down', message: 'connection refused' });
    expect(health.body.error.downloader).toMatchObject({
      status: 'down',
      message: 'redis: connection refused',
    });
    expect(JSON.stringify(health.body)).not.toContain('timed out');
    // readiness does not depend on a cache
    expect((await app!.request('/health/ready')).status).toBe(200);
  });

  it('logs one "restored" line when Redis comes back, and /health is up again', async () => {
    redis = new RedisProcess(port);
    await redis.start();
    await until(() => events('connection_restored').length > 0, 30_000, 'the "restored" line');
    const restored = events('connection_restored');
    expect(restored).toHaveLength(1);
    expect(restored[0]).toMatchObject({ level: 'info', dependency: 'redis', address: `127.0.0.1:${port}` });
    expect(String(restored[0].msg)).toMatch(
      /^Redis connection restored \(127\.0\.0\.1:\d+\) after [\d.]+ s$/,
    );
    await until(async () => (await app!.request('/health')).status === 200, 10_000, '/health 200');
    expect(events('connection_lost')).toHaveLength(1);
  });
});
