import { Injectable, Logger } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Histogram } from 'prom-client';
import { LogThrottle } from '@libs/observability';
import type { FairPool, RefusalReason } from '@libs/scheduling';
import { gaugeProvider, histogramProvider } from './metric-providers';

/** Every shared pool (README "Fair shares between tenants"): the `pool` label's values. */
export const POOL_NAMES = [
  'download',
  'pdf',
  'batch',
  'extraction',
  'database',
  'upload_memory',
  'answer',
] as const;
export type SharedPoolName = (typeof POOL_NAMES)[number];

/** A wait this long is logged with its tenant (the metrics never carry one). */
const SLOW_GRANT_MS = 1000;
const REFUSAL_LOG_INTERVAL_MS = 10_000;
/** At most one slow-grant line per pool per second (a saturated pool would otherwise log every grant). */
const SLOW_LOG_INTERVAL_MS = 1000;

/** Where each pool reports its grants (metrics) and its tenants' waits and refusals (logs). */
@Injectable()
export class PoolMetrics {
  private readonly logger = new Logger('Pools');
  private readonly readers = new Map<SharedPoolName, () => number>();
  private readonly refusalLogs = new Map<SharedPoolName, LogThrottle>();
  private readonly slowLogs = new Map<SharedPoolName, LogThrottle>();

  constructor(@InjectMetric('pool_wait_seconds') private readonly wait: Histogram<'pool'>) {
    // every pool's series exists from startup, so dashboards and rates see them before the first wait
    for (const pool of POOL_NAMES) this.wait.zero({ pool });
  }

  /** Publishes a FairPool: its grants and waits in pool_wait_seconds, its slots in pool_in_use. */
  register(name: SharedPoolName, pool: FairPool): void {
    this.readers.set(name, () => pool.stats().active);
    pool.observe({
      granted: (tenant, waitedMs) => {
        this.waited(name, waitedMs / 1000);
        if (waitedMs >= SLOW_GRANT_MS && this.throttle(this.slowLogs, name, SLOW_LOG_INTERVAL_MS).allow())
          this.logger.log(
            {
              pool: name,
              tenantId: tenant,
              waitedMs: Math.round(waitedMs),
              tenant: pool.tenantStats(tenant),
            },
            `Pool ${name}: tenant ${tenant || '(none)'} waited ${Math.round(waitedMs)} ms for a slot`,
          );
      },
      abandoned: (tenant, waitedMs, timedOut) => {
        this.waited(name, waitedMs / 1000);
        if (timedOut) this.refusal(name, pool, tenant, 'wait_timeout');
      },
      refused: (tenant, reason) => this.refusal(name, pool, tenant, reason),
    });
  }

  /** A pool that is not a FairPool (BullMQ's batch slots): how many of its slots this process uses. */
  registerInUse(name: SharedPoolName, read: () => number): void {
    this.readers.set(name, read);
  }

  /** One wait of `seconds` for a slot of `pool`. */
  waited(pool: SharedPoolName, seconds: number): void {
    this.wait.observe({ pool }, Math.max(0, seconds));
  }

  private throttle(
    map: Map<SharedPoolName, LogThrottle>,
    name: SharedPoolName,
    intervalMs: number,
  ): LogThrottle {
    let throttle = map.get(name);
    if (!throttle) map.set(name, (throttle = new LogThrottle(intervalMs)));
    return throttle;
  }

  /** Slots of `pool` in use in this process now. */
  inUse(pool: SharedPoolName): number {
    return this.readers.get(pool)?.() ?? 0;
  }

  private refusal(
    name: SharedPoolName,
    pool: FairPool,
    tenant: string,
    reason: RefusalReason | 'wait_timeout',
  ): void {
    if (this.throttle(this.refusalLogs, name, REFUSAL_LOG_INTERVAL_MS).allow())
      this.logger.warn(
        { pool: name, tenantId: tenant, reason, tenant: pool.tenantStats(tenant), stats: pool.stats() },
        `Pool ${name}: a request of tenant ${tenant || '(none)'} was refused (${reason})`,
      );
  }
}

/**
 * pool_wait_seconds{pool} and pool_in_use{pool} (observability.md), providers of the global
 * MetricsModule: how long requests waited for a slot of each shared pool and how many slots are in use,
 * never by tenant (tenants are unbounded). Per-tenant detail goes to the log.
 */
export const POOL_METRICS = [
  histogramProvider({
    name: 'pool_wait_seconds',
    help: 'Time a request waited for a slot of a shared pool (0 when granted at once), including waits that gave up',
    labelNames: ['pool'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  }),
  gaugeProvider({
    name: 'pool_in_use',
    help: 'Slots of a shared pool in use (download, pdf, batch, extraction, database)',
    labelNames: ['pool'],
    inject: [PoolMetrics],
    // read at scrape time; a pool not registered in this process (e.g. database on Postgres) reads 0
    collect(pools: PoolMetrics) {
      for (const pool of POOL_NAMES) this.set({ pool }, pools.inUse(pool));
    },
  }),
];
