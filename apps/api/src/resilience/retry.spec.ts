import { withRetries } from './retry';

class Flaky extends Error {}
class Final extends Error {}

describe('withRetries (p-retry with Atrium backoff)', () => {
  it('retries up to `retries` times, then throws the last failure', async () => {
    let calls = 0;
    const attempt = async (n: number): Promise<string> => {
      calls++;
      throw new Flaky(`attempt ${n}`);
    };
    await expect(withRetries({ retries: 3, firstDelayMs: 1, maxDelayMs: 5 }, attempt)).rejects.toThrow(
      'attempt 4',
    );
    expect(calls).toBe(4);
  });

  it('returns the first success', async () => {
    const attempt = async (n: number): Promise<number> => {
      if (n < 3) throw new Flaky('not yet');
      return n;
    };
    await expect(withRetries({ retries: 5, firstDelayMs: 1, maxDelayMs: 5 }, attempt)).resolves.toBe(3);
  });

  it('throws a failure that is not retryable at once, without telling onRetry', async () => {
    const retried: number[] = [];
    let calls = 0;
    const run = withRetries(
      { retries: 5, firstDelayMs: 1, maxDelayMs: 5 },
      async () => {
        calls++;
        throw calls === 1 ? new Flaky('once') : new Final('for good');
      },
      { retryable: (err) => err instanceof Flaky, onRetry: (_err, attempt) => void retried.push(attempt) },
    );
    await expect(run).rejects.toBeInstanceOf(Final);
    expect(calls).toBe(2);
    expect(retried).toEqual([1]);
  });

  it('backs off exponentially with jitter, capped: retry n waits [first·2ⁿ, 2·first·2ⁿ] ≤ max', async () => {
    const delays: number[] = [];
    const run = withRetries(
      { retries: 8, firstDelayMs: 1, maxDelayMs: 20 },
      async () => {
        throw new Flaky('always');
      },
      { onRetry: (_err, _attempt, delayMs) => void delays.push(delayMs) },
    );
    await expect(run).rejects.toBeInstanceOf(Flaky);
    expect(delays).toHaveLength(8);
    delays.forEach((d, n) => {
      expect(d).toBeGreaterThanOrEqual(Math.min(20, 2 ** n));
      expect(d).toBeLessThanOrEqual(Math.min(20, 2 * 2 ** n));
    });
  });

  it('draws the delays at random (jitter), so callers that failed together do not retry together', async () => {
    const firstDelays = new Set<number>();
    for (let i = 0; i < 20; i++) {
      let waited = 0;
      await withRetries(
        { retries: 1, firstDelayMs: 20, maxDelayMs: 1000 },
        async (n) => {
          if (n === 1) throw new Flaky('once');
        },
        { onRetry: (_err, _attempt, delayMs) => void (waited = delayMs) },
      );
      firstDelays.add(waited);
    }
    expect(firstDelays.size).toBeGreaterThan(1);
    for (const d of firstDelays) expect(d >= 20 && d <= 40).toBe(true);
  });

  it('an abort during the wait ends it at once with the signal’s reason, and no attempt follows', async () => {
    const controller = new AbortController();
    let calls = 0;
    const run = withRetries(
      // a wait of a minute or more: only the abort can end this test in time
      { retries: 3, firstDelayMs: 60_000, maxDelayMs: 120_000 },
      async () => {
        calls++;
        throw new Flaky('down');
      },
      {
        signal: controller.signal,
        onRetry: () => void setImmediate(() => controller.abort(new Final('stop'))),
      },
    );
    await expect(run).rejects.toThrow('stop');
    expect(calls).toBe(1);
  });

  it('an aborted signal stops before the next attempt', async () => {
    const controller = new AbortController();
    let calls = 0;
    const run = withRetries(
      { retries: 3, firstDelayMs: 1, maxDelayMs: 1 },
      async () => {
        calls++;
        controller.abort(new Final('shutting down'));
        throw new Flaky('down');
      },
      { signal: controller.signal },
    );
    await expect(run).rejects.toThrow('shutting down');
    expect(calls).toBe(1);
  });
});

describe('withRetries and Retry-After', () => {
  it('waits at least what the failure asked for (Retry-After) instead of the shorter backoff', async () => {
    const at: number[] = [];
    const told: number[] = [];
    const run = withRetries(
      { retries: 1, firstDelayMs: 1, maxDelayMs: 5 },
      async () => {
        at.push(Date.now());
        if (at.length === 1) throw new Flaky('busy');
        return 'ok';
      },
      { retryAfterMs: () => 250, onRetry: (_e, _n, delayMs) => void told.push(delayMs) },
    );
    await expect(run).resolves.toBe('ok');
    expect(told).toEqual([250]);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(245);
  });

  it('ends a Retry-After wait at once when the signal aborts', async () => {
    const ac = new AbortController();
    const run = withRetries(
      { retries: 1, firstDelayMs: 1, maxDelayMs: 5 },
      async () => {
        throw new Flaky('busy');
      },
      { signal: ac.signal, retryAfterMs: () => 3_600_000, onRetry: () => ac.abort(new Final('stop')) },
    );
    await expect(run).rejects.toBeInstanceOf(Final);
  });
});
