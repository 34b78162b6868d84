import { Global, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { statfs } from 'node:fs/promises';
import { CacheBackend } from '@libs/cache';
import { Database, pingDatabase } from '@libs/database';
import { AppConfig } from '@app/config';
import { SystemMetrics } from '@app/metrics/system-metrics';
import { AuthModule } from '@app/auth/auth.module';
import { HealthVisibility } from './health-visibility';
import { HealthController } from './health.controller';
import { HealthRegistry } from './health.registry';
import { ShutdownState } from './shutdown.state';

/** Registers the process-level checks and the database (the one hard dependency of readiness). */
@Injectable()
class CoreHealthChecks implements OnModuleInit {
  constructor(
    private readonly registry: HealthRegistry,
    private readonly db: Database,
    private readonly config: AppConfig,
    private readonly system: SystemMetrics,
    private readonly cache: CacheBackend,
  ) {}

  onModuleInit(): void {
    const { health } = this.config;
    this.registry.register({ name: 'database', readiness: true, check: () => pingDatabase(this.db) });
    const l2 = this.cache.l2;
    // Redis is a cache: shown in /health, never a readiness dependency (observability.md)
    if (l2)
      this.registry.register({
        name: 'redis',
        readiness: false,
        check: async () => ({ ...(await l2.roundTrip(1000)), state: l2.state }),
      });
    this.registry.register({
      name: 'memory_heap',
      readiness: false,
      check: async () => {
        const used = process.memoryUsage().heapUsed;
        if (used > health.heapMaxBytes) throw new Error(`heap ${used} bytes exceeds ${health.heapMaxBytes}`);
        return { heapUsedBytes: used, thresholdBytes: health.heapMaxBytes };
      },
    });
    this.registry.register({
      name: 'disk',
      readiness: false,
      check: async () => {
        const s = await statfs(this.config.dataDir).catch(() => statfs('.'));
        const used = 1 - s.bavail / s.blocks;
        if (used > health.diskThreshold)
          throw new Error(`disk ${(used * 100).toFixed(1)}% used exceeds ${health.diskThreshold * 100}%`);
        return { usedPercent: Math.round(used * 1000) / 10, path: this.config.dataDir };
      },
    });
    this.registry.register({
      name: 'event_loop',
      readiness: false,
      check: async () => {
        const lag = this.system.eventLoopLagMs();
        if (lag.p99 > health.eventLoopLagMaxMs)
          throw new Error(`event-loop lag p99 ${lag.p99} ms exceeds ${health.eventLoopLagMaxMs} ms`);
        return { lagMs: lag };
      },
    });
  }
}

@Global()
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), AuthModule],
  controllers: [HealthController],
  providers: [HealthRegistry, ShutdownState, CoreHealthChecks, HealthVisibility],
  exports: [HealthRegistry, ShutdownState],
})
export class HealthModule {}
