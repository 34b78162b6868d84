import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { FeatureHealthIndicator } from './health-indicator';
import { LIBRARY_HEALTH_INDICATORS, PROCESS_HEALTH_INDICATORS } from './health.indicators';

/**
 * Composes the health indicators every module provides (any provider extending FeatureHealthIndicator),
 * so a feature adds its check by providing one — HealthModule imports no feature. Order in /health:
 * the libraries' (database, redis), the features', then the process checks.
 */
@Injectable()
export class HealthIndicators implements OnApplicationBootstrap {
  private everything: FeatureHealthIndicator[] = [];

  constructor(private readonly discovery: DiscoveryService) {}

  onApplicationBootstrap(): void {
    const found = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((i): i is FeatureHealthIndicator => i instanceof FeatureHealthIndicator && i.enabled);
    const rank = (i: FeatureHealthIndicator): number =>
      LIBRARY_HEALTH_INDICATORS.some((t) => i instanceof t)
        ? 0
        : PROCESS_HEALTH_INDICATORS.some((t) => i instanceof t)
          ? 2
          : 1;
    this.everything = [...new Set(found)].sort((a, b) => rank(a) - rank(b));
  }

  all(): FeatureHealthIndicator[] {
    return this.everything;
  }

  readiness(): FeatureHealthIndicator[] {
    return this.everything.filter((i) => i.readiness);
  }
}
