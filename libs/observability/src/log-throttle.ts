/**
 * For a condition that repeats at request rate (Redis down, a queue reconnecting): lets one log line
 * through, then at most one per `intervalMs`, so an outage does not flood the log.
 */
export class LogThrottle {
  private last = Number.NEGATIVE_INFINITY;

  constructor(private readonly intervalMs: number) {}

  /** True when a line may be written now (and the interval starts again). */
  allow(now = Date.now()): boolean {
    if (now - this.last < this.intervalMs) return false;
    this.last = now;
    return true;
  }
}
