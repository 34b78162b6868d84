import { RunningApp, startApp } from '../support/app';
import { freePort, RedisProcess } from '../support/redis-server';
import { OriginServer } from '../fixtures/origin-server';
import { verifySignature, waitFor, webhookReceiver, WEBHOOK_SECRET, sleep } from './support';

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * Batch jobs end to end, once with the in-process runner (no Redis) and once on BullMQ with a private
 * Redis. The origin is on loopback, hence DOWNLOAD_ALLOW_PRIVATE=true.
 */
describe.each(['in-process', 'bullmq'] as const)(
  'Downloader: batch jobs with the %s runner (e2e)',
  (mode) => {
    let origin: OriginServer;
    let redis: RedisProcess | undefined;
    let app: RunningApp;

    beforeAll(async () => {
      origin = await OriginServer.start();
      redis = mode === 'bullmq' ? await RedisProcess.start() : undefined;
      app = await startApp({
        DOWNLOAD_ALLOW_PRIVATE: 'true',
        WEBHOOK_SECRET,
        WEBHOOK_MAX_ATTEMPTS: '4',
        REDIS_URL: redis?.url,
        RATE_LIMIT_BATCH: '10000',
        RATE_LIMIT_DEFAULT: '100000',
      });
    });
    afterAll(async () => {
      jest.restoreAllMocks();
      await app?.close();
      await redis?.stop();
      await origin?.close();
    });
    beforeEach(() => origin.reset());

    const submit = (body: unknown, headers: Record<string, string> = {}) =>
      app.request('/api/v1/batch', {
        ...json(body),
        headers: { 'content-type': 'application/json', ...headers },
      });
    /** The job's `webhook` once it reached `status` (delivered / failed). */
    const webhookOf = (jobId: string, status: string) =>
      waitFor(`the webhook of ${jobId} to be ${status}`, async () => {
        const webhook = (await app.request(`/api/v1/jobs/${jobId}`)).body.webhook;
        return webhook?.status === status ? webhook : undefined;
      });
    const finished = (jobId: string, headers: Record<string, string> = {}) =>
      waitFor(`job ${jobId} to finish`, async () => {
        const res = await app.request(`/api/v1/jobs/${jobId}/results`, { headers });
        return res.status === 200 ? res : undefined;
      });

    it('50 URLs at concurrency 10 against a 100 ms origin: in parallel, progress per URL, every result, one signed webhook', async () => {
      const deliveries = webhookReceiver(origin, '/hook-ok');
      const urls = Array.from({ length: 50 }, (_, i) => ({ url: `${origin.url}/latency?ms=100&id=${i}` }));
      const accepted = await submit({ urls, concurrency: 10, webhookUrl: `${origin.url}/hook-ok` });
      expect(accepted.status).toBe(202);
      expect(accepted.body).toEqual({
        jobId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        status: 'queued',
        totalUrls: 50,
        statusUrl: `/api/v1/jobs/${accepted.body.jobId}`,
      });
      const { jobId } = accepted.body;
      // the webhook waits for the end of the job
      expect((await app.request(`/api/v1/jobs/${jobId}`)).body.webhook).toEqual({
        status: 'pending',
        attempts: 0,
      });

      const progress: number[] = [];
      const statuses = new Set<string>();
      await waitFor(
        'the job to complete',
        async () => {
          const s = await app.request(`/api/v1/jobs/${jobId}`);
          expect(s.status).toBe(200);
          progress.push(s.body.progress);
          statuses.add(s.body.status);
          expect(s.body.processedUrls).toBe(s.body.succeeded + s.body.failed);
          return s.body.status === 'completed' ? s.body : undefined;
        },
        20_000,
        10,
      );
      expect(progress.some((p) => p > 0 && p < 100)).toBe(true);
      expect(progress).toEqual([...progress].sort((a, b) => a - b)); // never goes back
      expect(statuses.has('running')).toBe(true);

      const status = await app.request(`/api/v1/jobs/${jobId}`);
      expect(status.body).toMatchObject({
        status: 'completed',
        progress: 100,
        totalUrls: 50,
        processedUrls: 50,
        succeeded: 50,
        failed: 0,
      });
      for (const field of ['createdAt', 'startedAt', 'finishedAt', 'expiresAt'])
        expect(Date.parse(status.body[field])).not.toBeNaN();

      const results = await app.request(`/api/v1/jobs/${jobId}/results`);
      expect(results.status).toBe(200);
      expect(results.body.summary).toMatchObject({ total: 50, succeeded: 50, failed: 0 });
      // fetched in parallel, never more than the job's concurrency at once (counted by the origin)
      expect(origin.latencyPeak).toBeGreaterThan(1);
      expect(origin.latencyPeak).toBeLessThanOrEqual(10);
      expect(results.body.results).toHaveLength(50);
      results.body.results.forEach((r: Record<string, unknown>, i: number) =>
        expect(r).toMatchObject({
          url: urls[i].url,
          success: true,
          format: 'text',
          content: `item ${i}`,
          statusCode: 200,
        }),
      );
      expect(origin.hits('/latency')).toHaveLength(50);

      await waitFor('the webhook', async () => (deliveries.length ? true : undefined));
      await sleep(300); // a duplicate would arrive now
      expect(deliveries).toHaveLength(1);
      const d = deliveries[0];
      expect(d.headers['x-atrium-event']).toBe('batch.completed');
      expect(d.headers['x-atrium-delivery']).toMatch(/^[0-9a-f-]{36}$/);
      expect(verifySignature(WEBHOOK_SECRET, d.body, d.headers['x-atrium-signature'] as string)).toBe(true);
      expect(
        verifySignature('another-secret-entirely', d.body, d.headers['x-atrium-signature'] as string),
      ).toBe(false);
      expect(d.json).toEqual({
        event: 'batch.completed',
        jobId,
        status: 'completed',
        summary: { total: 50, succeeded: 50, failed: 0, durationMs: expect.any(Number) },
      });
      expect(await webhookOf(jobId, 'delivered')).toEqual({
        status: 'delivered',
        attempts: 1,
        lastStatusCode: 200,
      });
    });

    it('retries a 5xx webhook receiver with the same delivery id until it accepts', async () => {
      const deliveries = webhookReceiver(origin, '/hook-flaky', [500, 503, 200]);
      const { body } = await submit({
        urls: [{ url: `${origin.url}/plain.txt` }],
        webhookUrl: `${origin.url}/hook-flaky`,
      });
      await waitFor('three attempts', async () => (deliveries.length >= 3 ? true : undefined), 15_000);
      await sleep(300);
      expect(deliveries).toHaveLength(3);
      expect(new Set(deliveries.map((d) => d.headers['x-atrium-delivery'])).size).toBe(1);
      for (const d of deliveries) {
        expect(d.json.jobId).toBe(body.jobId);
        expect(verifySignature(WEBHOOK_SECRET, d.body, d.headers['x-atrium-signature'] as string)).toBe(true);
      }
      expect(deliveries[1].at - deliveries[0].at).toBeGreaterThanOrEqual(200); // backoff, not a hot loop
      const metrics = await app.request('/metrics');
      expect(metrics.text).toMatch(/webhook_deliveries_total\{result="retry"\} [2-9]/);
      expect(metrics.text).toMatch(/webhook_delivery_duration_seconds_count \d+/);
      // the job's status tells the story: three attempts, the last one answered 200
      expect(await webhookOf(body.jobId, 'delivered')).toEqual({
        status: 'delivered',
        attempts: 3,
        lastStatusCode: 200,
      });
    });

    it('gives up on a 4xx receiver at once and after WEBHOOK_MAX_ATTEMPTS on a 5xx one', async () => {
      const gone = webhookReceiver(origin, '/hook-gone', [410]);
      const broken = webhookReceiver(origin, '/hook-broken', [500]);
      const closed = `http://127.0.0.1:${await freePort()}/hook`; // nothing listens: connection refused
      const url = { urls: [{ url: `${origin.url}/plain.txt` }] };
      const toGone = await submit({ ...url, webhookUrl: `${origin.url}/hook-gone` });
      const toBroken = await submit({ ...url, webhookUrl: `${origin.url}/hook-broken` });
      const toClosed = await submit({ ...url, webhookUrl: closed });
      await waitFor('4 attempts', async () => (broken.length >= 4 ? true : undefined), 20_000);
      await sleep(500);
      expect(gone).toHaveLength(1);
      expect(broken).toHaveLength(4);
      expect(await webhookOf(toGone.body.jobId, 'failed')).toEqual({
        status: 'failed',
        attempts: 1,
        lastStatusCode: 410,
      });
      expect(await webhookOf(toBroken.body.jobId, 'failed')).toEqual({
        status: 'failed',
        attempts: 4,
        lastStatusCode: 500,
      });
      // the receiver is named as such, not as "the origin" (the downloader's word for a page)
      expect(await webhookOf(toClosed.body.jobId, 'failed')).toEqual({
        status: 'failed',
        attempts: 4,
        lastError: expect.stringMatching(/^Could not reach the webhook receiver/),
      });
    });

    it('records per-URL failures and mixed formats; a job where every URL fails is failed', async () => {
      const { body } = await submit({
        urls: [
          { url: `${origin.url}/article`, format: 'markdown' },
          { url: `${origin.url}/binary.png`, format: 'raw' },
          { url: `${origin.url}/data.json`, format: 'json' },
          { url: `${origin.url}/status?code=404` },
          { url: `${origin.url}/binary.png` }, // text of a binary
        ],
        defaultFormat: 'text',
      });
      const res = await finished(body.jobId);
      expect(res.body.status).toBe('completed');
      const [md, bin, doc, missing, binText] = res.body.results;
      expect(md).toMatchObject({
        success: true,
        format: 'markdown',
        contentType: 'text/markdown; charset=utf-8',
      });
      expect(md.content).toMatch(/^# Atrium Field Notes/);
      expect(bin).toMatchObject({ success: true, format: 'raw', contentType: 'image/png' });
      expect(typeof bin.contentBase64).toBe('string');
      expect(doc.content).toMatchObject({ statusCode: 200, contentType: 'application/json' });
      expect(missing).toMatchObject({ success: false, statusCode: 404, error: { code: 'UPSTREAM_ERROR' } });
      expect(binText).toMatchObject({ success: false, error: { code: 'EXTRACTION_FAILED' } });
      expect(res.body.summary).toMatchObject({ total: 5, succeeded: 3, failed: 2 });

      const allBad = await submit({ urls: [{ url: `${origin.url}/status?code=500` }] });
      expect((await finished(allBad.body.jobId)).body.status).toBe('failed');
    });

    it('cancels a running job: 202, status cancelled, partial results, a batch.cancelled webhook, no fetch after', async () => {
      const deliveries = webhookReceiver(origin, '/hook-cancel');
      const urls = Array.from({ length: 20 }, (_, i) => ({ url: `${origin.url}/latency?ms=300&id=c${i}` }));
      const cancelledJobHits = () => origin.hits('/latency').filter((r) => r.url.includes('id=c'));
      const { body } = await submit({ urls, concurrency: 1, webhookUrl: `${origin.url}/hook-cancel` });
      await waitFor('some progress', async () => {
        const s = await app.request(`/api/v1/jobs/${body.jobId}`);
        return s.body.processedUrls >= 1 ? true : undefined;
      });
      expect((await app.request(`/api/v1/jobs/${body.jobId}/results`)).body.code).toBe('JOB_NOT_FINISHED');
      const cancel = await app.request(`/api/v1/jobs/${body.jobId}`, { method: 'DELETE' });
      expect(cancel.status).toBe(202);
      expect(cancel.body).toEqual({ jobId: body.jobId, status: 'cancelled' });
      const res = await finished(body.jobId);
      expect(res.body.status).toBe('cancelled');
      expect(res.body.results.length).toBeLessThan(20);
      await waitFor('the cancel webhook', async () => (deliveries.length ? true : undefined));
      expect(deliveries[0].json).toMatchObject({ event: 'batch.cancelled', status: 'cancelled' });
      // Really stopped. The webhook goes out once the job's workers have returned, so no URL of it can be
      // started after; a job submitted now is served after any request the cancelled one had sent, so
      // the origin's log (in arrival order) ends with the marker: nothing of the cancelled job after it.
      const marker = await submit({ urls: [{ url: `${origin.url}/latency?ms=1&id=marker` }] });
      await finished(marker.body.jobId);
      const order = origin.hits('/latency').map((r) => (r.url.includes('id=marker') ? 'marker' : 'c'));
      expect(order.slice(order.indexOf('marker'))).toEqual(['marker']);
      // at most the one URL in flight at the cancel (concurrency 1) was fetched without a result
      expect(cancelledJobHits().length).toBeLessThanOrEqual(res.body.results.length + 1);
      expect((await app.request(`/api/v1/jobs/${body.jobId}`, { method: 'DELETE' })).body.code).toBe(
        'JOB_NOT_CANCELLABLE',
      );
    });

    it('is tenant-scoped: another tenant gets 404 for status, results and cancel', async () => {
      const { body } = await submit(
        { urls: [{ url: `${origin.url}/plain.txt` }] },
        { 'x-tenant-id': 'acme' },
      );
      await finished(body.jobId, { 'x-tenant-id': 'acme' });
      // no webhookUrl, no webhook
      const own = await app.request(`/api/v1/jobs/${body.jobId}`, { headers: { 'x-tenant-id': 'acme' } });
      expect(own.body.webhook).toBeNull();
      for (const [path, method] of [
        [`/api/v1/jobs/${body.jobId}`, 'GET'],
        [`/api/v1/jobs/${body.jobId}/results`, 'GET'],
        [`/api/v1/jobs/${body.jobId}`, 'DELETE'],
      ]) {
        const res = await app.request(path, { method, headers: { 'x-tenant-id': 'globex' } });
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('JOB_NOT_FOUND');
      }
      expect((await app.request('/api/v1/jobs/not-a-job')).status).toBe(404);
    });

    it('accepts plain URL strings as shorthand for {url}, mixed with objects', async () => {
      const accepted = await submit({
        urls: [`${origin.url}/plain.txt`, { url: `${origin.url}/data.json`, format: 'json' }],
        defaultFormat: 'markdown',
      });
      expect(accepted.status).toBe(202);
      const res = await finished(accepted.body.jobId);
      expect(res.body.results.map((r: { url: string; format: string }) => [r.url, r.format])).toEqual([
        [`${origin.url}/plain.txt`, 'markdown'],
        [`${origin.url}/data.json`, 'json'],
      ]);
      const wrong = await submit({ urls: [42] });
      expect(wrong.status).toBe(400);
      expect(wrong.body.details.fields).toEqual({
        'urls.0': ['each entry of urls must be a URL string or an object {"url": "…", "format"?: "…"}'],
      });
      const notArray = await submit({ urls: `${origin.url}/plain.txt` });
      expect(notArray.body.details.fields.urls[0]).toContain('must be an array');
    });

    it('validates the request: 400 VALIDATION_FAILED, INVALID_URL with the index', async () => {
      expect((await submit({ urls: [] })).body.code).toBe('VALIDATION_FAILED');
      expect((await submit({ urls: [{ url: 'x' }], concurrency: 21 })).body.code).toBe('VALIDATION_FAILED');
      expect((await submit({ urls: [{ url: 'x' }], timeoutPerUrlMs: 10 })).body.code).toBe(
        'VALIDATION_FAILED',
      );
      expect((await submit({ urls: [{ url: 'x', format: 'docx' }] })).body.code).toBe('VALIDATION_FAILED');
      expect((await submit({ urls: [{ url: 'x' }], extra: 1 })).body.code).toBe('VALIDATION_FAILED');
      const tooMany = await submit({
        urls: Array.from({ length: 101 }, () => ({ url: `${origin.url}/plain.txt` })),
      });
      expect(tooMany.status).toBe(400);
      expect(tooMany.body.details.fields.urls).toBeDefined();
      const bad = await submit({ urls: [{ url: `${origin.url}/plain.txt` }, { url: 'not a url' }] });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ code: 'INVALID_URL', details: { index: 1 } });
    });

    it('publishes the batch pool and queue depth', async () => {
      const live = await app.request('/metrics/live');
      expect(JSON.stringify(live.body)).toContain('"batch"');
      const metrics = await app.request('/metrics');
      expect(metrics.text).toMatch(/batch_jobs_total\{status="completed"\} \d+/);
      expect(metrics.text).toMatch(/batch_jobs_in_queue\{state="active"\} \d+/);
      const health = await app.request('/health');
      expect(JSON.stringify(health.body)).toContain(
        mode === 'bullmq' ? '"jobRunner":"bullmq"' : '"jobRunner":"in-process"',
      );
    });
  },
);
