import { Injectable } from '@nestjs/common';

export interface HealthCheck {
  /** Key in the Terminus response (database, redis, building_directory…). */
  name: string;
  /** True for hard dependencies: their failure makes /health/ready 503. */
  readiness: boolean;
  /** Resolves with details when healthy; throws (or rejects) when not. Bounded by HEALTH_CHECK_TIMEOUT_MS. */
  check: () => Promise<Record<string, unknown> | void>;
}

/**
 * Features own their health indicators and register them here (style.md 7); the Health module only
 * composes them into /health/ready (readiness checks) and /health (everything).
 */
@Injectable()
export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();

  register(check: HealthCheck): void {
    this.checks.set(check.name, check);
  }

  all(): HealthCheck[] {
    return [...this.checks.values()];
  }
}
