import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { FairPool, tenantShare } from '@libs/scheduling';
import type { BatchProcessor } from './batch-processor';
import type { JobRunner, QueueCounts } from './job-runner';

/**
 * Runs batch jobs in this process when no Redis is configured: up to BATCH_WORKER_CONCURRENCY jobs at
 * once, the slots shared fairly between tenants (a FairPool: a tenant runs at most its POOL_TENANT_SHARE
 * of them, and waiting tenants take turns). Jobs do not survive a restart (use Redis for that).
 */
export class InProcessJobRunner implements JobRunner, BeforeApplicationShutdown {
  readonly kind = 'in-process' as const;
  private readonly logger = new Logger(InProcessJobRunner.name);
  readonly slots: FairPool;
  private readonly shutdown = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly processor: BatchProcessor,
    concurrency: number,
    share = 1,
  ) {
    this.slots = new FairPool({
      name: 'batch',
      limit: concurrency,
      tenantLimit: tenantShare(concurrency, share),
    });
  }

  async enqueue(jobId: string, tenantId: string): Promise<void> {
    const run = this.slots
      .acquire(tenantId, { signal: this.shutdown.signal })
      .then(
        async (release) => {
          try {
            await this.processor.process(jobId, this.shutdown.signal, false);
          } catch (err) {
            this.logger.error({ err }, `Batch job ${jobId} crashed`);
          } finally {
            release();
          }
        },
        () => undefined, // shutting down while it waited: in-process jobs end with the process
      )
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
  }

  async counts(): Promise<QueueCounts> {
    const s = this.slots.stats();
    return { waiting: s.queued, active: s.active, delayed: 0 };
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.shutdown.abort();
    await Promise.allSettled([...this.inFlight]);
  }
}
