/**
 * `fn` with at most `max` calls in progress; further calls wait in order, and a finishing call hands its
 * turn straight to the next (so no new call can slip past the ones waiting).
 */
export function inTurn<A extends unknown[], T>(
  max: number,
  fn: (...args: A) => Promise<T>,
): (...args: A) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (...args: A): Promise<T> => {
    if (active < max) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn(...args);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
