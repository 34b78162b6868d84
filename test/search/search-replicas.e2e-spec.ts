import { RunningApp, startApp, TestResponse } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { RedisProcess } from '../support/redis-server';
import { form } from '../fixtures/documents/builders';

const KEY = 'replica-key-0123456789abcdef';
const SEARCH_LIMIT = 5;

/**
 * Two app instances on one Postgres and one Redis, as two replicas behind a load balancer: the search
 * rate limit is shared, and an upload through one replica invalidates cached results on the other.
 */
describe('search across two replicas (shared Postgres + Redis)', () => {
  let redis: RedisProcess;
  let db: TestDatabase;
  let a: RunningApp;
  let b: RunningApp;

  const call = (app: RunningApp, path: string, init: RequestInit = {}): Promise<TestResponse> =>
    app.request(path, {
      ...init,
      headers: { 'X-API-Key': KEY, ...(init.headers as Record<string, string>) },
    });
  const search = (app: RunningApp, q: string) =>
    call(app, `/api/v1/search?store=shared&q=${encodeURIComponent(q)}`);

  beforeAll(async () => {
    redis = await RedisProcess.start();
    db = await createTestDatabase();
    const env = {
      AUTH_API_KEYS: `${KEY}=demo`,
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      RATE_LIMIT_SEARCH: String(SEARCH_LIMIT),
      RATE_LIMIT_WINDOW_MS: '60000',
    };
    a = await startApp(env);
    b = await startApp(env);
    const created = await call(a, '/api/v1/stores', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'shared' }),
    });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
    await redis?.stop();
  });

  it('an upload through one replica makes the other miss and find the new document', async () => {
    expect((await search(a, 'ocelot')).headers.get('x-cache')).toBe('MISS');
    const cachedOnA = await search(a, 'ocelot');
    expect(cachedOnA.headers.get('x-cache')).toBe('HIT');
    expect(cachedOnA.body.total).toBe(0);

    const up = await call(b, '/api/v1/stores/shared/documents', {
      method: 'POST',
      body: form([['cats.txt', 'The ocelot is a wild cat of the Americas.']]),
    });
    expect(up.status).toBe(201);

    const afterUpload = await search(a, 'ocelot');
    expect(afterUpload.headers.get('x-cache')).toBe('MISS');
    expect(afterUpload.body.results.map((r: { documentId: string }) => r.documentId)).toEqual([
      up.body.documents[0].id,
    ]);
  });

  it('shares the search limit: the requests of both replicas count, then 429 with Retry-After', async () => {
    // 3 searches were made above on replica a; the limit is per key and group, across replicas
    const onB = await search(b, 'ocelot');
    expect(onB.status).toBe(200);
    expect(onB.headers.get('x-ratelimit-limit')).toBe(String(SEARCH_LIMIT));
    expect(onB.headers.get('x-ratelimit-remaining')).toBe('1');
    expect((await search(a, 'ocelot')).status).toBe(200);

    const limited = await search(b, 'ocelot');
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await search(a, 'ocelot')).status).toBe(429);

    // uploads are their own group: still allowed
    const up = await call(a, '/api/v1/stores/shared/documents', {
      method: 'POST',
      body: form([['more.txt', 'Another document, still accepted.']]),
    });
    expect(up.status).toBe(201);

    for (const app of [a, b]) {
      const metrics = (await app.request('/metrics')).text;
      expect(metrics).toMatch(/^rate_limit_exceeded_total\{route="\/api\/v1\/search"\} 1$/m);
    }
  });
});
