import { RunningApp, startApp } from '../support/app';
import { FixtureRoutesModule } from '../support/fixture-routes';

const KEY_DEMO = 'demo-key-0123456789abcdef';
const KEY_ACME = 'acme-key-0123456789abcdef';
const KEY_ALL = 'star-key-0123456789abcdef';

describe('HTTP edge: request ids, logs, errors, auth (real app, real socket)', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(
      { AUTH_API_KEYS: `${KEY_DEMO}=demo,${KEY_ACME}=acme,${KEY_ALL}=*` },
      { extraModules: [FixtureRoutesModule] },
    );
  });
  afterAll(() => app.close());

  describe('request id', () => {
    it('reuses a well-formed incoming X-Request-ID and logs it on the access line', async () => {
      const res = await app.request('/health/live', { headers: { 'X-Request-ID': 'abc.DEF:123-_x' } });
      expect(res.headers.get('x-request-id')).toBe('abc.DEF:123-_x');
      const line = app.logs.find((l) => l.requestId === 'abc.DEF:123-_x' && l.msg === 'request completed')[0];
      expect(line).toMatchObject({ method: 'GET', route: '/health/live', status: 200, service: 'atrium' });
      expect(typeof line.duration).toBe('number');
    });

    it.each([['has space'], ['x'.repeat(129)], ['<script>'], ['semi;colon']])(
      'replaces a malformed id %p with a UUID',
      async (bad) => {
        const res = await app.request('/health/live', { headers: { 'X-Request-ID': bad } });
        expect(res.headers.get('x-request-id')).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
      },
    );

    it('generates distinct ids for requests without one', async () => {
      const ids = await Promise.all(
        [1, 2, 3].map(async () => (await app.request('/health/live')).headers.get('x-request-id')),
      );
      expect(new Set(ids).size).toBe(3);
    });

    it('puts the request id and tenant on every log line written while handling the request', async () => {
      const rid = 'trace-tenant-1';
      const res = await app.request('/api/v1/fixture/boom', {
        headers: { 'X-Request-ID': rid, 'X-API-Key': KEY_ACME },
      });
      expect(res.status).toBe(500);
      const lines = app.logs.find((l) => l.requestId === rid);
      // the error log (written inside the handler's async context) and the access line
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(lines.every((l) => l.tenantId === 'acme')).toBe(true);
      expect(lines.some((l) => l.msg === 'Unhandled error')).toBe(true);
    });
  });

  describe('redaction', () => {
    it('never writes API keys, authorization or cookies, nor signed-URL query values', async () => {
      await app.request('/api/v1/fixture/whoami?signature=SIGVALUE123&token=TOKVALUE&page=2', {
        headers: { Authorization: `Bearer ${KEY_DEMO}`, Cookie: 'session=COOKIEVALUE' },
      });
      app.atrium.logger.info(
        { headers: { authorization: 'Bearer LEAK1', 'x-api-key': 'LEAK2', cookie: 'LEAK3' } },
        'explicit header log',
      );
      app.atrium.logger.info({ webhook: { secret: 'LEAK4' } }, 'explicit secret log');
      const all = app.logs.raw.join('\n');
      for (const secret of [
        KEY_DEMO,
        'SIGVALUE123',
        'TOKVALUE',
        'COOKIEVALUE',
        'LEAK1',
        'LEAK2',
        'LEAK3',
        'LEAK4',
      ])
        expect(all).not.toContain(secret);
      expect(all).toContain('page=2');
      expect(all).toContain('[REDACTED]');
    });
  });

  describe('auth and tenants', () => {
    it('401 UNAUTHENTICATED with WWW-Authenticate when the key is missing or unknown', async () => {
      for (const headers of [
        {},
        { 'X-API-Key': 'nope-nope-nope-nope' },
        { Authorization: 'Bearer wrong-key-0123456789' },
      ] as Record<string, string>[]) {
        const res = await app.request('/api/v1/fixture/whoami', { headers });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
        expect(res.body).toMatchObject({
          statusCode: 401,
          error: 'Unauthorized',
          code: 'UNAUTHENTICATED',
          requestId: res.headers.get('x-request-id'),
        });
      }
    });

    it('accepts the key as Bearer or X-API-Key and resolves its tenant', async () => {
      expect(
        (await app.request('/api/v1/fixture/whoami', { headers: { Authorization: `Bearer ${KEY_DEMO}` } }))
          .body,
      ).toEqual({ tenantId: 'demo' });
      expect(
        (await app.request('/api/v1/fixture/whoami', { headers: { 'X-API-Key': KEY_ACME } })).body,
      ).toEqual({ tenantId: 'acme' });
    });

    it('403 TENANT_FORBIDDEN when a tenant-bound key asks for another tenant', async () => {
      const res = await app.request('/api/v1/fixture/whoami', {
        headers: { 'X-API-Key': KEY_DEMO, 'X-Tenant-ID': 'acme' },
      });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('TENANT_FORBIDDEN');
    });

    it('a * key names its tenant with X-Tenant-ID; missing → 400 TENANT_REQUIRED, malformed → 400 TENANT_INVALID', async () => {
      expect(
        (
          await app.request('/api/v1/fixture/whoami', {
            headers: { 'X-API-Key': KEY_ALL, 'X-Tenant-ID': 'zeta_1' },
          })
        ).body,
      ).toEqual({ tenantId: 'zeta_1' });
      const missing = await app.request('/api/v1/fixture/whoami', { headers: { 'X-API-Key': KEY_ALL } });
      expect([missing.status, missing.body.code]).toEqual([400, 'TENANT_REQUIRED']);
      const invalid = await app.request('/api/v1/fixture/whoami', {
        headers: { 'X-API-Key': KEY_ALL, 'X-Tenant-ID': '-bad/tenant' },
      });
      expect([invalid.status, invalid.body.code]).toEqual([400, 'TENANT_INVALID']);
    });

    it('probes, scrapes and docs need no key', async () => {
      for (const path of [
        '/health/live',
        '/metrics',
        '/metrics/performance',
        '/metrics/health-score',
        '/metrics/live',
        '/docs-json',
      ])
        expect([path, (await app.request(path)).status]).toEqual([path, 200]);
      // readiness and health answer for themselves, not for the key: 200, or 503 with Terminus's body when
      // a check is down — e.g. the heap check, which measures this Jest process (app, suite, and coverage
      // data under --coverage), not a real deployment
      for (const path of ['/health/ready', '/health']) {
        const res = await app.request(path);
        expect([path, [200, 503].includes(res.status)]).toEqual([path, true]);
        expect(res.body.status).toEqual(res.status === 200 ? 'ok' : 'error');
      }
    });
  });

  describe('error bodies', () => {
    const auth = { 'X-API-Key': KEY_DEMO };

    it('malformed JSON → 400 MALFORMED_JSON', async () => {
      const res = await app.request('/api/v1/fixture/echo', {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: '{"name": ',
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        code: 'MALFORMED_JSON',
        message: expect.any(String),
        requestId: res.headers.get('x-request-id'),
      });
    });

    it('body too large → 413 PAYLOAD_TOO_LARGE', async () => {
      const res = await app.request('/api/v1/fixture/echo', {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'x'.repeat(1_200_000), count: 1 }),
      });
      expect([res.status, res.body.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
      // the limit it ran into is named (BODY_LIMIT_BYTES, default 1 MiB)
      expect(res.body.message).toBe('Request body is larger than the limit of 1048576 bytes');
      expect(res.body.details).toEqual({ limit: 1048576 });
    });

    it('unknown route → 404 ROUTE_NOT_FOUND', async () => {
      const res = await app.request('/api/v1/definitely/not/here');
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({
        statusCode: 404,
        error: 'Not Found',
        code: 'ROUTE_NOT_FOUND',
        requestId: expect.any(String),
      });
    });

    it('grants no cross-origin access: no CORS headers, a preflight is a method the path does not take', async () => {
      const origin = { Origin: 'https://elsewhere.example' };
      const res = await app.request('/health/live', { headers: origin });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      const preflight = await app.request('/api/v1/buildings/bld-1', {
        method: 'OPTIONS',
        headers: { ...origin, 'Access-Control-Request-Method': 'GET' },
      });
      expect([preflight.status, preflight.body.code]).toEqual([405, 'METHOD_NOT_ALLOWED']);
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('validation failure → 400 VALIDATION_FAILED naming every failing field (and unknown ones)', async () => {
      const res = await app.request('/api/v1/fixture/echo', {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'x', count: 99, extra: true }),
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(Object.keys(res.body.details.fields).sort()).toEqual(['count', 'extra', 'name']);
      // one message per field: the most basic rule broken, "required" for a missing one
      expect(res.body.details.fields).toEqual({
        name: ['name must be at least 3 characters long'],
        count: ['count must be at most 10'],
        extra: ['extra is not a field this route takes'],
      });
      const missing = await app.request('/api/v1/fixture/echo', {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ count: 'many' }),
      });
      expect(missing.body.details.fields).toEqual({
        name: ['name is required'],
        count: ['count must be a whole number'],
      });
      expect(missing.body.message).toBe('Invalid request: name is required; count must be a whole number');
    });

    it('a valid body passes and is transformed', async () => {
      const res = await app.request('/api/v1/fixture/echo', {
        method: 'POST',
        headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'abc', count: '3' }),
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ name: 'abc', count: 3 });
    });

    it('a domain error keeps its status, code and details', async () => {
      const res = await app.request('/api/v1/fixture/domain-error', { headers: auth });
      expect(res.body).toMatchObject({
        statusCode: 404,
        code: 'THING_NOT_FOUND',
        message: 'No such thing',
        details: { thingId: 'x1' },
      });
    });

    it('an unexpected exception → generic 500, no stack trace or internal detail in the body', async () => {
      const res = await app.request('/api/v1/fixture/boom', { headers: auth });
      expect(res.status).toBe(500);
      expect(res.body).toEqual({
        statusCode: 500,
        error: 'Internal Server Error',
        code: 'INTERNAL_ERROR',
        message: 'Internal server error',
        requestId: res.headers.get('x-request-id'),
      });
      expect(res.text).not.toMatch(/internal\.ts|\/srv|at .*\(/);
    });
  });
});
