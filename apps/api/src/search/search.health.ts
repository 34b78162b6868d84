import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '@app/config';
import { FeatureHealthIndicator } from '@app/health';
import { SearchRepository } from './search.repository';

/** A real full-text round trip, in /health — not readiness: the database itself already is. */
@Injectable()
export class SearchHealthIndicator extends FeatureHealthIndicator {
  readonly key = 'search';

  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    private readonly repository: SearchRepository,
  ) {
    super(indicators, config);
  }

  protected check(): Promise<Record<string, unknown>> {
    return this.repository.ping();
  }
}
