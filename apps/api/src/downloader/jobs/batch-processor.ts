import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { runInBackground } from '@libs/observability';
import { AppError } from '@app/errors';
import { Crawler } from '../crawl/crawler';
import { DownloadOutcome, DownloadService } from '../download.service';
import { UpstreamError } from '../downloader.errors';
import type { DownloadFormat } from '../formats';
import { DownloaderMetrics } from '../downloader.metrics';
import { JOB_STORE } from '../downloader.tokens';
import { FINISHED, JobRecord, JobStatus, JobStore, UrlResult, WebhookEvent } from './job.types';
import { WebhookSender } from './webhook-sender';

/** How a run ended: finished (or found finished), or interrupted by shutdown and to be picked up again. */
export type RunOutcome = 'done' | 'interrupted';

const CANCEL_POLL_MS = 250;
/** A batch or crawl URL answered 429/503 with Retry-After this many times is given up (each time it waits). */
const HOST_BUSY_RETRIES = 3;

class JobCancelled extends Error {}

/**
 * Runs one batch job, whoever the runner is: fetches the URLs that have no result yet (a job picked
 * up again after its worker died skips the done ones), `concurrency` at a time, recording each result
 * idempotently by index so progress moves per URL; then finishes the job and sends its webhook.
 * Cancellation (DELETE, possibly on another replica) is noticed by polling the job's status.
 */
@Injectable()
export class BatchProcessor {
  private readonly logger = new Logger(BatchProcessor.name);
  private readonly running = new Map<string, AbortController>();

  constructor(
    @Inject(JOB_STORE) private readonly store: JobStore,
    private readonly downloads: DownloadService,
    private readonly webhooks: WebhookSender,
    private readonly metrics: DownloaderMetrics,
    private readonly crawler: Crawler,
  ) {}

  get activeCount(): number {
    return this.running.size;
  }

  /** Aborts a job running in this process (cancel); other replicas notice by polling. */
  abortLocal(jobId: string): void {
    this.running.get(jobId)?.abort(new JobCancelled());
  }

  /**
   * @param resumable whether an interrupted run goes back to a queue that another process picks up
   * (BullMQ) or ends with this process (in-process runner): the one log line of an interruption says so.
   */
  async process(jobId: string, shutdown: AbortSignal, resumable = true): Promise<RunOutcome> {
    // shutting down already: the job was handed back (or picked up in the last moment by a worker still
    // closing); hand it back again without starting or logging anything
    if (shutdown.aborted) return 'interrupted';
    const job = await this.store.get(jobId);
    if (!job) return 'done'; // expired or never stored
    return runInBackground('job', () => this.run(job, shutdown, resumable), {
      id: jobId,
      tenantId: job.tenantId,
    });
  }

  /** The runner gave up on a job (BullMQ attempts exhausted): mark it failed and tell the webhook. */
  async markFailed(jobId: string, reason: string): Promise<void> {
    const job = await this.store.get(jobId);
    if (!job) return;
    await runInBackground(
      'job',
      async () => {
        this.logger.error(`Batch job failed: ${reason}`);
        if (await this.finish(job, 'failed')) await this.sendWebhook((await this.store.get(jobId)) ?? job);
      },
      { id: jobId, tenantId: job.tenantId },
    );
  }

  private async run(job: JobRecord, shutdown: AbortSignal, resumable: boolean): Promise<RunOutcome> {
    if (FINISHED.includes(job.status)) {
      // finished earlier (cancelled while queued, or died before its webhook went out)
      if (job.webhookPending) await this.sendWebhook(job, shutdown);
      return 'done';
    }
    const startedAt = job.startedAt ?? Date.now();
    if (!(await this.store.transition(job.jobId, ['queued', 'running'], 'running', { startedAt })))
      return this.rerun(job.jobId, shutdown);
    if (job.status === 'queued')
      this.logger.log(
        job.spec.crawl
          ? `Crawl job started: at most ${job.spec.crawl.maxPages} page(s), concurrency ${job.spec.concurrency}`
          : `Batch job started: ${job.totalUrls} URL(s), concurrency ${job.spec.concurrency}`,
      );
    else this.logger.warn('Batch job picked up again after an interrupted run; finished URLs are skipped');

    const controller = new AbortController();
    this.running.set(job.jobId, controller);
    this.metrics.poolActive('batch', this.running.size);
    const signal = AbortSignal.any([controller.signal, shutdown]);
    const poll = setInterval(() => {
      this.store.get(job.jobId).then(
        (j) => {
          if (!j || j.status === 'cancelled') controller.abort(new JobCancelled());
        },
        () => undefined, // store unreachable: keep going, the next poll asks again
      );
    }, CANCEL_POLL_MS);
    poll.unref();
    const onHostWait = this.waitingCounter(job.jobId);
    try {
      if (job.spec.crawl)
        await this.crawler.run(job, signal, (url, format, fetched) =>
          this.fetchOne(job, url, format, signal, onHostWait, fetched),
        );
      const done = await this.store.doneIndices(job.jobId);
      const todo = job.spec.urls.map((_, i) => i).filter((i) => !done.has(i));
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < todo.length && !signal.aborted) {
          const index = todo[next++];
          const { url, format } = job.spec.urls[index];
          const result = await this.fetchOne(job, url, format, signal, onHostWait);
          if (result) await this.store.record(job.jobId, index, result);
        }
      };
      await Promise.all(Array.from({ length: Math.min(job.spec.concurrency, todo.length) }, worker));
    } finally {
      clearInterval(poll);
      this.running.delete(job.jobId);
      this.metrics.poolActive('batch', this.running.size);
    }
    if (shutdown.aborted) {
      const done = (await this.store.get(job.jobId).catch(() => undefined)) ?? job;
      this.logger.warn(
        `Batch job interrupted by shutdown after ${done.succeeded + done.failed}/${done.totalUrls} URL(s); ` +
          (resumable
            ? 'it goes back to the queue and another worker resumes it (finished URLs are kept)'
            : 'in-process jobs do not survive a restart'),
      );
      return 'interrupted';
    }
    const latest = (await this.store.get(job.jobId)) ?? job;
    if (latest.status === 'cancelled') {
      this.logger.log('Batch job cancelled');
      if (latest.webhookPending) await this.sendWebhook(latest, shutdown);
      return 'done';
    }
    const status: JobStatus = latest.succeeded === 0 && latest.totalUrls > 0 ? 'failed' : 'completed';
    if (await this.finish(latest, status)) {
      this.logger.log(`Batch job ${status}: ${latest.succeeded} succeeded, ${latest.failed} failed`);
      const finished = await this.store.get(job.jobId);
      if (finished?.webhookPending) await this.sendWebhook(finished, shutdown);
    }
    return 'done';
  }

  /** Someone else moved the job on between our read and our transition: handle what it is now. */
  private async rerun(jobId: string, shutdown: AbortSignal): Promise<RunOutcome> {
    const now = await this.store.get(jobId);
    if (now && FINISHED.includes(now.status) && now.webhookPending) await this.sendWebhook(now, shutdown);
    return 'done';
  }

  /**
   * How many of a job's URLs wait for their host right now, written to the store as it changes (in order) so
   * the job's status shows it on every replica.
   */
  waitingCounter(jobId: string): (waiting: boolean) => void {
    let waiting = 0;
    let writes = Promise.resolve();
    return (w) => {
      waiting += w ? 1 : -1;
      const n = waiting;
      writes = writes.then(() => this.store.progress(jobId, { waitingUrls: n })).catch(() => undefined); // the store is unreachable: the next change says it again
    };
  }

  /**
   * One URL of a job as its UrlResult (undefined when the job was cancelled or is shutting down). A host
   * answering 429/503 with Retry-After beyond the URL's time limit is waited for and asked again: the host's
   * backoff holds the URL (and every other request to the host) until then.
   */
  async fetchOne(
    job: JobRecord,
    url: string,
    format: DownloadFormat,
    signal: AbortSignal,
    onHostWait?: (waiting: boolean) => void,
    fetched?: (out: DownloadOutcome) => Promise<DownloadOutcome>,
  ): Promise<UrlResult | undefined> {
    const started = Date.now();
    for (let busy = 0; ; busy++) {
      try {
        let out = await this.downloads.download(job.tenantId, url, format, {
          timeoutMs: job.spec.timeoutPerUrlMs,
          signal,
          read: job.spec.read,
          waitForPdfSlot: true,
          waitForHost: true,
          onHostWait,
        });
        if (fetched) out = await fetched(out);
        return resultOf(url, out, Date.now() - started);
      } catch (err) {
        if (signal.aborted) return undefined; // cancelled or shutting down: not a result of this URL
        if (
          busy < HOST_BUSY_RETRIES &&
          err instanceof UpstreamError &&
          typeof err.details?.retryAfterMs === 'number'
        )
          continue;
        const known = err instanceof AppError;
        if (!known) this.logger.error({ err }, `Unexpected error for a URL of the job`);
        return {
          url,
          success: false,
          format,
          durationMs: Date.now() - started,
          error: known
            ? { code: err.code, message: err.message }
            : { code: 'INTERNAL_ERROR', message: 'Unexpected error' },
          ...(known && typeof err.details?.upstreamStatus === 'number'
            ? { statusCode: err.details.upstreamStatus }
            : {}),
        };
      }
    }
  }

  private async finish(job: JobRecord, status: JobStatus): Promise<boolean> {
    const moved = await this.store.transition(job.jobId, ['queued', 'running'], status, {
      finishedAt: Date.now(),
      webhookPending: Boolean(job.spec.webhookUrl),
      webhookDeliveryId: job.spec.webhookUrl ? randomUUID() : undefined,
    });
    if (moved) this.metrics.batchJobs.inc({ status });
    return moved;
  }

  private async sendWebhook(job: JobRecord, shutdown?: AbortSignal): Promise<void> {
    if (!job.spec.webhookUrl || !job.webhookPending) return;
    const event: WebhookEvent = `${job.spec.crawl ? 'crawl' : 'batch'}.${job.status as 'completed' | 'failed' | 'cancelled'}`;
    await this.webhooks.deliver(
      job.spec.webhookUrl,
      job.webhookDeliveryId ?? randomUUID(),
      { event, jobId: job.jobId, status: job.status, summary: summaryOf(job) },
      shutdown,
      (attempt) => this.store.recordWebhookAttempt(job.jobId, attempt),
    );
    // interrupted by shutdown: left pending for whoever picks the job up next
    if (!shutdown?.aborted) await this.store.setWebhookDone(job.jobId);
  }
}

function resultOf(url: string, out: DownloadOutcome, durationMs: number): UrlResult {
  const format = out.format;
  const binary = format === 'pdf' || format === 'raw';
  const content = binary
    ? undefined
    : format === 'json'
      ? (JSON.parse(out.body.toString('utf8')) as unknown)
      : out.body.toString('utf8');
  return {
    url,
    success: true,
    format,
    ...(binary ? { contentBase64: out.body.toString('base64') } : { content }),
    bytes: out.body.length,
    contentType: out.contentType,
    statusCode: out.statusCode,
    finalUrl: out.finalUrl,
    durationMs,
  };
}

export function summaryOf(job: JobRecord): {
  total: number;
  succeeded: number;
  failed: number;
  durationMs: number;
} {
  const durationMs = job.startedAt ? (job.finishedAt ?? Date.now()) - job.startedAt : 0;
  return { total: job.totalUrls, succeeded: job.succeeded, failed: job.failed, durationMs };
}
