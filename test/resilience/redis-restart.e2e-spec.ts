import { Redis } from 'ioredis';
import { UpstreamDirectory } from '../fixtures/upstream-directory';
import { RunningApp, startApp } from '../support/app';
import { RedisProcess } from '../support/redis-server';
import { loadLoop, Outcome, sleep, tally, waitFor } from './load';

const TENANT = 'acme';
const CACHED = Array.from({ length: 40 }, (_, i) => `cached-${i}`);
const building = (id: string): Record<string, unknown> & { id: string } => ({
  id,
  name: `Building ${id}`,
  active: true,
  coordinates: { latitude: 52.5, longitude: 13.4 },
});

/**
 * Redis (cache L2 and rate-limit counters) is SIGKILLed in the middle of a load and started again.
 * Users were promised that Redis is only a cache: no failed request for a cached key, no 5xx caused
 * by the cache, and L2 comes back by itself. L1 is kept small (10 entries for 40 keys) so most
 * requests really go through L2 and the outage is felt.
 */
describe('resilience: Redis killed and restarted under load', () => {
  let redis: RedisProcess;
  let upstream: UpstreamDirectory;
  let app: RunningApp;

  beforeAll(async () => {
    redis = await RedisProcess.start();
    upstream = await UpstreamDirectory.start({
      data: { [TENANT]: [...CACHED, ...Array.from({ length: 2000 }, (_, i) => `fresh-${i}`)].map(building) },
      latencyMs: 5,
    });
    app = await startApp(
      {
        REDIS_URL: redis.url,
        BUILDING_DIRECTORY_URL: upstream.url,
        CACHE_OP_TIMEOUT_MS: '50',
        CACHE_L1_MAX_ENTRIES: '10',
        RATE_LIMIT_DEFAULT: '1000000',
      },
      { logLevel: 'warn' },
    );
    // L2 connects in the background; wait for it so the first phase really reads Redis
    expect(
      await waitFor(async () => (await app.request('/health')).body?.details?.redis?.status === 'up', 5000),
    ).toBe(true);
    for (const id of CACHED) {
      const res = await app.request(`/api/v1/buildings/${id}`, { headers: { 'x-tenant-id': TENANT } });
      expect(res.status).toBe(200);
    }
  });

  afterAll(async () => {
    await app?.close();
    await upstream?.stop();
    await redis?.stop();
  });

  it('serves every request while Redis is down and uses it again once it is back', async () => {
    const headers = { 'x-tenant-id': TENANT };
    let fresh = 0;
    const killAt = 1500;
    const restartAt = 3500;
    const chaos = (async () => {
      await sleep(killAt);
      await redis.stop();
      await sleep(restartAt - killAt);
      await redis.start();
    })();
    const outcomes = await loadLoop({
      connections: 12,
      durationMs: 6000,
      next: (w, i) => {
        // 3 of 4 requests ask for a cached key; the rest for a key never asked before (upstream)
        const id = (w + i) % 4 === 0 ? `fresh-${fresh++ % 2000}` : CACHED[(w * 7 + i * 13) % CACHED.length];
        return {
          url: `${app.url}/api/v1/buildings/${id}`,
          kind: id.startsWith('cached') ? 'cached' : 'fresh',
          key: id,
          headers,
        };
      },
    });
    await chaos;

    const byKind = (kind: string): Outcome[] => outcomes.filter((o) => o.kind === kind);
    expect(tally(byKind('cached'))).toEqual({ '200': byKind('cached').length });
    expect(tally(byKind('fresh'))).toEqual({ '200': byKind('fresh').length });
    // the outage was served, not skipped over
    const duringOutage = outcomes.filter((o) => o.startedAt > killAt + 100 && o.endedAt < restartAt);
    expect(duringOutage.length).toBeGreaterThan(50);
    expect(outcomes.length).toBeGreaterThan(500);

    // the app noticed: L2 errors were counted rather than turned into failed requests
    const metrics = (await app.request('/metrics')).text;
    const l2Failures = [
      ...metrics.matchAll(
        /^cache_operations_total\{[^}]*cache_level="l2"[^}]*result="(?:error|timeout)"[^}]*\} (\d+)/gm,
      ),
    ]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
    expect(l2Failures).toBeGreaterThan(0);

    // and L2 came back by itself: health says up, and new entries land in the restarted (empty) Redis
    expect(
      await waitFor(async () => (await app.request('/health')).body?.details?.redis?.status === 'up', 10_000),
    ).toBe(true);
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const stored = await waitFor(
        async () => {
          const res = await app.request(`/api/v1/buildings/fresh-1999`, {
            headers: { ...headers, 'cache-control': 'no-cache' },
          });
          expect(res.status).toBe(200);
          return (await client.exists(`building_dir:${TENANT}:fresh-1999`)) === 1;
        },
        5000,
        200,
      );
      expect(stored).toBe(true);
    } finally {
      client.disconnect();
    }
  });
});
