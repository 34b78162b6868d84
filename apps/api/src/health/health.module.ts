import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { AuthModule } from '@app/auth';
import { HealthVisibility } from './health-visibility';
import { HealthController } from './health.controller';
import { HealthIndicators } from './health-indicators.service';
import { LIBRARY_HEALTH_INDICATORS, PROCESS_HEALTH_INDICATORS } from './health.indicators';
import { ShutdownState } from './shutdown.state';

/**
 * /health/live (outside Terminus), /health/ready and /health (Terminus). Provides the libraries'
 * checks (database, redis) and the process checks; each feature module provides its own indicator
 * (a FeatureHealthIndicator) and HealthIndicators composes them all. Global: features inject
 * Terminus's HealthIndicatorService and the ShutdownState.
 */
const terminus = TerminusModule.forRoot({ errorLogStyle: 'json' });

@Global()
@Module({
  imports: [terminus, DiscoveryModule, AuthModule],
  controllers: [HealthController],
  providers: [
    ShutdownState,
    HealthIndicators,
    HealthVisibility,
    ...LIBRARY_HEALTH_INDICATORS,
    ...PROCESS_HEALTH_INDICATORS,
  ],
  exports: [ShutdownState, terminus],
})
export class HealthModule {}
