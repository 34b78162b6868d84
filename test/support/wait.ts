export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The one polling loop of the tests: calls `probe` until it gives something other than undefined or
 * false (returned), or `timeoutMs` has passed (undefined). Probes at least once.
 */
export async function poll<T>(
  probe: () => T | Promise<T>,
  timeoutMs: number,
  everyMs = 25,
): Promise<Exclude<T, false | undefined> | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as Exclude<T, false | undefined>;
    if (Date.now() >= deadline) return undefined;
    await sleep(everyMs);
  }
}

/** Waits for a condition; throws naming it when it is not met within `ms`. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  ms = 5000,
  what = 'condition',
): Promise<void> {
  if ((await poll(cond, ms)) === undefined) throw new Error(`${what} not met within ${ms} ms`);
}

/** `promise`, or a rejection naming `what` once `ms` have passed (a hang bound, not a duration check). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}
