import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { Queue, WaitingError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { ConnectionMonitor, connectionFailureReason, LogThrottle, redisAddress } from '@libs/observability';
import type { BatchProcessor } from './batch-processor';
import type { JobRunner, QueueCounts } from './job-runner';

export const BATCH_QUEUE = 'downloader-batch';
/**
 * A dead worker's lock expires after LOCK_MS; the stalled check (every STALLED_CHECK_MS, on every
 * replica) then moves its job back to the queue, where any replica picks it up again.
 */
export const LOCK_MS = 10_000;
export const STALLED_CHECK_MS = 5_000;
const ATTEMPTS = 3;
const CLOSE_TIMEOUT_MS = 3_000;

/**
 * Batch jobs on BullMQ: durable in Redis, each job locked by exactly one worker across replicas,
 * picked up again after the process running it dies. The BullMQ job carries only our job id; the
 * job's state and results live in the JobStore.
 */
export class BullmqJobRunner implements JobRunner, BeforeApplicationShutdown {
  readonly kind = 'bullmq' as const;
  private readonly logger = new Logger(BullmqJobRunner.name);
  private readonly queue: Queue;
  private readonly worker: Worker;
  private readonly connections: Redis[] = [];
  private readonly queueConnection: Redis;
  private readonly shutdown = new AbortController();
  private readonly monitor: ConnectionMonitor;

  constructor(
    redisUrl: string,
    private readonly processor: BatchProcessor,
    concurrency: number,
    monitor?: ConnectionMonitor,
    prefix = 'atrium:bull',
  ) {
    this.monitor =
      monitor ??
      new ConnectionMonitor({
        dependency: 'Redis',
        address: redisAddress(redisUrl),
        impact: 'batch jobs cannot be queued',
      });
    this.queueConnection = this.connection(redisUrl, 1, 'job queue');
    this.queue = new Queue(BATCH_QUEUE, { connection: this.queueConnection, prefix });
    this.queue.on('error', (err) => this.warn(`Batch queue: ${err.message}`, err));
    this.worker = new Worker(BATCH_QUEUE, (job: Job, token?: string) => this.handle(job, token), {
      // BullMQ workers block on Redis: they need their own connection with unlimited retries
      connection: this.connection(redisUrl, null, 'job worker'),
      prefix,
      concurrency,
      lockDuration: LOCK_MS,
      stalledInterval: STALLED_CHECK_MS,
      maxStalledCount: 5,
    });
    this.worker.on('error', (err) => this.warn(`Batch worker: ${err.message}`, err));
    this.worker.on('failed', (job, err) => {
      if (!job || err instanceof WaitingError || err.name === 'WaitingError') return;
      if (job.attemptsMade >= (job.opts.attempts ?? 1))
        void this.processor
          .markFailed(String(job.id), err.message)
          .catch((e: Error) => this.logger.error(`Could not mark job ${job.id} failed: ${e.message}`));
    });
  }

  /**
   * BullMQ repeats its connections' errors (and its own blocking connection's) on the queue and the worker:
   * while Redis is down the monitor has said so once, so those are dropped; anything else is logged, at most
   * once a minute.
   */
  private readonly warnings = new LogThrottle(60_000);
  private warn(message: string, err: unknown): void {
    if (this.monitor.state === 'down' || isConnectionError(err)) return;
    if (this.warnings.allow()) this.logger.warn(message);
  }

  private connection(url: string, maxRetriesPerRequest: number | null, name: string): Redis {
    const c = this.monitor.watch(name, new Redis(url, { maxRetriesPerRequest, lazyConnect: false }));
    this.connections.push(c);
    return c;
  }

  async enqueue(jobId: string): Promise<void> {
    await this.queue.add(
      'batch',
      { jobId },
      {
        jobId, // adding the same id twice is a no-op
        attempts: ATTEMPTS,
        backoff: { type: 'exponential', delay: 2_000 },
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 24 * 3600 },
      },
    );
  }

  async counts(): Promise<QueueCounts> {
    // without a connection the command would wait for the reconnects: say at once what is wrong
    if (this.queueConnection.status !== 'ready')
      throw new Error(`redis: ${this.monitor.reason ?? `not connected (${this.queueConnection.status})`}`);
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
    };
  }

  private async handle(job: Job, token?: string): Promise<void> {
    const outcome = await this.processor.process(String(job.id), this.shutdown.signal);
    if (outcome === 'interrupted') {
      // graceful shutdown: hand the job straight back to the queue (no attempt used, no lock wait)
      await job.moveToWait(token);
      throw new WaitingError();
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.shutdown.abort(); // running jobs stop and go back to the queue
    let timer: NodeJS.Timeout | undefined;
    // with Redis unreachable BullMQ's close never settles: shutdown must not hang on it (stalled jobs are
    // picked up by another replica anyway)
    const reachable = this.connections.every((c) => c.status === 'ready');
    if (reachable)
      await Promise.race([
        Promise.allSettled([this.worker.close(), this.queue.close()]),
        new Promise((r) => (timer = setTimeout(r, CLOSE_TIMEOUT_MS))),
      ]);
    else {
      // still ask them to close (it stops their reconnect loops), without waiting
      this.worker.close(true).catch(() => undefined);
      this.queue.close().catch(() => undefined);
    }
    clearTimeout(timer);
    for (const c of this.connections) c.disconnect();
  }
}

/** An error about the connection itself (reported by the ConnectionMonitor), not about a job. */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^E(CONN|HOST|NET|AI_|TIMEDOUT|NOTFOUND|PIPE)/.test(code)) return true;
  return connectionFailureReason(err).startsWith('connection ');
}
