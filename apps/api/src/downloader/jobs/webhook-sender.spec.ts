import { createHmac } from 'node:crypto';
import { backoffMs } from '../fetch/safe-fetcher';
import { UpstreamError, UpstreamTimeoutError, UrlBlockedError } from '../downloader.errors';
import { signBody, webhookFailure } from './webhook-sender';

describe('webhook signing and backoff', () => {
  it('signs the exact body with HMAC-SHA256 as sha256=<hex>', () => {
    const body = JSON.stringify({ event: 'batch.completed', jobId: 'x' });
    const expected = createHmac('sha256', 'secret-secret-secret').update(body).digest('hex');
    expect(signBody('secret-secret-secret', body)).toBe(`sha256=${expected}`);
    expect(signBody('secret-secret-secret', body + ' ')).not.toBe(`sha256=${expected}`);
  });

  it('backs off exponentially with jitter, capped', () => {
    for (let attempt = 0; attempt < 10; attempt++) {
      const ceiling = Math.min(3000, 200 * 2 ** attempt);
      for (let i = 0; i < 20; i++) {
        const d = backoffMs(attempt);
        expect(d).toBeGreaterThanOrEqual(ceiling / 2 - 1);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
    expect(new Set(Array.from({ length: 20 }, () => backoffMs(3))).size).toBeGreaterThan(1);
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
