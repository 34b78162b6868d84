import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '@app/config';
import { FeatureHealthIndicator } from '@app/health';
import { BUILDING_SOURCE } from './building-directory.tokens';
import type { BuildingSource } from './building.types';

/** The upstream (or file) in /health — not in readiness: cached buildings still serve without it. */
@Injectable()
export class BuildingDirectoryHealthIndicator extends FeatureHealthIndicator {
  readonly key = 'building_directory';

  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    @Inject(BUILDING_SOURCE) private readonly source: BuildingSource,
  ) {
    super(indicators, config);
  }

  protected check(): Promise<Record<string, unknown>> {
    return this.source.health();
  }
}
