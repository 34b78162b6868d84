import { Injectable } from '@nestjs/common';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsRegistry } from '@app/metrics/metrics.registry';
import type { DownloadErrorType } from './downloader.errors';

export type PoolName = 'download' | 'pdf' | 'batch';
export type QueueCounts = { waiting: number; active: number; delayed: number };

/** The downloader metrics of observability.md, created once at the seam. */
@Injectable()
export class DownloaderMetrics {
  readonly requests: Counter<'format' | 'status'>;
  readonly responseTime: Histogram<'format'>;
  readonly errors: Counter<'error_type'>;
  readonly bytes: Counter<string>;
  readonly concurrencyActive: Gauge<'pool'>;
  readonly concurrencyLimit: Gauge<'pool'>;
  readonly batchJobs: Counter<'status'>;
  readonly webhookDeliveries: Counter<'result'>;
  readonly webhookDuration: Histogram<string>;
  private queueCounts: () => Promise<QueueCounts> = async () => ({ waiting: 0, active: 0, delayed: 0 });

  constructor(metrics: MetricsRegistry) {
    this.requests = metrics.counter({
      name: 'downloader_requests_total',
      help: 'Downloads (single and batch URLs) by format and outcome (success|error)',
      labelNames: ['format', 'status'],
    });
    this.responseTime = metrics.histogram({
      name: 'downloader_response_time_seconds',
      help: 'Time to fetch and convert one URL, by format',
      labelNames: ['format'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    });
    this.errors = metrics.counter({
      name: 'downloader_errors_total',
      help: 'Failed downloads by kind: blocked, timeout, too_large, http_error, network, extraction, pdf',
      labelNames: ['error_type'],
    });
    this.bytes = metrics.counter({
      name: 'downloader_bytes_total',
      help: 'Decoded bytes received from origins',
    });
    this.concurrencyActive = metrics.gauge({
      name: 'downloader_concurrency_active',
      help: 'Slots in use per pool (download, pdf, batch)',
      labelNames: ['pool'],
    });
    this.concurrencyLimit = metrics.gauge({
      name: 'downloader_concurrency_limit',
      help: 'Slots per pool (download, pdf, batch)',
      labelNames: ['pool'],
    });
    this.batchJobs = metrics.counter({
      name: 'batch_jobs_total',
      help: 'Batch jobs by status: queued on submit, then completed|failed|cancelled',
      labelNames: ['status'],
    });
    const readCounts = (): Promise<QueueCounts> => this.queueCounts();
    metrics.gauge({
      name: 'batch_jobs_in_queue',
      help: 'Batch jobs in the queue by state (waiting, active, delayed)',
      labelNames: ['state'],
      // read at scrape time from the queue (BullMQ counts are shared by every replica)
      async collect() {
        try {
          const counts = await readCounts();
          for (const state of ['waiting', 'active', 'delayed'] as const) this.set({ state }, counts[state]);
        } catch {
          // Redis unreachable: keep the last values rather than failing the scrape
        }
      },
    });
    this.webhookDeliveries = metrics.counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook delivery attempts by result: success, retry, failure (gave up)',
      labelNames: ['result'],
    });
    this.webhookDuration = metrics.histogram({
      name: 'webhook_delivery_duration_seconds',
      help: 'Time of one webhook delivery attempt',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    for (const result of ['success', 'retry', 'failure']) this.webhookDeliveries.inc({ result }, 0);
  }

  setQueueCounts(read: () => Promise<QueueCounts>): void {
    this.queueCounts = read;
  }

  poolLimit(pool: PoolName, limit: number): void {
    this.concurrencyLimit.set({ pool }, limit);
    this.concurrencyActive.set({ pool }, 0);
  }

  poolActive(pool: PoolName, active: number): void {
    this.concurrencyActive.set({ pool }, active);
  }

  error(type: DownloadErrorType | undefined): void {
    if (type) this.errors.inc({ error_type: type });
  }
}
