export class CacheTimeoutError extends Error {
  constructor(ms: number) {
    super(`cache operation timed out after ${ms} ms`);
    this.name = 'CacheTimeoutError';
  }
}

/**
 * Resolves with the promise or rejects with CacheTimeoutError after `ms`. The losing promise keeps
 * running (a Redis command cannot be recalled) but its rejection is swallowed, never unhandled.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  promise.catch(() => undefined);
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CacheTimeoutError(ms)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
