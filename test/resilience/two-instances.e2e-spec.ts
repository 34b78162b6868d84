import { createHmac } from 'node:crypto';
import { UpstreamDirectory } from '../fixtures/upstream-directory';
import { ChildApp } from '../support/child-app';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { RedisProcess } from '../support/redis-server';
import { loadLoop, Outcome, sleep, tally, waitFor } from './load';

const TENANT = 'acme';
const KEYS = Array.from({ length: 20 }, (_, i) => `b-${i}`);
const WEBHOOK_SECRET = 'resilience-webhook-secret-0123456789';
const building = (id: string, version: number): Record<string, unknown> & { id: string } => ({
  id,
  name: `Building ${id}`,
  active: true,
  version,
});

/**
 * Two app processes sharing one Redis and one Postgres, behind a round-robin client — the smallest
 * real deployment of replicas. Promised: L2 is shared (one upstream call per key for both), and an
 * invalidation on either instance is visible on both, while load keeps flowing.
 */
describe('resilience: two instances sharing Redis and Postgres', () => {
  let db: TestDatabase;
  let redis: RedisProcess;
  let upstream: UpstreamDirectory;
  let apps: ChildApp[] = [];
  const headers = { 'x-tenant-id': TENANT };

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await RedisProcess.start();
    upstream = await UpstreamDirectory.start({
      data: { [TENANT]: [...KEYS, 'shared-1'].map((id) => building(id, 1)) },
      latencyMs: 20,
    });
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      BUILDING_DIRECTORY_URL: upstream.url,
      BUILDING_DIRECTORY_WEBHOOK_SECRET: WEBHOOK_SECRET,
      RATE_LIMIT_DEFAULT: '1000000',
      ACCESS_LOG_ENABLED: 'false',
    };
    // both start at once: migrations race on the same database, as replicas of a rollout do
    apps = await Promise.all([ChildApp.spawn(env), ChildApp.spawn(env)]);
    await Promise.all(apps.map((a) => a.waitReady(50_000)));
    // readiness does not wait for Redis (it is a cache); these tests are about L2, so wait for it
    const redisUp = async (a: ChildApp): Promise<boolean> => {
      const res = await fetch(`${a.url}/health`);
      return (
        ((await res.json()) as { details?: { redis?: { status?: string } } }).details?.redis?.status === 'up'
      );
    };
    for (const a of apps) expect(await waitFor(() => redisUp(a), 10_000)).toBe(true);
  }, 60_000);

  afterAll(async () => {
    for (const a of apps) {
      await a.kill('SIGKILL');
      a.cleanup();
    }
    await upstream?.stop();
    await redis?.stop();
    await db?.drop();
  });

  const get = async (
    app: ChildApp,
    id: string,
  ): Promise<{ status: number; version: unknown; xCache: string | null }> => {
    const res = await fetch(`${app.url}/api/v1/buildings/${id}`, { headers });
    const body = (await res.json()) as { version?: unknown };
    return { status: res.status, version: body.version, xCache: res.headers.get('x-cache') };
  };

  it('shares L2: a building loaded by one instance is a HIT on the other, one upstream call in all', async () => {
    const [a, b] = apps;
    expect(await get(a, 'shared-1')).toEqual({ status: 200, version: 1, xCache: 'MISS' });
    // the MISS answers before its L2 write lands; give it a moment
    expect(await waitFor(async () => (await get(b, 'shared-1')).xCache === 'HIT', 2000)).toBe(true);
    expect(upstream.callCount({ buildingId: 'shared-1' })).toBe(1);
  });

  it('an invalidation on instance A is visible on A and B under round-robin load', async () => {
    const [a, b] = apps;
    for (const id of KEYS) for (const app of apps) expect((await get(app, id)).version).toBe(1);

    let rr = 0;
    let changedAt = Infinity;
    let invalidatedAt = Infinity;
    const t0 = performance.now();
    const change = (async () => {
      await sleep(1500);
      changedAt = performance.now() - t0;
      for (const id of KEYS) upstream.setBuilding(TENANT, building(id, 2));
      const res = await fetch(`${a.url}/api/v1/buildings/cache/invalidate`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ buildingIds: KEYS }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ invalidated: KEYS.length });
      invalidatedAt = performance.now() - t0;
    })();
    const version = (o: Outcome): unknown => (o.body as { version?: unknown }).version;
    // B's answers by key: the first v2 answer's end, and how many B requests started after it
    const seenOnB = (outcomes: readonly Outcome[]) => {
      const onB = outcomes.filter((o) => o.target === 'B').sort((x, y) => x.endedAt - y.endedAt);
      const firstV2 = new Map<string, number>();
      for (const o of onB) if (version(o) === 2 && !firstV2.has(o.key)) firstV2.set(o.key, o.endedAt);
      const after = onB.filter((o) => o.startedAt > (firstV2.get(o.key) ?? Infinity));
      return { firstV2, after };
    };
    let checkedAt = 0;
    const outcomes = await loadLoop({
      connections: 10,
      // at least 4 s of load; on a busy machine, on until B has answered v2 for every key and both instances
      // 20 requests more (round-robin over 10 workers does not ask B for every key in a fixed time); 40 s is the hang bound
      durationMs: 40_000,
      stop: (sofar) => {
        // checked at most every 250 ms: each check reads every outcome so far, and every request start asks
        const now = performance.now();
        if (now - t0 < 4000 || invalidatedAt === Infinity || now - checkedAt < 250) return false;
        checkedAt = now;
        const { firstV2, after } = seenOnB(sofar);
        const afterOnA = sofar.filter((o) => o.target === 'A' && o.startedAt > invalidatedAt);
        return firstV2.size === KEYS.length && after.length > 20 && afterOnA.length > 20;
      },
      keepBody: true,
      next: (w, i) => {
        const target = rr++ % 2 === 0 ? 'A' : 'B';
        const id = KEYS[(w * 3 + i) % KEYS.length];
        return {
          url: `${(target === 'A' ? a : b).url}/api/v1/buildings/${id}`,
          kind: 'get',
          key: id,
          headers,
          target,
        };
      },
    });
    await change;

    expect(tally(outcomes)).toEqual({ '200': outcomes.length });
    // before the change both served the cached v1 (so a stale read below would be caught)
    const before = outcomes.filter((o) => o.endedAt < changedAt);
    expect(before.length).toBeGreaterThan(50);
    expect(new Set(before.map(version))).toEqual(new Set([1]));
    // on A, at once: every request that started after the invalidation answered
    const afterOnA = outcomes.filter((o) => o.target === 'A' && o.startedAt > invalidatedAt);
    expect(afterOnA.length).toBeGreaterThan(20);
    expect(new Set(afterOnA.map(version))).toEqual(new Set([2]));
    // on B, once the pub/sub message has arrived (order, not a delay): every key reaches v2 during the
    // run, and from B's first v2 answer for a key on, B never serves that key's v1 again
    const { firstV2: firstV2OnB, after: afterOnB } = seenOnB(outcomes);
    expect([...firstV2OnB.keys()].sort()).toEqual([...KEYS].sort());
    expect(afterOnB.length).toBeGreaterThan(20);
    expect(new Set(afterOnB.map(version))).toEqual(new Set([2]));
  });

  it("the User Service's signed change feed, received by B, invalidates A too", async () => {
    const [a, b] = apps;
    for (const app of apps) expect((await get(app, KEYS[0])).version).toBe(2);
    upstream.setBuilding(TENANT, building(KEYS[0], 3));
    const body = JSON.stringify({ tenantId: TENANT, buildingIds: [KEYS[0]], event: 'building.updated' });
    const res = await fetch(`${b.url}/api/v1/webhooks/building-directory`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-signature': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`,
      },
      body,
    });
    expect(res.status).toBe(200);
    expect((await get(b, KEYS[0])).version).toBe(3);
    expect(await waitFor(async () => (await get(a, KEYS[0])).version === 3, 1000)).toBe(true);
  });
});
