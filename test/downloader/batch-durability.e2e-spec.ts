import { RedisProcess } from '../support/redis-server';
import { OriginServer } from '../fixtures/origin-server';
import { ChildApp } from '../support/child-app';
import { verifySignature, waitFor, webhookReceiver, WEBHOOK_SECRET, sleep } from './support';

jest.setTimeout(240_000);

/**
 * BullMQ durability with the service as real OS processes on one private Redis: two replicas process
 * each job once; a worker SIGKILLed mid-batch is restarted and the job completes with every URL result
 * exactly once.
 */
describe('Downloader: durable batch jobs across processes (e2e)', () => {
  let origin: OriginServer;
  let redis: RedisProcess;
  let a: ChildApp;
  let b: ChildApp;

  const env = (): Record<string, string> => ({
    REDIS_URL: redis.url,
    DOWNLOAD_ALLOW_PRIVATE: 'true',
    WEBHOOK_SECRET,
    BATCH_WORKER_CONCURRENCY: '2',
    RATE_LIMIT_BATCH: '10000',
    RATE_LIMIT_DEFAULT: '100000',
    SHUTDOWN_DRAIN_MS: '0',
  });
  const submit = (app: ChildApp, body: unknown) =>
    app.request('/api/v1/batch', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const startedBy = (app: ChildApp): Set<string> =>
    new Set(
      app.lines
        .filter((l) => typeof l.msg === 'string' && l.msg.startsWith('Batch job started'))
        .map((l) => String(l.requestId)),
    );

  beforeAll(async () => {
    origin = await OriginServer.start();
    redis = await RedisProcess.start();
    [a, b] = await Promise.all([ChildApp.start(env()), ChildApp.start(env())]);
  });
  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await redis?.stop();
    await origin?.close();
  });

  it('two instances on one Redis process each job exactly once', async () => {
    origin.reset();
    const jobIds: string[] = [];
    for (let j = 0; j < 8; j++) {
      const via = j % 2 === 0 ? a : b;
      const urls = Array.from({ length: 6 }, (_, i) => ({
        url: `${origin.url}/latency?ms=80&id=two-${j}-${i}`,
      }));
      const res = await submit(via, { urls, concurrency: 3 });
      expect(res.status).toBe(202);
      jobIds.push(res.body.jobId);
    }
    for (const jobId of jobIds)
      await waitFor(
        `job ${jobId}`,
        async () => {
          const s = await a.request(`/api/v1/jobs/${jobId}`);
          return s.body.status === 'completed' ? s.body : undefined;
        },
        60_000,
        100,
      );

    // every URL of every job fetched exactly once
    const ids = origin.hits('/latency').map((r) => new URL(r.url, origin.url).searchParams.get('id'));
    expect(ids).toHaveLength(48);
    expect(new Set(ids).size).toBe(48);
    // each job started by exactly one instance; both instances took part. A start line may still sit in the
    // logger's buffer (flushed every 250 ms) when the job shows completed: wait until every job has one
    await waitFor('every start line', async () =>
      jobIds.every((id) => startedBy(a).has(id) || startedBy(b).has(id)) ? true : undefined,
    );
    const byA = startedBy(a);
    const byB = startedBy(b);
    for (const jobId of jobIds) expect(Number(byA.has(jobId)) + Number(byB.has(jobId))).toBe(1);
    expect(byA.size).toBeGreaterThan(0);
    expect(byB.size).toBeGreaterThan(0);
  });

  it('SIGTERM with a running job: one log line, and the other instance resumes it from where it stopped', async () => {
    origin.reset();
    const urls = Array.from({ length: 30 }, (_, i) => ({ url: `${origin.url}/latency?ms=200&id=t${i}` }));
    const { body } = await submit(a, { urls, concurrency: 2 });
    const jobId: string = body.jobId;
    await waitFor(
      'some progress',
      async () => ((await a.request(`/api/v1/jobs/${jobId}`)).body.processedUrls >= 2 ? true : undefined),
      30_000,
      50,
    );
    // the start line may still sit in the logger's 4 KiB buffer (flushed every 250 ms) when progress shows
    await waitFor('the start line', async () =>
      startedBy(a).has(jobId) || startedBy(b).has(jobId) ? true : undefined,
    );
    const [runner, other] = startedBy(a).has(jobId) ? [a, b] : [b, a];
    await runner.kill('SIGTERM');
    expect((await runner.waitExit()).code).toBe(0);

    // the stopping instance says it once (no "picked up again" / second "interrupted" of its own)
    const said = runner.lines.filter((l) => l.requestId === jobId).map((l) => String(l.msg));
    expect(said.filter((m) => m.includes('interrupted'))).toHaveLength(1);
    expect(said.filter((m) => m.includes('picked up again'))).toHaveLength(0);
    expect(said.find((m) => m.includes('interrupted'))).toMatch(/back to the queue/);

    const done = await waitFor(
      'the other instance to finish it',
      async () => {
        const s = await other.request(`/api/v1/jobs/${jobId}`);
        return s.body.status === 'completed' ? s.body : undefined;
      },
      60_000,
      100,
    );
    expect(done).toMatchObject({ processedUrls: 30, succeeded: 30 });
    expect(other.lines.some((l) => l.requestId === jobId && String(l.msg).includes('picked up again'))).toBe(
      true,
    );
    if (runner === a) await a.restart(); // the next test needs `a`
  });

  it('a worker SIGKILLed mid-batch is restarted and the job completes with no lost or duplicated result', async () => {
    await b.close(); // one worker left: the job surely runs on the process we kill
    origin.reset();
    const deliveries = webhookReceiver(origin, '/hook-durable');
    const urls = Array.from({ length: 40 }, (_, i) => ({ url: `${origin.url}/latency?ms=250&id=k${i}` }));
    const { body } = await submit(a, { urls, concurrency: 2, webhookUrl: `${origin.url}/hook-durable` });
    const jobId: string = body.jobId;

    const before = await waitFor(
      'progress before the kill',
      async () => {
        const s = await a.request(`/api/v1/jobs/${jobId}`);
        return s.body.processedUrls >= 8 ? s.body : undefined;
      },
      30_000,
      50,
    );
    expect(before.status).toBe('running');
    await a.kill('SIGKILL');
    const hitsAtKill = origin.hits('/latency').length;
    await sleep(500);
    expect(origin.hits('/latency').length).toBe(hitsAtKill); // nobody is working on it now

    await a.restart(); // "start it again": same environment, same Redis
    const done = await waitFor(
      'the job to complete after the restart',
      async () => {
        const s = await a.request(`/api/v1/jobs/${jobId}`);
        return s.body.status === 'completed' ? s.body : undefined;
      },
      90_000,
      200,
    );
    // (the 90 s bound of the wait above is the hang check: the lock expires after 10 s, the stalled check
    // runs every 5 s)
    expect(done).toMatchObject({ totalUrls: 40, processedUrls: 40, succeeded: 40, failed: 0, progress: 100 });

    const results = await a.request(`/api/v1/jobs/${jobId}/results`);
    expect(results.body.results).toHaveLength(40);
    expect(results.body.results.map((r: { url: string }) => r.url)).toEqual(urls.map((u) => u.url));
    results.body.results.forEach((r: { success: boolean; content: string }, i: number) => {
      expect(r.success).toBe(true);
      expect(r.content).toBe(`item k${i}`);
    });
    // URLs finished before the kill were not fetched again; at most the in-flight ones (concurrency 2) were
    const ids = origin
      .hits('/latency')
      .map((r) => new URL(r.url, origin.url).searchParams.get('id')!)
      .filter((id) => id.startsWith('k')); // this job's URLs only
    expect(new Set(ids).size).toBe(40);
    expect(ids.length - 40).toBeLessThanOrEqual(2);
    expect(a.lines.some((l) => String(l.msg).includes('picked up again'))).toBe(true);

    await waitFor('the webhook', async () => (deliveries.length ? true : undefined), 20_000);
    await sleep(500);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0].json).toMatchObject({
      event: 'batch.completed',
      jobId,
      summary: { total: 40, succeeded: 40, failed: 0 },
    });
    expect(
      verifySignature(
        WEBHOOK_SECRET,
        deliveries[0].body,
        deliveries[0].headers['x-atrium-signature'] as string,
      ),
    ).toBe(true);
  });
});
