import { RunningApp, startApp } from '../support/app';
import { freePort, RedisProcess } from '../support/redis-server';
import { UpstreamDirectory } from '../fixtures/upstream-directory';
import {
  ACME_KEY,
  API_KEYS,
  auth,
  closeBounded,
  FIXTURE_DATA,
  postJson,
  redisClient,
  until,
  WEBHOOK_SECRET,
} from './helpers';

const OP_TIMEOUT_MS = 50;
const UPSTREAM_LATENCY_MS = 100;
/**
 * A "does not hang" bound, not a performance target: a request that meets a dead Redis costs at most the op
 * timeout + the upstream's latency (150 ms); one that waited for Redis would wait until it came back.
 */
const HANG_BOUND_MS = 10 * (OP_TIMEOUT_MS + UPSTREAM_LATENCY_MS);
/** How long Redis sleeps in the slow-Redis test: every request there must be answered before it wakes. */
const REDIS_SLEEP_S = 3;

const env = (upstream: UpstreamDirectory, redisUrl?: string, extra: Record<string, string> = {}) => ({
  AUTH_API_KEYS: API_KEYS,
  REDIS_URL: redisUrl,
  CACHE_OP_TIMEOUT_MS: String(OP_TIMEOUT_MS),
  BUILDING_DIRECTORY_URL: upstream.url,
  BUILDING_DIRECTORY_TIMEOUT_MS: '300',
  BUILDING_DIRECTORY_RETRIES: '0',
  BUILDING_DIRECTORY_WEBHOOK_SECRET: WEBHOOK_SECRET,
  RATE_LIMIT_DEFAULT: '100000',
  ...extra,
});

async function timedGet(app: RunningApp, id: string) {
  const started = Date.now();
  const res = await app.request(`/api/v1/buildings/${id}`, auth(ACME_KEY));
  return { res, ms: Date.now() - started };
}

// each test boots real app instances (PGlite, Redis, sockets): generous, not a performance bound
jest.setTimeout(120_000);

describe('Building directory resilience (e2e)', () => {
  let upstream: UpstreamDirectory;

  beforeAll(async () => {
    upstream = await UpstreamDirectory.start({ data: FIXTURE_DATA, latencyMs: UPSTREAM_LATENCY_MS });
  });
  afterAll(async () => {
    await upstream?.stop();
  });
  beforeEach(() => upstream.heal());

  it('upstream outage: expired cached keys are served STALE, others get 502 / 504', async () => {
    const app = await startApp(env(upstream, undefined, { BUILDING_CACHE_TTL_MS: '1000' }));
    try {
      expect((await timedGet(app, 'b-1')).res.headers.get('x-cache')).toBe('MISS');
      await new Promise((r) => setTimeout(r, 1100)); // past the TTL, inside the stale window
      upstream.fail({ status: 503 });
      const stale = (await timedGet(app, 'b-1')).res;
      expect(stale.status).toBe(200);
      expect(stale.headers.get('x-cache')).toBe('STALE');
      expect(stale.body.name).toBe('Acme One');
      const req = await app.request('/api/v1/buildings/b-1/request-data', auth(ACME_KEY));
      expect(req.headers.get('x-cache')).toBe('STALE');
      expect(req.body.coordinatesSource).toBe('nested');

      expect((await timedGet(app, 'hot-0')).res.status).toBe(502);
      upstream.fail('hang');
      const timeout = (await timedGet(app, 'hot-1')).res;
      expect(timeout.status).toBe(504);
      expect(timeout.body.code).toBe('UPSTREAM_TIMEOUT');
      expect((await timedGet(app, 'b-1')).res.headers.get('x-cache')).toBe('STALE');

      const metrics = (await app.request('/metrics')).text;
      expect(metrics).toMatch(/^building_cache_operations_total\{operation="stale"\} [1-9]/m);

      upstream.heal();
      expect((await timedGet(app, 'b-1')).res.headers.get('x-cache')).toBe('MISS');
    } finally {
      await closeBounded(app);
    }
  });

  describe('Redis faults (private redis-server)', () => {
    it('Redis stopped mid-run: every request succeeds within the bound; L2 is used again once Redis is back', async () => {
      const redis = await RedisProcess.start();
      const cli = redisClient(redis.url);
      const app = await startApp(env(upstream, redis.url));
      try {
        await until(async () => (await app.request('/metrics/cache')).body.l2.state === 'ready');
        await timedGet(app, 'hot-0');
        await until(async () => (await cli.get('building_dir:acme:hot-0')) !== null);

        cli.disconnect();
        await redis.stop();
        for (const id of ['hot-1', 'hot-2', 'hot-0', 'b-1']) {
          const { res, ms } = await timedGet(app, id);
          expect(res.status).toBe(200);
          expect(ms).toBeLessThan(HANG_BOUND_MS);
        }
        expect((await app.request('/health/ready')).status).toBe(200);
        expect((await app.request('/health')).body.details.redis.status).toBe('down');
        const ops = (await app.request('/metrics')).text;
        expect(ops).toMatch(
          /^cache_operations_total\{cache_level="l2",operation="get",result="error"\} [1-9]/m,
        );

        await redis.start();
        await until(
          async () => (await app.request('/metrics/cache')).body.l2.state === 'ready',
          10000,
          'reconnect',
        );
        await timedGet(app, 'hot-3');
        const back = redisClient(redis.url);
        try {
          await until(
            async () => (await back.get('building_dir:acme:hot-3')) !== null,
            3000,
            'L2 write after restart',
          );
        } finally {
          back.disconnect();
        }
      } finally {
        await closeBounded(app);
        await redis.stop();
      }
    });

    it('Redis unreachable at startup: the app starts, serves from L1 + upstream, and uses L2 when Redis appears', async () => {
      const port = await freePort();
      const app = await startApp(env(upstream, `redis://127.0.0.1:${port}`));
      const late = new RedisProcess(port);
      try {
        for (const id of ['hot-0', 'hot-0', 'b-1']) {
          const { res, ms } = await timedGet(app, id);
          expect(res.status).toBe(200);
          expect(ms).toBeLessThan(HANG_BOUND_MS);
        }
        expect((await app.request('/health/ready')).status).toBe(200);

        await late.start();
        await until(
          async () => (await app.request('/metrics/cache')).body.l2.state === 'ready',
          10000,
          'connect',
        );
        await timedGet(app, 'hot-4');
        const cli = redisClient(late.url);
        try {
          await until(async () => (await cli.get('building_dir:acme:hot-4')) !== null, 3000, 'L2 write');
        } finally {
          cli.disconnect();
        }
      } finally {
        await closeBounded(app);
        await late.stop();
      }
    });

    it('Redis answering slowly (DEBUG SLEEP): requests give up on Redis after the op timeout and succeed', async () => {
      const redis = await RedisProcess.start();
      const app = await startApp(env(upstream, redis.url));
      try {
        await until(async () => (await app.request('/metrics/cache')).body.l2.state === 'ready');
        const { awake } = await redis.sleep(REDIS_SLEEP_S);
        let wokeUp = false;
        void awake.then(() => (wokeUp = true));
        for (const id of ['hot-1', 'hot-2', 'b-1']) {
          const { res } = await timedGet(app, id);
          expect(res.status).toBe(200);
          expect(wokeUp).toBe(false); // answered while Redis still slept: nothing waited for it
        }
        expect((await app.request('/health/ready')).status).toBe(200);
        const ops = (await app.request('/metrics')).text;
        const timeouts = ops.match(
          /^cache_operations_total\{cache_level="l2",operation="get",result="timeout"\} (\d+)/m,
        );
        expect(Number(timeouts?.[1])).toBeGreaterThanOrEqual(3); // one L2 read given up per request
        await awake; // let Redis wake before closing
      } finally {
        await closeBounded(app);
        await redis.stop();
      }
    });
  });

  it('two app instances sharing one Redis: an invalidation on one removes the key from the other’s L1', async () => {
    const redis = await RedisProcess.start();
    const a = await startApp(env(upstream, redis.url));
    const b = await startApp(env(upstream, redis.url));
    try {
      for (const app of [a, b])
        await until(async () => {
          const l2 = (await app.request('/metrics/cache')).body.l2;
          return l2.state === 'ready' && l2.subscribed === true;
        });
      await timedGet(a, 'hot-2');
      expect((await timedGet(b, 'hot-2')).res.headers.get('x-cache')).toBe('HIT');
      expect((await timedGet(b, 'hot-2')).res.headers.get('x-cache')).toBe('HIT'); // now in b's L1

      const inv = await a.request(
        '/api/v1/buildings/cache/invalidate',
        postJson(ACME_KEY, { buildingIds: ['hot-2'] }),
      );
      expect(inv.body).toEqual({ invalidated: 1 });
      await until(
        async () => (await b.request('/metrics/cache')).body.l2.remoteInvalidations >= 1,
        15_000, // a "does not hang" bound: delivery takes milliseconds, but CI's two cores run three apps here
        'pub/sub',
      );

      upstream.resetCalls();
      const after = await timedGet(b, 'hot-2');
      expect(after.res.headers.get('x-cache')).toBe('MISS');
      expect(upstream.callCount({ buildingId: 'hot-2' })).toBe(1);
    } finally {
      await closeBounded(a);
      await closeBounded(b);
      await redis.stop();
    }
  });
});
