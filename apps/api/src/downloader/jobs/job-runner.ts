/** Jobs per queue state (batch_jobs_in_queue). */
export type QueueCounts = { waiting: number; active: number; delayed: number };

/** The job runner port (token JOB_RUNNER): BullMQ workers on Redis, or the in-process runner. */
export interface JobRunner {
  readonly kind: 'bullmq' | 'in-process';
  /** Queues a job of `tenantId`: tenants share the batch slots fairly (README "Fair shares between tenants"). */
  enqueue(jobId: string, tenantId: string): Promise<void>;
  /** Queue depth for batch_jobs_in_queue (shared by every replica with BullMQ). */
  counts(): Promise<QueueCounts>;
}
