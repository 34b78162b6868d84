/** Client addresses tracked at once: bounds the memory a flood from many addresses can take (~100 B each). */
export const AUTH_FAILURE_TRACKED_MAX = 10_000;

interface Window {
  startedAt: number;
  failures: number;
}

/**
 * The verdict on a failed authentication: answer 401, or 429 for `retryAfterSeconds` (`first`: the first
 * refusal of this address's window, the moment worth one log line).
 */
export type FailureVerdict =
  { throttled: false } | { throttled: true; retryAfterSeconds: number; first: boolean };

/**
 * Failed authentications per client address in fixed windows: the window opens at an address's first
 * failure; past `limit` failures in it, further failures from that address are throttled (429) until it
 * ends. Only failures are counted and only failures are refused — a request with a valid key always
 * passes — so a flood of wrong keys from one address cannot lock out valid clients sharing it. The address
 * is Fastify's `request.ip`: the socket's, or X-Forwarded-For's only from the proxies TRUST_PROXY names.
 *
 * Memory is bounded: at most `maxTracked` addresses, the oldest window dropped first when a new address
 * arrives (Map keeps insertion order), and expired windows are restarted in place.
 */
export class AuthFailureThrottle {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxTracked = AUTH_FAILURE_TRACKED_MAX,
    private readonly now: () => number = Date.now,
  ) {}

  get tracked(): number {
    return this.windows.size;
  }

  /** Records one failed authentication from `address` and says how to answer it. */
  fail(address: string): FailureVerdict {
    const now = this.now();
    let w = this.windows.get(address);
    if (w === undefined || now - w.startedAt >= this.windowMs) {
      if (w === undefined && this.windows.size >= this.maxTracked)
        this.windows.delete(this.windows.keys().next().value as string);
      w = { startedAt: now, failures: 0 };
      this.windows.delete(address); // re-inserted last: the map stays ordered by window start
      this.windows.set(address, w);
    }
    w.failures++;
    if (w.failures <= this.limit) return { throttled: false };
    return {
      throttled: true,
      retryAfterSeconds: Math.max(1, Math.ceil((w.startedAt + this.windowMs - now) / 1000)),
      first: w.failures === this.limit + 1,
    };
  }
}
