import { Global, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { statfs } from 'node:fs/promises';
import { Database, pingDatabase } from '@libs/database';
import { AppConfig } from '@app/config';
import { SystemMetrics } from '@app/metrics/system-metrics';
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
  ) {}

  onModuleInit(): void {
    const { health } = this.config;
    this.registry.register({ name: 'database', readiness: true, check: () => pingDatabase(this.db) });
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
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
  controllers: [HealthController],
  providers: [HealthRegistry, ShutdownState, CoreHealthChecks],
  exports: [HealthRegistry, ShutdownState],
})
export class HealthModule {}
