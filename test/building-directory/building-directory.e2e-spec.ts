import type { Redis } from 'ioredis';
import { RunningApp, startApp } from '../support/app';
import { RedisProcess } from '../support/redis-server';
import { UpstreamDirectory } from '../fixtures/upstream-directory';
import {
  ACME_KEY,
  ADMIN_KEY,
  API_KEYS,
  auth,
  FIXTURE_DATA,
  GLOBEX_KEY,
  metricValue,
  postJson,
  redisClient,
  sign,
  until,
  UPSTREAM_TOKEN,
  WEBHOOK_SECRET,
} from './helpers';

/**
 * The building directory against a real fixture upstream (real socket) and a real, private Redis.
 */
// each test boots real app instances (PGlite, Redis, sockets): generous, not a performance bound
jest.setTimeout(120_000);

describe('Building directory (e2e)', () => {
  let upstream: UpstreamDirectory;
  let redis: RedisProcess;
  let redisCli: Redis;
  let app: RunningApp;

  beforeAll(async () => {
    upstream = await UpstreamDirectory.start({ data: FIXTURE_DATA, latencyMs: 20, token: UPSTREAM_TOKEN });
    redis = await RedisProcess.start();
    redisCli = redisClient(redis.url);
    app = await startApp({
      AUTH_API_KEYS: API_KEYS,
      REDIS_URL: redis.url,
      BUILDING_DIRECTORY_URL: upstream.url,
      BUILDING_DIRECTORY_TOKEN: UPSTREAM_TOKEN,
      BUILDING_DIRECTORY_WEBHOOK_SECRET: WEBHOOK_SECRET,
      BUILDING_DIRECTORY_TIMEOUT_MS: '500',
      BUILDING_DIRECTORY_RETRIES: '1',
      RATE_LIMIT_DEFAULT: '100000',
    });
    await until(
      async () => (await app.request('/metrics/cache')).body?.l2?.state === 'ready',
      5000,
      'redis ready',
    );
  });
  afterAll(async () => {
    await app?.close();
    redisCli?.disconnect();
    await redis?.stop();
    await upstream?.stop();
  });
  beforeEach(() => {
    upstream.heal();
    upstream.latencyMs = 20;
  });

  const get = (path: string, key = ACME_KEY, extra: Record<string, string> = {}) =>
    app.request(`/api/v1/buildings/${path}`, auth(key, extra));

  it('first GET is a MISS, the second a HIT that makes no upstream call; tenant, request id and token go upstream', async () => {
    upstream.resetCalls();
    const first = await get('b-1', ACME_KEY, { 'x-request-id': 'req-bd-e2e-1' });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.body).toEqual(FIXTURE_DATA.acme[0]);
    expect(upstream.calls).toHaveLength(1);
    expect(upstream.calls[0].headers).toMatchObject({
      'x-tenant-id': 'acme',
      'x-request-id': 'req-bd-e2e-1',
      authorization: `Bearer ${UPSTREAM_TOKEN}`,
    });

    const second = await get('b-1');
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.body).toEqual(first.body);
    expect(upstream.callCount()).toBe(1);
  });

  it('stores the entry in Redis under building_dir:{tenantId}:{buildingId}', async () => {
    await get('b-1');
    await until(async () => (await redisCli.get('building_dir:acme:b-1')) !== null, 2000, 'L2 write');
    const stored = JSON.parse((await redisCli.get('building_dir:acme:b-1'))!);
    expect(stored.v).toEqual(FIXTURE_DATA.acme[0]);
    expect(await redisCli.pttl('building_dir:acme:b-1')).toBeGreaterThan(0);
  });

  it('200 concurrent GETs of one cold key make exactly one upstream call', async () => {
    upstream.latencyMs = 150;
    upstream.resetCalls();
    const responses = await Promise.all(Array.from({ length: 200 }, () => get('hot-0')));
    expect(responses.every((r) => r.status === 200 && r.body.id === 'hot-0')).toBe(true);
    expect(upstream.callCount({ buildingId: 'hot-0' })).toBe(1);
  });

  it('the same id under two tenants returns each tenant’s own data; invalidating one leaves the other cached', async () => {
    const a = await get('b-1', ACME_KEY);
    const g = await get('b-1', GLOBEX_KEY);
    expect(a.body.name).toBe('Acme One');
    expect(g.body.name).toBe('Globex One');
    // a `*` key names the tenant with X-Tenant-ID and sees that tenant's data only
    expect((await get('b-1', ADMIN_KEY, { 'x-tenant-id': 'globex' })).body.name).toBe('Globex One');

    const inv = await app.request(
      '/api/v1/buildings/cache/invalidate',
      postJson(ACME_KEY, { buildingIds: ['b-1'] }),
    );
    expect(inv.status).toBe(200);
    expect(inv.body).toEqual({ invalidated: 1 });
    expect(await redisCli.get('building_dir:acme:b-1')).toBeNull();

    upstream.resetCalls();
    const globexAgain = await get('b-1', GLOBEX_KEY);
    expect(globexAgain.headers.get('x-cache')).toBe('HIT');
    const acmeAgain = await get('b-1', ACME_KEY);
    expect(acmeAgain.headers.get('x-cache')).toBe('MISS');
    expect(upstream.calls.map((c) => c.tenantId)).toEqual(['acme']);
  });

  it('a tenant without the building gets 404, and another tenant’s id never leaks', async () => {
    const res = await get('b-loc', GLOBEX_KEY);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({
      statusCode: 404,
      code: 'BUILDING_NOT_FOUND',
      requestId: expect.any(String),
    });
  });

  it('not found is cached briefly (negative caching): the second 404 makes no upstream call', async () => {
    upstream.resetCalls();
    expect((await get('nope-1')).status).toBe(404);
    const again = await get('nope-1');
    expect(again.status).toBe(404);
    expect(upstream.callCount({ buildingId: 'nope-1' })).toBe(1);
  });

  it('Cache-Control: no-cache bypasses the read (X-Cache: BYPASS) and stores the fresh answer', async () => {
    await get('b-flat');
    upstream.setBuilding('acme', { ...FIXTURE_DATA.acme[2], name: 'Acme Flat v2' });
    upstream.resetCalls();
    const fresh = await get('b-flat', ACME_KEY, { 'cache-control': 'no-cache' });
    expect(fresh.headers.get('x-cache')).toBe('BYPASS');
    expect(fresh.body.name).toBe('Acme Flat v2');
    expect(upstream.callCount()).toBe(1);
    const cached = await get('b-flat');
    expect(cached.headers.get('x-cache')).toBe('HIT');
    expect(cached.body.name).toBe('Acme Flat v2');
    upstream.setBuilding('acme', FIXTURE_DATA.acme[2]);
  });

  it('validation: valid, invalid_inactive, invalid_not_found, and error when the upstream fails', async () => {
    expect((await get('b-1/validation')).body).toEqual({ buildingId: 'b-1', valid: true, result: 'valid' });
    expect((await get('b-off/validation')).body).toEqual({
      buildingId: 'b-off',
      valid: false,
      result: 'invalid_inactive',
    });
    expect((await get('missing-9/validation')).body).toEqual({
      buildingId: 'missing-9',
      valid: false,
      result: 'invalid_not_found',
    });
    upstream.fail({ status: 500 });
    const err = await get('never-cached/validation');
    expect(err.status).toBe(200);
    expect(err.body).toEqual({ buildingId: 'never-cached', valid: false, result: 'error' });
  });

  it('request data: denormalised with coordinates from nested, location, flat and missing shapes', async () => {
    expect((await get('b-1/request-data')).body).toEqual({
      buildingId: 'b-1',
      name: 'Acme One',
      address: { street: '1 Road', city: 'Austin', postalCode: '73301', country: 'US' },
      latitude: 30.27,
      longitude: -97.74,
      coordinatesSource: 'nested',
    });
    expect((await get('b-loc/request-data')).body).toMatchObject({
      latitude: 10.5,
      longitude: 20.25,
      coordinatesSource: 'nested',
      address: { street: null, city: 'Flat City', postalCode: null, country: null },
    });
    expect((await get('b-flat/request-data')).body).toMatchObject({
      latitude: 45.1,
      longitude: 7.6,
      coordinatesSource: 'flat',
      address: { street: 'Flat St 2', postalCode: '999' },
    });
    expect((await get('b-none/request-data')).body).toMatchObject({
      latitude: null,
      longitude: null,
      coordinatesSource: 'missing',
    });
    const inactive = await get('b-off/request-data');
    expect(inactive.status).toBe(422);
    expect(inactive.body.code).toBe('BUILDING_INACTIVE');
    expect((await get('zzz/request-data')).status).toBe(404);
  });

  it('cache warm loads buildings fresh and reports warmed / notFound / failed', async () => {
    await app.request(
      '/api/v1/buildings/cache/invalidate',
      postJson(ACME_KEY, { buildingIds: ['hot-1', 'hot-2'] }),
    );
    const res = await app.request(
      '/api/v1/buildings/cache/warm',
      postJson(ACME_KEY, { buildingIds: ['hot-1', 'hot-2', 'ghost-1'] }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      warmed: 2,
      notFound: 1,
      failed: 0,
      details: { notFound: ['ghost-1'], failed: [] },
    });
    upstream.resetCalls();
    expect((await get('hot-1')).headers.get('x-cache')).toBe('HIT');
    expect(upstream.callCount()).toBe(0);

    upstream.fail({ status: 503 });
    const failed = await app.request(
      '/api/v1/buildings/cache/warm',
      postJson(ACME_KEY, { buildingIds: ['hot-3'] }),
    );
    expect(failed.body).toMatchObject({ warmed: 0, failed: 1, details: { failed: ['hot-3'] } });
  });

  it('client mistakes are 4xx in the contract shape', async () => {
    const cases: Array<[RequestInit, string]> = [
      [postJson(ACME_KEY, { buildingIds: [] }), 'VALIDATION_FAILED'],
      [
        postJson(ACME_KEY, { buildingIds: Array.from({ length: 501 }, (_, i) => `b${i}`) }),
        'VALIDATION_FAILED',
      ],
      [postJson(ACME_KEY, { buildingIds: ['../etc'] }), 'VALIDATION_FAILED'],
      [postJson(ACME_KEY, { buildingIds: ['b-1'], extra: 1 }), 'VALIDATION_FAILED'],
    ];
    for (const [init, code] of cases) {
      const res = await app.request('/api/v1/buildings/cache/invalidate', init);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe(code);
    }
    expect((await app.request('/api/v1/buildings/b-1')).status).toBe(401);
    const badId = await get(encodeURIComponent('bad id!'));
    expect(badId.status).toBe(400);
    expect(badId.body.code).toBe('VALIDATION_FAILED');
    expect(Object.keys(badId.body.details.fields)).toEqual(['buildingId']);
  });

  describe('webhook', () => {
    const hook = (raw: string, headers: Record<string, string>) =>
      app.request('/api/v1/webhooks/building-directory', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: raw,
      });

    it('a valid signature over the raw body invalidates the named buildings of that tenant', async () => {
      await get('hot-4');
      await get('b-1', GLOBEX_KEY);
      // deliberately odd spacing: the signature covers these exact bytes, not a re-serialisation
      const raw = '{ "tenantId":"acme",  "buildingIds": ["hot-4"], "event": "building.updated" }';
      const res = await hook(raw, { 'x-signature': sign(raw) });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ invalidated: 1 });
      upstream.resetCalls();
      expect((await get('hot-4')).headers.get('x-cache')).toBe('MISS');
      expect((await get('b-1', GLOBEX_KEY)).headers.get('x-cache')).toBe('HIT');
      expect(upstream.callCount()).toBe(1);
    });

    it('missing or wrong signature: 401 SIGNATURE_INVALID and nothing changes', async () => {
      await get('hot-4');
      const raw = JSON.stringify({ tenantId: 'acme', buildingIds: ['hot-4'], event: 'building.deleted' });
      const attempts: Array<Record<string, string>> = [
        {},
        { 'x-signature': sign(raw, 'another-secret-0123456') },
        { 'x-signature': sign(raw + ' ') },
        { 'x-signature': 'sha256=zz' },
        { 'x-signature': sign(raw).replace('sha256=', 'sha1=') },
      ];
      for (const headers of attempts) {
        const res = await hook(raw, headers);
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('SIGNATURE_INVALID');
      }
      upstream.resetCalls();
      expect((await get('hot-4')).headers.get('x-cache')).toBe('HIT');
      expect(upstream.callCount()).toBe(0);
    });

    it('a signed but malformed body is a 400, not an invalidation', async () => {
      const raw = JSON.stringify({ tenantId: 'acme', buildingIds: [], event: 'x' });
      const res = await hook(raw, { 'x-signature': sign(raw) });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });
  });

  it('upstream errors: 502 UPSTREAM_ERROR (no upstream body), 504 UPSTREAM_TIMEOUT, retried once', async () => {
    upstream.fail({ status: 500 });
    upstream.resetCalls();
    const e502 = await get('cold-502');
    expect(e502.status).toBe(502);
    expect(e502.body.code).toBe('UPSTREAM_ERROR');
    expect(e502.text).not.toContain('upstream-internal-detail');
    expect(upstream.callCount({ buildingId: 'cold-502' })).toBe(2); // 1 + BUILDING_DIRECTORY_RETRIES

    upstream.fail('bad-json');
    expect((await get('cold-parse')).status).toBe(502);

    upstream.fail('hang');
    const e504 = await get('cold-504');
    expect(e504.status).toBe(504);
    expect(e504.body.code).toBe('UPSTREAM_TIMEOUT');
  });

  it('/health shows the building directory upstream and redis; readiness does not depend on them', async () => {
    // details are for callers with a valid key (issue 10: statuses only without one)
    const health = await app.request('/health', { headers: { 'X-API-Key': ACME_KEY } });
    expect(health.body.details.building_directory).toMatchObject({ status: 'up', source: 'http' });
    expect(health.body.details.redis).toMatchObject({ status: 'up' });
    const ready = await app.request('/health/ready');
    expect(Object.keys(ready.body.details)).not.toContain('building_directory');
    expect(Object.keys(ready.body.details)).not.toContain('redis');
  });

  it('every building directory metric is in /metrics with the documented labels, and moves as predicted', async () => {
    const scrape = async () => (await app.request('/metrics')).text;
    const before = await scrape();
    const delta = async (name: string, labels: Record<string, string>, action: () => Promise<unknown>) => {
      const b = metricValue(await scrape(), name, labels);
      await action();
      return metricValue(await scrape(), name, labels) - b;
    };

    // each family with every documented label value, present from startup
    const families: Array<[string, Record<string, string[]>]> = [
      [
        'building_directory_requests_total',
        {
          operation: ['get_building', 'validate_building', 'get_request_data'],
          status: ['success', 'not_found', 'error'],
        },
      ],
      [
        'building_cache_operations_total',
        { operation: ['hit', 'miss', 'set', 'error', 'stale', 'invalidate'] },
      ],
      ['building_validations_total', { result: ['valid', 'invalid_not_found', 'invalid_inactive', 'error'] }],
      [
        'coordinate_extractions_total',
        { result: ['success', 'failure'], source: ['nested', 'flat', 'missing'] },
      ],
      [
        'building_directory_errors_total',
        { error_type: ['timeout', 'http_error', 'parse_error', 'unknown'] },
      ],
      ['building_denormalization_total', { status: ['success', 'failure'] }],
    ];
    for (const [name, labels] of families) {
      expect(before).toContain(`# TYPE ${name} counter`);
      const [k1, v1] = Object.entries(labels)[0];
      const rest = Object.entries(labels)[1];
      for (const a of v1)
        for (const b of rest ? rest[1] : [undefined]) {
          const sel = rest ? `${k1}="${a}",${rest[0]}="${b}"` : `${k1}="${a}"`;
          expect(before).toMatch(new RegExp(`^${name}\\{${sel}\\} \\d`, 'm'));
        }
    }
    expect(before).toContain('# TYPE building_directory_active_connections gauge');
    expect(before).toMatch(/^building_directory_active_connections \d/m);
    expect(before).toContain('# TYPE building_directory_request_duration_seconds histogram');
    for (const le of ['0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'])
      expect(before).toContain(
        `building_directory_request_duration_seconds_bucket{le="${le}",operation="get_building"}`,
      );

    // …and they move as predicted
    expect(await delta('building_cache_operations_total', { operation: 'miss' }, () => get('hot-3'))).toBe(1);
    expect(await delta('building_cache_operations_total', { operation: 'hit' }, () => get('hot-3'))).toBe(1);
    expect(await delta('building_cache_operations_total', { operation: 'set' }, () => get('ghost-77'))).toBe(
      1,
    );
    expect(
      await delta('building_cache_operations_total', { operation: 'invalidate' }, () =>
        app.request(
          '/api/v1/buildings/cache/invalidate',
          postJson(ACME_KEY, { buildingIds: ['hot-3', 'x'] }),
        ),
      ),
    ).toBe(2);
    expect(
      await delta('building_directory_requests_total', { operation: 'get_building', status: 'success' }, () =>
        get('hot-3'),
      ),
    ).toBe(1);
    expect(
      await delta(
        'building_directory_requests_total',
        { operation: 'get_building', status: 'not_found' },
        () => get('ghost-78'),
      ),
    ).toBe(1);
    expect(
      await delta('building_validations_total', { result: 'invalid_inactive' }, () =>
        get('b-off/validation'),
      ),
    ).toBe(1);
    expect(
      await delta('coordinate_extractions_total', { result: 'success', source: 'flat' }, () =>
        get('b-flat/request-data'),
      ),
    ).toBe(1);
    expect(
      await delta('coordinate_extractions_total', { result: 'failure', source: 'missing' }, () =>
        get('b-none/request-data'),
      ),
    ).toBe(1);
    expect(
      await delta('coordinate_extractions_total', { result: 'failure', source: 'nested' }, () =>
        get('b-bad/request-data'),
      ),
    ).toBe(1);
    expect(
      await delta('building_denormalization_total', { status: 'success' }, () => get('b-1/request-data')),
    ).toBe(1);
    expect(
      await delta(
        'building_directory_request_duration_seconds_count',
        { operation: 'get_request_data' },
        () => get('b-1/request-data'),
      ),
    ).toBe(1);

    upstream.fail({ status: 500 });
    expect(
      await delta('building_directory_errors_total', { error_type: 'http_error' }, () => get('cold-m1')),
    ).toBe(2);
    expect(
      await delta('building_directory_requests_total', { operation: 'get_building', status: 'error' }, () =>
        get('cold-m2'),
      ),
    ).toBe(1);
    upstream.fail('hang');
    expect(
      await delta('building_directory_errors_total', { error_type: 'timeout' }, () => get('cold-m3')),
    ).toBe(2);
    upstream.heal();
    expect(metricValue(await scrape(), 'building_directory_active_connections')).toBe(0);

    const cacheView = await app.request('/metrics/cache');
    expect(cacheView.body.l1.keyTypes.building).toMatchObject({
      hits: expect.any(Number),
      size: expect.any(Number),
    });
    expect(cacheView.body.l1.keyTypes.building.hits).toBeGreaterThan(0);
  });
});

describe('Building directory with BUILDING_CACHE_ENABLED=false (e2e)', () => {
  it('every lookup reaches the source; no X-Cache, nothing in L1 or L2; not-found still 404', async () => {
    const upstream = await UpstreamDirectory.start({ data: FIXTURE_DATA, token: UPSTREAM_TOKEN });
    const redis = await RedisProcess.start();
    const redisCli = redisClient(redis.url);
    const app = await startApp({
      AUTH_API_KEYS: API_KEYS,
      REDIS_URL: redis.url,
      BUILDING_DIRECTORY_URL: upstream.url,
      BUILDING_DIRECTORY_TOKEN: UPSTREAM_TOKEN,
      BUILDING_CACHE_ENABLED: 'false',
    });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await app.request('/api/v1/buildings/b-1', auth(ACME_KEY));
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ id: 'b-1', name: 'Acme One' });
        expect(res.headers.get('x-cache')).toBeNull();
      }
      expect(upstream.callCount({ tenantId: 'acme', buildingId: 'b-1' })).toBe(3);
      expect((await app.request('/api/v1/buildings/nope-1', auth(ACME_KEY))).body).toMatchObject({
        statusCode: 404,
        code: 'BUILDING_NOT_FOUND',
      });
      expect((await app.request('/metrics/cache')).body.l1.size).toBe(0);
      expect(await redisCli.keys('building_dir:*')).toEqual([]);
    } finally {
      await app.close();
      redisCli.disconnect();
      await redis.stop();
      await upstream.stop();
    }
  });
});
