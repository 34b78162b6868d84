import { createHmac } from 'node:crypto';
import { backoffMs } from '../fetch/safe-fetcher';
import { signBody } from './webhook-sender';

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
