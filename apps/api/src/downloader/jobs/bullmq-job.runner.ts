import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { DelayedError, Queue, WaitingError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { ConnectionMonitor, connectionFailureReason, LogThrottle, redisAddress } from '@libs/observability';
import { FairPool, PoolRefusedError, tenantShare } from '@libs/scheduling';
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
/** A job whose tenant already runs its share of this replica's slots is looked at again after this (± jitter). */
export const OVER_SHARE_DELAY_MS = 1_000;
/** BullMQ's largest priority. */
const MAX_PRIORITY = 2 ** 21 - 1;

// The tenant's pending jobs (queued or running, on any replica) as a sorted set by enqueue time: drops
// entries older than the job TTL (a job that ended without being taken off, e.g. its replica died for
// good), adds this one, answers how many are pending — the job's rank among its tenant's.
const ENQUEUED = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[3])
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('ZCARD', KEYS[1])`;

/** What a BullMQ job carries: our job id and its tenant (absent on jobs queued before tenants were). */
type BatchJobData = { jobId: string; tenantId?: string };

export interface BullmqJobRunnerOptions {
  /** POOL_TENANT_SHARE: the share of this replica's slots one tenant's jobs may hold (default 1). */
  tenantShare?: number;
  /** JOB_TTL_MS: how long a pending job counts towards its tenant's rank at most. */
  jobTtlMs?: number;
  /** A job started after waiting this long in the queue (pool_wait_seconds{pool="batch"}). */
  onStart?: (waitedMs: number) => void;
  prefix?: string;
  /** Told of every connection's loss and return (one warning per outage); a private one when absent. */
  monitor?: ConnectionMonitor;
}

/**
 * Batch jobs on BullMQ: durable in Redis, each job locked by exactly one worker across replicas,
 * picked up again after the process running it dies. The BullMQ job carries our job id and its tenant;
 * the job's state and results live in the JobStore.
 *
 * Fair shares (BullMQ's groups are BullMQ Pro only; these use its documented open-source features):
 * - **Turns**: a job is added with BullMQ's `priority` = its rank among its tenant's pending jobs (1 for a
 *   tenant's first, 5 for its fifth…, counted in Redis across replicas), and workers take the lowest
 *   priority first (FIFO within one). A tenant's one job therefore goes before another tenant's second
 *   and later ones, however many that one queued first — round robin by rank.
 * - **A cap per replica**: a worker starts a job only while its tenant runs fewer than POOL_TENANT_SHARE of
 *   this replica's BATCH_WORKER_CONCURRENCY slots (a local FairPool); otherwise the job goes back to the
 *   queue, delayed by about OVER_SHARE_DELAY_MS (`moveToDelayed` + DelayedError: no attempt used), and a
 *   slot stays free for other tenants on every replica. A tenant holds at most share × slots × replicas.
 */
export class BullmqJobRunner implements JobRunner, BeforeApplicationShutdown {
  readonly kind = 'bullmq' as const;
  private readonly logger = new Logger(BullmqJobRunner.name);
  private readonly queue: Queue;
  private readonly worker: Worker<BatchJobData>;
  private readonly connections: Redis[] = [];
  private readonly queueConnection: Redis;
  private readonly shutdown = new AbortController();
  private readonly monitor: ConnectionMonitor;
  private readonly fairness: Redis;
  private readonly prefix: string;
  private readonly jobTtlMs: number;
  /** This replica's slots, with the per-tenant cap (only tryAcquire: the queue itself is BullMQ's). */
  readonly slots: FairPool;
  private readonly overShareLogs = new LogThrottle(10_000);

  constructor(
    redisUrl: string,
    private readonly processor: BatchProcessor,
    concurrency: number,
    private readonly opts: BullmqJobRunnerOptions = {},
  ) {
    const prefix = (this.prefix = opts.prefix ?? 'atrium:bull');
    this.jobTtlMs = opts.jobTtlMs ?? 24 * 3600 * 1000;
    this.monitor =
      opts.monitor ??
      new ConnectionMonitor({
        dependency: 'Redis',
        address: redisAddress(redisUrl),
        impact: 'batch jobs cannot be queued',
      });
    this.slots = new FairPool({
      name: 'batch',
      limit: concurrency,
      tenantLimit: tenantShare(concurrency, opts.tenantShare ?? 1),
    });
    this.fairness = this.connection(redisUrl, 1, 'job fairness counters');
    this.queueConnection = this.connection(redisUrl, 1, 'job queue');
    this.queue = new Queue(BATCH_QUEUE, { connection: this.queueConnection, prefix });
    this.queue.on('error', (err) => this.warn(`Batch queue: ${err.message}`, err));
    this.worker = new Worker<BatchJobData>(BATCH_QUEUE, (job, token) => this.handle(job, token), {
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
      if (err instanceof DelayedError || err.name === 'DelayedError') return;
      if (job.attemptsMade >= (job.opts.attempts ?? 1)) {
        void this.processor
          .markFailed(String(job.id), err.message)
          .catch((e: Error) => this.logger.error(`Could not mark job ${job.id} failed: ${e.message}`));
        void this.settled(job);
      }
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

  private pendingKey(tenantId: string): string {
    return `${this.prefix}:fair:${tenantId}:pending`;
  }

  async enqueue(jobId: string, tenantId: string): Promise<void> {
    const rank = Number(
      await this.fairness.eval(ENQUEUED, 1, this.pendingKey(tenantId), Date.now(), jobId, this.jobTtlMs),
    );
    await this.queue.add(
      'batch',
      { jobId, tenantId },
      {
        jobId, // adding the same id twice is a no-op
        // its rank among the tenant's pending jobs: tenants take turns (see the class comment)
        priority: Math.min(Math.max(1, rank), MAX_PRIORITY),
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

  private async handle(job: Job<BatchJobData>, token?: string): Promise<void> {
    // jobs queued before tenants were recorded share one key
    const tenantId = job.data.tenantId ?? '';
    let release: () => void;
    try {
      release = this.slots.tryAcquire(tenantId);
    } catch (err) {
      if (!(err instanceof PoolRefusedError)) throw err;
      // its tenant runs its share of this replica's slots: back to the queue, looked at again shortly
      if (this.overShareLogs.allow())
        this.logger.log(
          { tenantId, running: this.slots.tenantStats(tenantId).active, limit: this.slots.tenantLimit },
          `Batch job ${job.id} waits: tenant ${tenantId || '(none)'} runs its share of this replica's batch slots`,
        );
      await job.moveToDelayed(Date.now() + OVER_SHARE_DELAY_MS * (0.5 + Math.random()), token);
      throw new DelayedError();
    }
    this.opts.onStart?.(Date.now() - job.timestamp);
    let outcome: Awaited<ReturnType<BatchProcessor['process']>>;
    try {
      outcome = await this.processor.process(String(job.id), this.shutdown.signal);
    } finally {
      release();
    }
    if (outcome === 'interrupted') {
      // graceful shutdown: hand the job straight back to the queue (no attempt used, no lock wait)
      await job.moveToWait(token);
      throw new WaitingError();
    }
    await this.settled(job);
  }

  /** The job is finished for good: it no longer counts towards its tenant's rank. */
  private async settled(job: Job<BatchJobData>): Promise<void> {
    await this.fairness.zrem(this.pendingKey(job.data.tenantId ?? ''), String(job.id)).catch(() => undefined); // Redis unreachable: the entry ages out after JOB_TTL_MS
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
