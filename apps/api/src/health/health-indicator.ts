import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { withTimeout } from '@libs/cache';
import { AppConfig } from '@app/config';

/**
 * A module's Terminus health indicator. Each feature provides its own (building directory, search,
 * downloader); HealthModule provides the libraries' (database, redis) and the process checks, and
 * composes every provider of this type into /health — and those with `readiness` into /health/ready.
 *
 * `check()` resolves with details when healthy and throws when not; `isHealthy()` bounds it by
 * HEALTH_CHECK_TIMEOUT_MS and reports it through Terminus's HealthIndicatorService with its latency.
 */
export abstract class FeatureHealthIndicator {
  /** Key in the Terminus response (database, redis, building_directory…). */
  abstract readonly key: string;
  /** True for hard dependencies: their failure makes /health/ready 503. */
  readonly readiness: boolean = false;
  /** False when there is nothing to check in this configuration (e.g. no Redis). */
  readonly enabled: boolean = true;

  constructor(
    private readonly indicators: HealthIndicatorService,
    protected readonly config: AppConfig,
  ) {}

  protected abstract check(): Promise<Record<string, unknown> | void>;

  async isHealthy(): Promise<HealthIndicatorResult> {
    const session = this.indicators.check(this.key);
    const started = Date.now();
    try {
      const details = (await withTimeout(this.check(), this.config.health.timeoutMs)) ?? {};
      return session.up({ ...details, latencyMs: Date.now() - started });
    } catch (err) {
      return session.down({
        message: err instanceof Error ? err.message : String(err),
        latencyMs: Date.now() - started,
      });
    }
  }
}
