import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { counterProvider, gaugeProvider, histogramProvider } from '@app/metrics';
import type { DownloadErrorType } from './downloader.errors';
import { JOB_RUNNER } from './downloader.tokens';
import type { JobRunner } from './jobs/job-runner';

export type PoolName = 'download' | 'pdf' | 'batch';

/** The downloader metrics of observability.md, declared as providers of DownloaderModule. */
export const DOWNLOADER_METRICS = [
  counterProvider({
    name: 'downloader_requests_total',
    help: 'Downloads (single and batch URLs) by format and outcome (success|error)',
    labelNames: ['format', 'status'],
  }),
  histogramProvider({
    name: 'downloader_response_time_seconds',
    help: 'Time to fetch and convert one URL, by format',
    labelNames: ['format'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  }),
  counterProvider({
    name: 'downloader_errors_total',
    help: 'Failed downloads by kind: blocked, timeout, too_large, http_error, network, extraction, pdf',
    labelNames: ['error_type'],
  }),
  counterProvider({ name: 'downloader_bytes_total', help: 'Decoded bytes received from origins' }),
  gaugeProvider({
    name: 'downloader_concurrency_active',
    help: 'Slots in use per pool (download, pdf, batch)',
    labelNames: ['pool'],
  }),
  gaugeProvider({
    name: 'downloader_concurrency_limit',
    help: 'Slots per pool (download, pdf, batch)',
    labelNames: ['pool'],
  }),
  counterProvider({
    name: 'batch_jobs_total',
    help: 'Batch jobs by status: queued on submit, then completed|failed|cancelled',
    labelNames: ['status'],
  }),
  gaugeProvider({
    name: 'batch_jobs_in_queue',
    help: 'Batch jobs in the queue by state (waiting, active, delayed)',
    labelNames: ['state'],
    inject: [JOB_RUNNER],
    // read at scrape time from the queue (BullMQ counts are shared by every replica)
    async collect(runner: JobRunner) {
      try {
        const counts = await runner.counts();
        for (const state of ['waiting', 'active', 'delayed'] as const) this.set({ state }, counts[state]);
      } catch {
        // Redis unreachable: keep the last values rather than failing the scrape
      }
    },
  }),
  counterProvider({
    name: 'webhook_deliveries_total',
    help: 'Webhook delivery attempts by result: success, retry, failure (gave up)',
    labelNames: ['result'],
    zeroes: { result: ['success', 'retry', 'failure'] },
  }),
  counterProvider({
    name: 'download_host_waits_total',
    help: 'Requests that waited for their host (per-host concurrency, Crawl-delay or Retry-After)',
  }),
  counterProvider({
    name: 'download_robots_total',
    help: 'robots.txt checks by result: allowed, disallowed, unavailable (robots.txt unreadable, URL let through)',
    labelNames: ['result'],
    zeroes: { result: ['allowed', 'disallowed', 'unavailable'] },
  }),
  counterProvider({
    name: 'crawl_pages_total',
    help: 'Crawl pages by outcome: success, error (robots.txt-disallowed pages are skipped, not counted)',
    labelNames: ['status'],
    zeroes: { status: ['success', 'error'] },
  }),
  histogramProvider({
    name: 'webhook_delivery_duration_seconds',
    help: 'Time of one webhook delivery attempt',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
];

/** The downloader's metrics in one injectable, for the seams that record them. */
@Injectable()
export class DownloaderMetrics {
  constructor(
    @InjectMetric('downloader_requests_total') readonly requests: Counter<'format' | 'status'>,
    @InjectMetric('downloader_response_time_seconds') readonly responseTime: Histogram<'format'>,
    @InjectMetric('downloader_errors_total') readonly errors: Counter<'error_type'>,
    @InjectMetric('downloader_bytes_total') readonly bytes: Counter,
    @InjectMetric('downloader_concurrency_active') readonly concurrencyActive: Gauge<'pool'>,
    @InjectMetric('downloader_concurrency_limit') readonly concurrencyLimit: Gauge<'pool'>,
    @InjectMetric('batch_jobs_total') readonly batchJobs: Counter<'status'>,
    @InjectMetric('webhook_deliveries_total') readonly webhookDeliveries: Counter<'result'>,
    @InjectMetric('webhook_delivery_duration_seconds') readonly webhookDuration: Histogram,
    @InjectMetric('download_host_waits_total') readonly hostWaits: Counter,
    @InjectMetric('download_robots_total') readonly robots: Counter<'result'>,
    @InjectMetric('crawl_pages_total') readonly crawlPages: Counter<'status'>,
  ) {}

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
