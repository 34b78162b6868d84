import { Injectable } from '@nestjs/common';
import {
  DiskHealthIndicator,
  HealthIndicatorResult,
  HealthIndicatorService,
  MemoryHealthIndicator,
} from '@nestjs/terminus';
import { CacheBackend } from '@libs/cache';
import { Database, pingDatabase } from '@libs/database';
import { AppConfig } from '@app/config';
import { RedisMonitor } from '@app/redis';
import { SystemMetrics } from '@app/metrics';
import { FeatureHealthIndicator } from './health-indicator';

/** The database library's check: a real round trip. The one hard dependency of readiness. */
@Injectable()
export class DatabaseHealthIndicator extends FeatureHealthIndicator {
  readonly key = 'database';
  override readonly readiness = true;

  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    private readonly db: Database,
  ) {
    super(indicators, config);
  }

  protected check(): Promise<Record<string, unknown>> {
    return pingDatabase(this.db);
  }
}

/** The cache library's L2: a write/read/delete round trip. Redis is a cache: shown, never a readiness dependency. */
@Injectable()
export class RedisHealthIndicator extends FeatureHealthIndicator {
  readonly key = 'redis';
  override readonly enabled: boolean;

  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    private readonly cache: CacheBackend,
    private readonly connection: RedisMonitor,
  ) {
    super(indicators, config);
    this.enabled = cache.l2 !== undefined;
  }

  protected async check(): Promise<Record<string, unknown>> {
    const l2 = this.cache.l2!;
    // down: say why (`connection refused`) instead of a client's "offline"
    if (this.connection.state === 'down') throw new Error(this.connection.reason ?? 'not connected');
    if (l2.state !== 'ready') throw new Error(`not connected (${l2.state})`);
    return { ...(await l2.roundTrip(1000)), state: l2.state };
  }
}

/**
 * Throws with Terminus's own message when its check reports `key` down: FeatureHealthIndicator turns that
 * into the down result (with the latency and under HEALTH_CHECK_TIMEOUT_MS) like every other check.
 */
function throwIfDown(result: HealthIndicatorResult, key: string, threshold: string): void {
  const { status, message } = result[key] as { status: string; message?: unknown };
  if (status !== 'up')
    throw new Error(`${typeof message === 'string' ? message : `${key} is down`} (${threshold})`);
}

/** Terminus's MemoryHealthIndicator.checkHeap against HEALTH_MEMORY_HEAP_MAX_BYTES. */
@Injectable()
export class MemoryHeapHealthIndicator extends FeatureHealthIndicator {
  readonly key = 'memory_heap';

  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    private readonly memory: MemoryHealthIndicator,
  ) {
    super(indicators, config);
  }

  protected async check(): Promise<Record<string, unknown>> {
    const max = this.config.health.heapMaxBytes;
    throwIfDown(await this.memory.checkHeap(this.key, max), this.key, `threshold ${max} bytes`);
    return { thresholdBytes: max };
  }
}

/**
 * Terminus's DiskHealthIndicator.checkStorage on the volume holding DATA_DIR (check-disk-space finds the
 * nearest existing parent before DATA_DIR exists) against HEALTH_DISK_THRESHOLD, a share of the volume.
 */
@Injectable()
export class DiskStorageHealthIndicator extends FeatureHealthIndicator {
  readonly key = 'disk';

  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    private readonly disk: DiskHealthIndicator,
  ) {
    super(indicators, config);
  }

  protected async check(): Promise<Record<string, unknown>> {
    const path = this.config.dataDir;
    const thresholdPercent = this.config.health.diskThreshold;
    const result = await this.disk.checkStorage(this.key, { path, thresholdPercent });
    throwIfDown(result, this.key, `threshold ${thresholdPercent * 100}% of the volume`);
    return { path, thresholdPercent };
  }
}

@Injectable()
export class EventLoopHealthIndicator extends FeatureHealthIndicator {
  readonly key = 'event_loop';

  constructor(
    indicators: HealthIndicatorService,
    config: AppConfig,
    private readonly system: SystemMetrics,
  ) {
    super(indicators, config);
  }

  protected async check(): Promise<Record<string, unknown>> {
    const lag = this.system.eventLoopLagMs();
    const max = this.config.health.eventLoopLagMaxMs;
    if (lag.p99 > max) throw new Error(`event-loop lag p99 ${lag.p99} ms exceeds ${max} ms`);
    return { lagMs: lag };
  }
}

/** The libraries' and the process's checks, in the order /health lists them (features come between). */
export const LIBRARY_HEALTH_INDICATORS = [DatabaseHealthIndicator, RedisHealthIndicator];
export const PROCESS_HEALTH_INDICATORS = [
  MemoryHeapHealthIndicator,
  DiskStorageHealthIndicator,
  EventLoopHealthIndicator,
];
