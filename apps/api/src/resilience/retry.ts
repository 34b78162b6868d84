import pRetry from 'p-retry';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Atrium's one retry policy for outbound calls (building directory client, safe fetcher, webhook sender),
 * run by p-retry: attempt counting, exponential backoff with jitter (retry n waits between
 * firstDelayMs·2ⁿ and twice that, capped at maxDelayMs), and a wait that an AbortSignal ends at once
 * (shutdown, a cancelled job, a deadline) with the signal's reason. What Atrium's own code still says, per
 * caller: which failures are worth another attempt (`retryable`), the numbers, and what a retry is told
 * (`onRetry`: logs, metrics, a job's status). A caller that retries on a result (a 5xx) throws for it while
 * attempts remain and returns it on the last one.
 * A failure that says when to come back (`retryAfterMs`: an HTTP 429/503 with Retry-After) waits at least that
 * long instead of the computed backoff: p-retry has no per-attempt delay, so the difference is waited in
 * shouldRetry (before p-retry's own wait), abortable by the same signal.
 * p-retry never retries a TypeError that is not a network error (a programming error): callers throw their
 * own error classes.
 */
export interface Backoff {
  /** Attempts after the first. */
  retries: number;
  /** The first retry waits between this and twice this. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export interface RetryOptions {
  signal?: AbortSignal;
  /** Whether this failure is worth another attempt; every one is when absent. */
  retryable?: (error: Error) => boolean;
  /** Told of each retry before its wait; `attempt` is the one that failed (1-based). */
  onRetry?: (error: Error, attempt: number, delayMs: number) => void | Promise<void>;
  /** How long this failure asked to be left alone (Retry-After), if it did; the retry waits at least that. */
  retryAfterMs?: (error: Error) => number | undefined;
}

export function withRetries<T>(
  backoff: Backoff,
  attempt: (attempt: number) => Promise<T>,
  { signal, retryable = () => true, onRetry, retryAfterMs }: RetryOptions = {},
): Promise<T> {
  return pRetry(attempt, {
    retries: backoff.retries,
    factor: 2,
    minTimeout: backoff.firstDelayMs,
    maxTimeout: backoff.maxDelayMs,
    randomize: true,
    signal,
    // called only while attempts remain and the signal is not aborted; the wait follows
    shouldRetry: async ({ error, attemptNumber, retryDelay }) => {
      if (!retryable(error)) return false;
      const asked = retryAfterMs?.(error);
      const delayMs = asked !== undefined ? Math.max(asked, retryDelay) : retryDelay;
      await onRetry?.(error, attemptNumber, delayMs);
      // the origin's Retry-After beyond p-retry's own wait, which follows
      if (delayMs > retryDelay)
        await sleep(delayMs - retryDelay, undefined, { signal }).catch((err: unknown) => {
          throw signal?.aborted ? signal.reason : err;
        });
      return true;
    },
  });
}
