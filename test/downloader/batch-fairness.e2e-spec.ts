// Issue 25, item 3: batch slots are shared fairly between tenants, with the in-process runner and on
// BullMQ. One tenant's slow batches must neither take every slot (its share, POOL_TENANT_SHARE) nor keep a
// queue ahead of another tenant's job (tenants take turns). The proofs are orders of events — what had
// finished when the quiet tenant's job finished — never durations; the heavy jobs are cancelled at the end.
import { Redis } from 'ioredis';
import { RunningApp, startApp } from '../support/app';
import { RedisProcess } from '../support/redis-server';
import { OriginServer } from '../fixtures/origin-server';
import { waitFor } from './support';

/** How long each of the heavy tenant's URLs takes at the origin: far longer than the quiet job needs. */
const SLOW_MS = 8000;

describe.each(['in-process', 'bullmq'] as const)(
  'Downloader: fair batch slots with the %s runner (e2e)',
  (mode) => {
    let origin: OriginServer;
    let redis: RedisProcess | undefined;
    let apps: RunningApp[] = [];

    beforeAll(async () => {
      origin = await OriginServer.start();
      redis = mode === 'bullmq' ? await RedisProcess.start() : undefined;
    });
    afterEach(async () => {
      await Promise.all(apps.map((a) => a.close()));
      apps = [];
      // the next test starts on an empty queue
      if (redis) {
        const client = new Redis(redis.url);
        await client.flushall();
        client.disconnect();
      }
    });
    afterAll(async () => {
      await redis?.stop();
      await origin?.close();
    });

    const start = async (env: Record<string, string>): Promise<RunningApp> => {
      const app = await startApp({
        DOWNLOAD_ALLOW_PRIVATE: 'true',
        REDIS_URL: redis?.url,
        RATE_LIMIT_BATCH: '10000',
        RATE_LIMIT_DEFAULT: '100000',
        // one loopback host serves every tenant: per-host politeness is lifted to test the shared pools
        DOWNLOAD_HOST_CONCURRENCY: '100',
        ...env,
      });
      apps.push(app);
      return app;
    };
    const submit = async (app: RunningApp, tenant: string, id: string, ms: number): Promise<string> => {
      const res = await app.request('/api/v1/batch', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenant-id': tenant },
        body: JSON.stringify({ urls: [{ url: `${origin.url}/latency?ms=${ms}&id=${id}` }], concurrency: 1 }),
      });
      expect(res.status).toBe(202);
      return res.body.jobId as string;
    };
    const job = async (
      app: RunningApp,
      tenant: string,
      jobId: string,
    ): Promise<{ status: string; startedAt: string | null; finishedAt: string | null }> =>
      (await app.request(`/api/v1/jobs/${jobId}`, { headers: { 'x-tenant-id': tenant } })).body;
    const status = async (app: RunningApp, tenant: string, jobId: string): Promise<string> =>
      (await job(app, tenant, jobId)).status;
    const finished = (app: RunningApp, tenant: string, jobId: string) =>
      waitFor(
        `job ${jobId} to finish`,
        async () =>
          ['completed', 'failed', 'cancelled'].includes(await status(app, tenant, jobId)) ? true : undefined,
        SLOW_MS * 5,
      );
    const cancelAll = (app: RunningApp, tenant: string, jobIds: string[]) =>
      Promise.all(
        jobIds.map((j) =>
          app.request(`/api/v1/jobs/${j}`, { method: 'DELETE', headers: { 'x-tenant-id': tenant } }),
        ),
      );
    const heavyStates = (app: RunningApp, jobIds: string[]) =>
      Promise.all(jobIds.map((j) => status(app, 'heavy', j)));

    it('a tenant runs at most its share of the slots: another tenant’s job starts at once in the rest', async () => {
      const app = await start({ BATCH_WORKER_CONCURRENCY: '2', POOL_TENANT_SHARE: '0.5' });
      const heavy: string[] = [];
      for (let i = 0; i < 3; i++) heavy.push(await submit(app, 'heavy', `cap-h${i}`, SLOW_MS));
      await waitFor('a heavy job to run', async () =>
        (await heavyStates(app, heavy)).includes('running') ? true : undefined,
      );
      const quiet = await submit(app, 'quiet', 'cap-q', 1);
      await finished(app, 'quiet', quiet);
      const states = await heavyStates(app, heavy);
      await cancelAll(app, 'heavy', heavy);
      // while the quiet job ran, the heavy tenant held one slot (its share) and nothing of it had finished
      expect(states.filter((s) => s === 'running')).toHaveLength(1);
      expect(states.filter((s) => s === 'completed')).toHaveLength(0);
    });

    it('tenants take turns: another tenant’s one job runs before the first tenant’s queued ones', async () => {
      // no cap: one slot, so the order alone is under test
      const app = await start({ BATCH_WORKER_CONCURRENCY: '1', POOL_TENANT_SHARE: '1' });
      const heavy: string[] = [];
      for (let i = 0; i < 3; i++)
        heavy.push(await submit(app, 'heavy', `turn-h${i}`, i === 0 ? SLOW_MS / 4 : SLOW_MS));
      await waitFor('the first heavy job to run', async () =>
        (await status(app, 'heavy', heavy[0])) === 'running' ? true : undefined,
      );
      const quiet = await submit(app, 'quiet', 'turn-q', 1);
      await finished(app, 'quiet', quiet);
      const quietJob = await job(app, 'quiet', quiet);
      const later = await Promise.all(heavy.slice(1).map((j) => job(app, 'heavy', j)));
      await cancelAll(app, 'heavy', heavy);
      // the quiet job took the slot right after the heavy job that held it: the heavy tenant's other two
      // started after it had finished, if at all
      for (const h of later)
        if (h.startedAt)
          expect(Date.parse(h.startedAt)).toBeGreaterThanOrEqual(Date.parse(quietJob.finishedAt!));
      expect(later[1].status).toBe('queued');
    });

    if (mode === 'bullmq')
      it('two replicas on one Redis: each keeps room for other tenants, and the jobs queued first wait their turn', async () => {
        const [a, b] = [
          await start({ BATCH_WORKER_CONCURRENCY: '2', POOL_TENANT_SHARE: '0.5' }),
          await start({ BATCH_WORKER_CONCURRENCY: '2', POOL_TENANT_SHARE: '0.5' }),
        ];
        const heavy: string[] = [];
        for (let i = 0; i < 5; i++) heavy.push(await submit(i % 2 ? a : b, 'heavy', `rep-h${i}`, SLOW_MS));
        await waitFor('two heavy jobs to run', async () =>
          (await heavyStates(a, heavy)).filter((s) => s === 'running').length >= 2 ? true : undefined,
        );
        const quiet = await submit(b, 'quiet', 'rep-q', 1);
        await finished(a, 'quiet', quiet);
        const states = await heavyStates(a, heavy);
        await cancelAll(a, 'heavy', heavy);
        // one slot per replica (its share) for the heavy tenant: two running, the rest queued or waiting
        expect(states.filter((s) => s === 'running')).toHaveLength(2);
        expect(states.filter((s) => s === 'completed')).toHaveLength(0);
      });
  },
);
