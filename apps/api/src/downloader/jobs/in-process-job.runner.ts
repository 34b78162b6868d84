import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import type { BatchProcessor } from './batch-processor';
import type { JobRunner, QueueCounts } from './job-runner';

/**
 * Runs batch jobs in this process when no Redis is configured: a FIFO queue and up to
 * BATCH_WORKER_CONCURRENCY jobs at once. Jobs do not survive a restart (use Redis for that).
 */
export class InProcessJobRunner implements JobRunner, BeforeApplicationShutdown {
  readonly kind = 'in-process' as const;
  private readonly logger = new Logger(InProcessJobRunner.name);
  private readonly queue: string[] = [];
  private readonly active = new Set<string>();
  private readonly shutdown = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly processor: BatchProcessor,
    private readonly concurrency: number,
  ) {}

  async enqueue(jobId: string): Promise<void> {
    this.queue.push(jobId);
    this.pump();
  }

  async counts(): Promise<QueueCounts> {
    return { waiting: this.queue.length, active: this.active.size, delayed: 0 };
  }

  private pump(): void {
    while (!this.shutdown.signal.aborted && this.active.size < this.concurrency && this.queue.length) {
      const jobId = this.queue.shift()!;
      this.active.add(jobId);
      const run = this.processor
        .process(jobId, this.shutdown.signal, false)
        .then(
          () => undefined,
          (err: unknown) => this.logger.error({ err }, `Batch job ${jobId} crashed`),
        )
        .finally(() => {
          this.active.delete(jobId);
          this.inFlight.delete(run);
          this.pump();
        });
      this.inFlight.add(run);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.shutdown.abort();
    await Promise.allSettled([...this.inFlight]);
  }
}
