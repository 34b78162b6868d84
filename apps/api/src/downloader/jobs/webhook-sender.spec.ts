import { createHmac } from 'node:crypto';
import { Counter, Histogram } from 'prom-client';
import { testConfig } from '@app/config';
import { UpstreamError, UpstreamTimeoutError, UrlBlockedError } from '../downloader.errors';
import { DownloaderMetrics } from '../downloader.metrics';
import type { FetchRequest, FetchResponse, SafeFetcher } from '../fetch/safe-fetcher';
import type { WebhookAttempt } from './job.types';
import { signBody, webhookFailure, WebhookPayload, WebhookSender } from './webhook-sender';

describe('webhook signing', () => {
  it('signs the exact body with HMAC-SHA256 as sha256=<hex>', () => {
    const body = JSON.stringify({ event: 'batch.completed', jobId: 'x' });
    const expected = createHmac('sha256', 'secret-secret-secret').update(body).digest('hex');
    expect(signBody('secret-secret-secret', body)).toBe(`sha256=${expected}`);
    expect(signBody('secret-secret-secret', body + ' ')).not.toBe(`sha256=${expected}`);
  });
});

/** A receiver that answers each attempt with the next status, or throws the next error. */
type Answer = number | Error | ((req: FetchRequest) => Promise<number>);

describe('WebhookSender.deliver (retries through the shared retry policy)', () => {
  const PAYLOAD: WebhookPayload = {
    event: 'batch.completed',
    jobId: 'job-1',
    status: 'completed',
    summary: { total: 1, succeeded: 1, failed: 0, durationMs: 5 },
  };

  function setup(answers: Answer[], maxAttempts = 3) {
    const seen: FetchRequest[] = [];
    const fetcher = {
      async fetch(req: FetchRequest): Promise<FetchResponse> {
        seen.push(req);
        const answer = answers[Math.min(seen.length, answers.length) - 1];
        if (answer instanceof Error) throw answer;
        const statusCode = typeof answer === 'function' ? await answer(req) : answer;
        return { statusCode } as FetchResponse;
      },
    } as unknown as SafeFetcher;
    const deliveries = new Counter({
      name: 'webhook_deliveries_total',
      help: 'h',
      labelNames: ['result'],
      registers: [],
    });
    const metrics = {
      webhookDeliveries: deliveries,
      webhookDuration: new Histogram({ name: 'webhook_delivery_duration_seconds', help: 'h', registers: [] }),
    } as unknown as DownloaderMetrics;
    const config = testConfig({
      WEBHOOK_SECRET: 'a-very-secret-webhook-key',
      WEBHOOK_MAX_ATTEMPTS: String(maxAttempts),
    });
    const sut = new WebhookSender(config, fetcher, metrics);
    const reports: Array<WebhookAttempt & { counted: boolean }> = [];
    const count = async (result: string): Promise<number> =>
      (await deliveries.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
    return { sut, seen, reports, count };
  }

  it('retries 5xx with the same delivery id and signature until the receiver accepts', async () => {
    const { sut, seen, reports, count } = setup([500, 200]);
    const ok = await sut.deliver('http://hooks.test/h', 'd-1', PAYLOAD, undefined, async (a) => {
      reports.push(a);
    });
    expect(ok).toBe(true);
    expect(seen).toHaveLength(2);
    expect(new Set(seen.map((r) => r.headers?.['x-atrium-delivery']))).toEqual(new Set(['d-1']));
    expect(seen.every((r) => r.retries === 0 && r.followRedirects === false)).toBe(true);
    expect(reports).toEqual([
      { counted: true, statusCode: 500, error: undefined },
      { counted: true, statusCode: 200, final: 'delivered' },
    ]);
    expect([await count('retry'), await count('success'), await count('failure')]).toEqual([1, 1, 0]);
  });

  it('gives up at once on a 4xx and on a URL policy refusal', async () => {
    for (const answer of [410, new UrlBlockedError('address', 'not allowed')]) {
      const { sut, seen, reports, count } = setup([answer]);
      const ok = await sut.deliver('http://hooks.test/h', 'd-2', PAYLOAD, undefined, async (a) => {
        reports.push(a);
      });
      expect(ok).toBe(false);
      expect(seen).toHaveLength(1);
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatchObject({ counted: true, final: 'failed' });
      expect([await count('retry'), await count('failure')]).toEqual([0, 1]);
    }
  });

  it('gives up after WEBHOOK_MAX_ATTEMPTS network errors, each one reported', async () => {
    const { sut, seen, reports, count } = setup([new UpstreamError('Could not reach it')], 3);
    const ok = await sut.deliver('http://hooks.test/h', 'd-3', PAYLOAD, undefined, async (a) => {
      reports.push(a);
    });
    expect(ok).toBe(false);
    expect(seen).toHaveLength(3);
    expect(reports).toEqual([
      { counted: true, statusCode: undefined, error: 'Could not reach it' },
      { counted: true, statusCode: undefined, error: 'Could not reach it' },
      { counted: true, statusCode: undefined, error: 'Could not reach it', final: 'failed' },
    ]);
    expect([await count('retry'), await count('failure')]).toEqual([2, 1]);
  });

  it('shutdown during the wait before a retry: false at once, the delivery stays pending', async () => {
    const shutdown = new AbortController();
    const { sut, seen, reports, count } = setup([503, 200], 5);
    const ok = await sut.deliver('http://hooks.test/h', 'd-4', PAYLOAD, shutdown.signal, async (a) => {
      reports.push(a);
      shutdown.abort(new Error('shutting down')); // the wait that follows is ≥ 250 ms: ended, not served
    });
    expect(ok).toBe(false);
    expect(seen).toHaveLength(1);
    expect(reports).toEqual([{ counted: true, statusCode: 503, error: undefined }]);
    expect([await count('retry'), await count('failure')]).toEqual([1, 0]);
  });

  it('shutdown during an attempt: false, the attempt is reported, nothing is given up', async () => {
    const shutdown = new AbortController();
    const interrupted = async (): Promise<number> => {
      shutdown.abort(new Error('shutting down'));
      throw new Error('The operation was aborted');
    };
    const { sut, reports, count } = setup([interrupted]);
    const ok = await sut.deliver('http://hooks.test/h', 'd-5', PAYLOAD, shutdown.signal, async (a) => {
      reports.push(a);
    });
    expect(ok).toBe(false);
    expect(reports).toEqual([{ counted: true, statusCode: undefined, error: 'The operation was aborted' }]);
    expect([await count('retry'), await count('failure')]).toEqual([0, 0]);
  });
});

describe('webhookFailure', () => {
  it('names the webhook receiver, never "the origin" (the downloader’s word for a page)', () => {
    expect(webhookFailure(new UpstreamError('Could not reach the origin', { reason: 'econnrefused' }))).toBe(
      'Could not reach the webhook receiver',
    );
    expect(webhookFailure(new UpstreamTimeoutError(5000, 'connect'))).toBe(
      'Could not connect to the webhook receiver within 5000 ms',
    );
    expect(webhookFailure(new UpstreamTimeoutError(10000))).toBe(
      'The webhook receiver did not answer within 10000 ms',
    );
    expect(webhookFailure(new UpstreamError('The origin sent a body that could not be decoded'))).toBe(
      'The webhook receiver sent a body that could not be decoded',
    );
    const blocked = new UrlBlockedError('address', 'The host resolves to a private address');
    expect(webhookFailure(blocked)).toBe('The host resolves to a private address');
  });
});

describe('webhookFailure', () => {
  it('names the webhook receiver, never "the origin" (the downloader’s word for a page)', () => {
    expect(webhookFailure(new UpstreamError('Could not reach the origin', { reason: 'econnrefused' }))).toBe(
      'Could not reach the webhook receiver',
    );
    expect(webhookFailure(new UpstreamTimeoutError(5000, 'connect'))).toBe(
      'Could not connect to the webhook receiver within 5000 ms',
    );
    expect(webhookFailure(new UpstreamTimeoutError(10000))).toBe(
      'The webhook receiver did not answer within 10000 ms',
    );
    expect(webhookFailure(new UpstreamError('The origin sent a body that could not be decoded'))).toBe(
      'The webhook receiver sent a body that could not be decoded',
    );
    const blocked = new UrlBlockedError('address', 'The host resolves to a private address');
    expect(webhookFailure(blocked)).toBe('The host resolves to a private address');
  });
});
