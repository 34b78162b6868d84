import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { UpstreamDirectory } from '../fixtures/upstream-directory';
import { ChildApp } from '../support/child-app';
import { RedisProcess } from '../support/redis-server';
import { TcpProxy } from '../support/tcp-proxy';
import { until } from '../support/wait';

const TENANT = 'acme';
const BUILDING = 'b-1';
const LIMIT = 100;
const LOCAL_SHARE = 0.05;
const REPLICAS = 2;
/** README "Rate limits": a replica's batch is floor(limit × RATE_LIMIT_LOCAL_SHARE)… */
const BATCH = Math.floor(LIMIT * LOCAL_SHARE);
/** …and in one window the replicas together admit at most limit − 1 + replicas × batch requests. */
const BOUND = LIMIT - 1 + REPLICAS * BATCH;

/**
 * The shared rate limit at the HTTP level: two Atrium processes (as replicas run) behind a round-robin
 * client, sharing one Redis through a TCP relay with a limit of 100 per window. Every request is a cached
 * building lookup with an API key (the route's answer is an L1 hit, so only the limiter talks to Redis).
 * Redis then becomes unreachable — a network partition: connections stay open, nothing answers — and each
 * replica must still enforce the limit on its own.
 */
describe('rate limits across two replicas (HTTP, shared Redis, then Redis unreachable)', () => {
  const [sharedKey, partitionedKey, warmKey] = [0, 1, 2].map(
    (i) => `rl-rep-${i}-${randomBytes(8).toString('hex')}`,
  );
  let redis: RedisProcess;
  let proxy: TcpProxy;
  let upstream: UpstreamDirectory;
  let direct: Redis;
  let apps: ChildApp[] = [];

  beforeAll(async () => {
    redis = await RedisProcess.start();
    proxy = await TcpProxy.start({ port: redis.port });
    direct = new Redis(redis.url, { maxRetriesPerRequest: 0 });
    direct.on('error', () => undefined);
    upstream = await UpstreamDirectory.start({
      data: { [TENANT]: [{ id: BUILDING, name: 'Building 1', active: true }] },
    });
    const env = {
      AUTH_API_KEYS: `${sharedKey}=${TENANT},${partitionedKey}=${TENANT},${warmKey}=${TENANT}`,
      REDIS_URL: proxy.redisUrl,
      BUILDING_DIRECTORY_URL: upstream.url,
      RATE_LIMIT_DEFAULT: String(LIMIT),
      RATE_LIMIT_WINDOW_MS: '600000',
      RATE_LIMIT_LOCAL_SHARE: String(LOCAL_SHARE),
      // the bound holds while Redis answers within the op timeout; on a busy 2-core machine a replica's
      // event loop can stall for longer than the default 100 ms, which would count as Redis failing
      CACHE_OP_TIMEOUT_MS: '2000',
      ACCESS_LOG_ENABLED: 'false',
    };
    apps = await Promise.all([ChildApp.spawn(env), ChildApp.spawn(env)]);
    await Promise.all(apps.map((a) => a.waitReady()));
    // Redis is reachable from both replicas (the limiter's client connects at boot, as L2's does)
    for (const a of apps)
      await until(
        async () => (await a.request('/metrics/cache')).body?.l2?.state === 'ready',
        30_000,
        'L2 ready',
      );
    // the building into each replica's L1 (answers are L1 hits from here), with a key of its own so the
    // counters under test start empty
    for (const a of apps) {
      const res = await a.request(`/api/v1/buildings/${BUILDING}`, { headers: { 'x-api-key': warmKey } });
      expect(res.status).toBe(200);
    }
  }, 240_000); // two app boots through @swc-node on a busy 2-core machine

  afterAll(async () => {
    for (const a of apps) {
      await a.kill('SIGKILL');
      a.cleanup();
    }
    direct?.disconnect();
    await proxy?.close();
    await upstream?.stop();
    await redis?.stop();
  });

  /** `total` requests alternating between the replicas, 10 at a time: the statuses each replica answered. */
  const spread = async (key: string, total: number): Promise<number[][]> => {
    const statuses: number[][] = apps.map(() => []);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const replica = next++ % REPLICAS;
        const res = await apps[replica].request(`/api/v1/buildings/${BUILDING}`, {
          headers: { 'x-api-key': key },
        });
        if (res.status === 429) {
          expect(res.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        } else {
          expect(res.body).toMatchObject({ id: BUILDING });
          expect(res.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
        }
        statuses[replica].push(res.status);
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
    return statuses;
  };
  const count = (statuses: number[], status: number): number => statuses.filter((s) => s === status).length;
  /** The window's total in Redis (one field per replica, `_w` names the window), read past the relay. */
  const inRedis = async (key: string): Promise<number> =>
    Object.entries(await direct.hgetall(`atrium:ratelimit:default:${fingerprint(key)}`)).reduce(
      (sum, [f, v]) => (f === '_w' ? sum : sum + Number(v)),
      0,
    );

  it(`300 requests over both replicas: at least the limit (${LIMIT}) and at most the documented bound (${BOUND}) succeed`, async () => {
    const perReplica = await spread(sharedKey, 300);
    const all = perReplica.flat();
    expect(all).toHaveLength(300);
    expect(all.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    const ok = count(all, 200);
    expect(ok).toBeGreaterThanOrEqual(LIMIT);
    expect(ok).toBeLessThanOrEqual(BOUND);
    // both replicas served a share (the limit is shared, not one replica's alone)
    for (const statuses of perReplica) expect(count(statuses, 200)).toBeGreaterThan(0);
    // and every admitted request is counted once in the shared window
    await until(async () => (await inRedis(sharedKey)) === ok, 30_000, 'admitted requests in Redis');
  });

  it('with Redis unreachable (partitioned), each replica still enforces the limit on its own', async () => {
    proxy.partition();
    const perReplica = await spread(partitionedKey, REPLICAS * (LIMIT + 20));
    for (const statuses of perReplica) {
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
      // no replica learns the other's count while Redis is away: each admits exactly the limit
      expect(count(statuses, 200)).toBe(LIMIT);
      expect(count(statuses, 429)).toBe(20);
    }
    expect(await inRedis(partitionedKey)).toBe(0);

    // once Redis is reachable again, what each replica admitted meanwhile reaches the shared window
    proxy.heal();
    await until(
      async () => (await inRedis(partitionedKey)) === REPLICAS * LIMIT,
      30_000,
      'hits admitted during the partition in Redis',
    );
  });
});

/** The rate-limit tracker of an API key: `key:` + the first 6 bytes of its SHA-256, as the auth guard names it. */
function fingerprint(key: string): string {
  return `key:${createHash('sha256').update(key).digest().subarray(0, 6).toString('hex')}`;
}
