import { UpstreamDirectory, UpstreamFailure } from '../fixtures/upstream-directory';
import { RunningApp, startApp } from '../support/app';
import { RedisProcess } from '../support/redis-server';
import { loadLoop, Outcome, tally } from './load';

const TENANT = 'acme';
const CACHED = Array.from({ length: 20 }, (_, i) => `cached-${i}`);
const building = (id: string): Record<string, unknown> & { id: string } => ({
  id,
  name: `Building ${id}`,
  active: true,
  address: { street: '1 Main St', city: 'Lyon', postalCode: '69001', country: 'FR' },
});

/**
 * The upstream directory fails under load — HTTP errors, reset connections, then no answer at all —
 * while clients keep asking for buildings that are cached and buildings that are not. Promised:
 * cached buildings keep being served (HIT while fresh, STALE once past their TTL), uncached ones get
 * 502 UPSTREAM_ERROR / 504 UPSTREAM_TIMEOUT in the contract's shape, never a 500; and once the
 * upstream heals, fresh data flows again.
 */
describe('resilience: upstream errors and timeouts under load', () => {
  let redis: RedisProcess;
  let upstream: UpstreamDirectory;
  let app: RunningApp;
  const headers = { 'x-tenant-id': TENANT };

  beforeAll(async () => {
    redis = await RedisProcess.start();
    upstream = await UpstreamDirectory.start({
      data: {
        [TENANT]: [...CACHED, ...Array.from({ length: 5000 }, (_, i) => `uncached-${i}`)].map(building),
      },
      latencyMs: 5,
    });
    app = await startApp(
      {
        REDIS_URL: redis.url,
        BUILDING_DIRECTORY_URL: upstream.url,
        BUILDING_DIRECTORY_TIMEOUT_MS: '250',
        BUILDING_DIRECTORY_RETRIES: '1',
        // entries go stale 1 s after they were loaded, so each phase sees both HIT and STALE
        BUILDING_CACHE_TTL_MS: '1000',
        BUILDING_STALE_TTL_MS: '600000',
        RATE_LIMIT_DEFAULT: '1000000',
      },
      { logLevel: 'warn' },
    );
  });

  afterAll(async () => {
    await app?.close();
    await upstream?.stop();
    await redis?.stop();
  });

  let uncached = 0;
  async function phase(failure: UpstreamFailure): Promise<Outcome[]> {
    upstream.heal();
    for (const id of CACHED) {
      const res = await app.request(`/api/v1/buildings/${id}`, {
        headers: { ...headers, 'cache-control': 'no-cache' },
      });
      expect(res.status).toBe(200);
    }
    upstream.fail(failure);
    return loadLoop({
      connections: 10,
      durationMs: 2500,
      keepBody: true,
      next: (w, i) => {
        // 2 of 3 requests ask for a cached building, the rest for one never loaded
        const id = (w + i) % 3 === 0 ? `uncached-${uncached++ % 5000}` : CACHED[(w * 3 + i) % CACHED.length];
        return { url: `${app.url}/api/v1/buildings/${id}`, kind: id.split('-')[0], key: id, headers };
      },
    });
  }

  /** 5xx bodies are the contract's error shape: no upstream body, no stack. */
  function expectContractErrors(outcomes: Outcome[]): void {
    for (const o of outcomes.filter((x) => x.status >= 500)) {
      expect(o.body).toMatchObject({ statusCode: o.status, code: o.code, requestId: expect.any(String) });
      expect(JSON.stringify(o.body)).not.toMatch(/upstream-internal-detail|at .*\.(ts|js):\d+/);
    }
  }

  function expectCachedServed(outcomes: Outcome[]): void {
    expectContractErrors(outcomes);
    const cached = outcomes.filter((o) => o.kind === 'cached');
    expect(tally(cached)).toEqual({ '200': cached.length });
    const stale = cached.filter((o) => o.xCache === 'STALE').length;
    const hit = cached.filter((o) => o.xCache === 'HIT').length;
    expect(hit + stale).toBe(cached.length);
    expect(hit).toBeGreaterThan(0); // fresh entries
    expect(stale).toBeGreaterThan(0); // past their TTL, the upstream failing: the stale copy
  }

  it('HTTP 503s from the upstream: cached keys HIT then STALE, uncached keys 502 UPSTREAM_ERROR', async () => {
    const outcomes = await phase({ status: 503 });
    expectCachedServed(outcomes);
    const others = outcomes.filter((o) => o.kind === 'uncached');
    expect(others.length).toBeGreaterThan(10);
    expect(tally(others)).toEqual({ '502:UPSTREAM_ERROR': others.length });
  });

  it('connections reset by the upstream: the same, 502 UPSTREAM_ERROR for uncached keys', async () => {
    const outcomes = await phase('reset');
    expectCachedServed(outcomes);
    const others = outcomes.filter((o) => o.kind === 'uncached');
    expect(others.length).toBeGreaterThan(10);
    expect(tally(others)).toEqual({ '502:UPSTREAM_ERROR': others.length });
  });

  it('an upstream that never answers: cached keys still served, uncached keys 504 UPSTREAM_TIMEOUT', async () => {
    const outcomes = await phase('hang');
    expectCachedServed(outcomes);
    const others = outcomes.filter((o) => o.kind === 'uncached');
    expect(others.length).toBeGreaterThan(5);
    expect(tally(others)).toEqual({ '504:UPSTREAM_TIMEOUT': others.length });
    // a timed-out lookup does not hang: 2 attempts of 250 ms plus ≤ 1 s of backoff are expected (1.5 s);
    // the bound is 5× that, a hang check rather than a performance target
    expect(Math.max(...others.map((o) => o.endedAt - o.startedAt))).toBeLessThan(5 * (2 * 250 + 1000));
  });

  it('after the upstream heals, fresh answers replace the stale copies and nothing was a 500', async () => {
    upstream.heal();
    const res = await app.request(`/api/v1/buildings/${CACHED[0]}`, { headers });
    expect(res.status).toBe(200);
    expect(['MISS', 'HIT']).toContain(res.headers.get('x-cache'));
    const again = await app.request(`/api/v1/buildings/${CACHED[0]}`, { headers });
    expect(again.headers.get('x-cache')).toBe('HIT');
    const fresh = await app.request('/api/v1/buildings/uncached-4999', { headers });
    expect(fresh.status).toBe(200);

    const metrics = (await app.request('/metrics')).text;
    expect(metrics).toMatch(/^http_requests_total\{[^}]*status_code="502"[^}]*\} [1-9]/m);
    expect(metrics).not.toMatch(/^http_requests_total\{[^}]*status_code="500"[^}]*\} [1-9]/m);
  });
});
