import pRetry from 'p-retry';

/**
 * Atrium's one retry policy for outbound calls (building directory client, safe fetcher, webhook sender),
 * run by p-retry: attempt counting, exponential backoff with jitter (retry n waits between
 * firstDelayMs·2ⁿ and twice that, capped at maxDelayMs), and a wait that an AbortSignal ends at once
 * (shutdown, a cancelled job, a deadline) with the signal's reason. What Atrium's own code still says, per
 * caller: which failures are worth another attempt (`retryable`), the numbers, and what a retry is told
 * (`onRetry`: logs, metrics, a job's status). A caller that retries on a result (a 5xx) throws for it while
 * attempts remain and returns it on the last one.
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
}

export function withRetries<T>(
  backoff: Backoff,
  attempt: (attempt: number) => Promise<T>,
  { signal, retryable = () => true, onRetry }: RetryOptions = {},
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
      await onRetry?.(error, attemptNumber, retryDelay);
      return true;
    },
  });
}
