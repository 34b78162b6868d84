import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '@app/config';
import { API_V1 } from '@app/routes';
import { ValidationFailedError } from '@app/validation';
import {
  DownloaderError,
  InvalidUrlError,
  JobNotCancellableError,
  JobNotFinishedError,
  JobNotFoundError,
  JobQueueUnavailableError,
} from '../downloader.errors';
import { DownloaderMetrics } from '../downloader.metrics';
import type { ReadOptions } from '../formats';
import { JOB_RUNNER, JOB_STORE } from '../downloader.tokens';
import { BatchRequestDto } from '../dto/batch.dto';
import { CrawlRequestDto } from '../dto/crawl.dto';
import { UrlPolicy } from '../url-policy/url-policy';
import { BatchProcessor, summaryOf } from './batch-processor';
import type { JobRunner } from './job-runner';
import { FINISHED, JobRecord, JobStore, progressOf, UrlResult } from './job.types';

export interface SubmittedJob {
  jobId: string;
  status: 'queued';
  totalUrls: number;
  statusUrl: string;
}

const DEFAULT_JOB_CONCURRENCY = 5;
const DEFAULT_CRAWL_CONCURRENCY = 4;
const DEFAULT_CRAWL_PAGES = 50;
const DEFAULT_CRAWL_DEPTH = 3;
const iso = (t: number | undefined): string | null => (t ? new Date(t).toISOString() : null);

/** Submit, read, cancel batch jobs — always within one tenant (another tenant's job is a 404). */
@Injectable()
export class JobsService {
  private readonly logger = new Logger(JobsService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly policy: UrlPolicy,
    @Inject(JOB_STORE) private readonly store: JobStore,
    @Inject(JOB_RUNNER) private readonly runner: JobRunner,
    private readonly processor: BatchProcessor,
    private readonly metrics: DownloaderMetrics,
  ) {}

  async submit(tenantId: string, dto: BatchRequestDto): Promise<SubmittedJob> {
    const max = this.config.downloader.batchMaxUrls;
    if (dto.urls.length > max)
      throw new ValidationFailedError({ urls: [`urls must contain at most ${max} elements`] });
    dto.urls.forEach((u, index) => {
      try {
        this.policy.parse(u.url);
      } catch (err) {
        if (err instanceof InvalidUrlError)
          throw new InvalidUrlError(`urls[${index}] is not a valid URL`, { index });
        throw err;
      }
    });
    if (dto.webhookUrl !== undefined) await this.checkWebhook(dto.webhookUrl);

    const now = Date.now();
    const defaultFormat = dto.defaultFormat ?? 'text';
    const job: JobRecord = {
      jobId: randomUUID(),
      tenantId,
      status: 'queued',
      totalUrls: dto.urls.length,
      succeeded: 0,
      failed: 0,
      createdAt: now,
      expiresAt: now + this.config.downloader.jobTtlMs,
      spec: {
        urls: dto.urls.map((u) => ({ url: u.url, format: u.format ?? defaultFormat })),
        concurrency: dto.concurrency ?? DEFAULT_JOB_CONCURRENCY,
        timeoutPerUrlMs: dto.timeoutPerUrlMs,
        read: readOptions(dto.read),
        webhookUrl: dto.webhookUrl,
      },
      webhookPending: false,
    };
    return this.enqueue(job);
  }

  /** A crawl: the batch job's lifecycle, routes and webhook, with pages found as it runs. */
  async submitCrawl(tenantId: string, dto: CrawlRequestDto): Promise<SubmittedJob> {
    const max = this.config.downloader.crawlMaxPages;
    if (dto.maxPages !== undefined && dto.maxPages > max)
      throw new ValidationFailedError({
        maxPages: [`maxPages must not be greater than ${max} (CRAWL_MAX_PAGES)`],
      });
    const start = this.policy.parse(dto.url);
    this.policy.checkStatic(start);
    for (const field of ['include', 'exclude'] as const)
      (dto[field] ?? []).forEach((p, i) => {
        if (!p.startsWith('/') && !p.startsWith('*'))
          throw new ValidationFailedError({
            [`${field}[${i}]`]: [`${field} patterns are paths: start with "/" or "*"`],
          });
      });
    if (dto.webhookUrl !== undefined) await this.checkWebhook(dto.webhookUrl);
    const now = Date.now();
    return this.enqueue({
      jobId: randomUUID(),
      tenantId,
      status: 'queued',
      totalUrls: 1, // grows as pages are found (at most maxPages)
      succeeded: 0,
      failed: 0,
      createdAt: now,
      expiresAt: now + this.config.downloader.jobTtlMs,
      spec: {
        urls: [],
        crawl: {
          url: start.href,
          format: dto.format ?? 'markdown',
          maxPages: dto.maxPages ?? Math.min(DEFAULT_CRAWL_PAGES, max),
          maxDepth: dto.maxDepth ?? DEFAULT_CRAWL_DEPTH,
          include: dto.include ?? [],
          exclude: dto.exclude ?? [],
          sitemap: dto.sitemap ?? true,
        },
        concurrency: dto.concurrency ?? DEFAULT_CRAWL_CONCURRENCY,
        timeoutPerUrlMs: dto.timeoutPerUrlMs,
        read: readOptions(dto.read),
        webhookUrl: dto.webhookUrl,
      },
      webhookPending: false,
    });
  }

  private async enqueue(job: JobRecord): Promise<SubmittedJob> {
    const kind = job.spec.crawl ? 'Crawl' : 'Batch';
    try {
      await this.store.create(job);
      await this.runner.enqueue(job.jobId, job.tenantId);
    } catch (err) {
      this.logger.error({ err }, `Could not store or enqueue a ${kind.toLowerCase()} job`);
      throw new JobQueueUnavailableError();
    }
    this.metrics.batchJobs.inc({ status: 'queued' });
    this.logger.log(
      `${kind} job ${job.jobId} queued: ${job.spec.crawl ? 'crawl' : `${job.totalUrls} URL(s)`}`,
    );
    return {
      jobId: job.jobId,
      status: 'queued',
      totalUrls: job.totalUrls,
      statusUrl: `/${API_V1}/jobs/${job.jobId}`,
    };
  }

  async status(tenantId: string, jobId: string): Promise<Record<string, unknown>> {
    const job = await this.find(tenantId, jobId);
    return {
      jobId: job.jobId,
      kind: job.spec.crawl ? 'crawl' : 'batch',
      status: job.status,
      progress: progressOf(job),
      totalUrls: job.totalUrls,
      processedUrls: job.succeeded + job.failed,
      // URLs waiting for their host (per-host politeness: concurrency, Crawl-delay, Retry-After)
      waitingUrls: FINISHED.includes(job.status) ? 0 : (job.waitingUrls ?? 0),
      succeeded: job.succeeded,
      failed: job.failed,
      createdAt: iso(job.createdAt),
      startedAt: iso(job.startedAt),
      finishedAt: iso(job.finishedAt),
      expiresAt: iso(job.expiresAt),
      // null without a webhookUrl; pending (0 attempts) until the job has ended and the sender tried
      webhook: job.spec.webhookUrl ? (job.webhook ?? { status: 'pending', attempts: 0 }) : null,
    };
  }

  async results(
    tenantId: string,
    jobId: string,
  ): Promise<{ jobId: string; status: string; summary: ReturnType<typeof summaryOf>; results: UrlResult[] }> {
    const job = await this.find(tenantId, jobId);
    if (!FINISHED.includes(job.status)) throw new JobNotFinishedError(jobId, job.status);
    return { jobId, status: job.status, summary: summaryOf(job), results: await this.store.results(jobId) };
  }

  async cancel(tenantId: string, jobId: string): Promise<{ jobId: string; status: 'cancelled' }> {
    const job = await this.find(tenantId, jobId);
    const moved = await this.store.transition(jobId, ['queued', 'running'], 'cancelled', {
      finishedAt: Date.now(),
      webhookPending: Boolean(job.spec.webhookUrl),
      webhookDeliveryId: job.spec.webhookUrl ? randomUUID() : undefined,
    });
    if (!moved) {
      const now = await this.store.get(jobId);
      throw new JobNotCancellableError(jobId, now?.status ?? job.status);
    }
    this.metrics.batchJobs.inc({ status: 'cancelled' });
    this.processor.abortLocal(jobId);
    // a queued job still passes through a worker, which sends its batch.cancelled webhook
    this.logger.log(`Batch job ${jobId} cancelled`);
    return { jobId, status: 'cancelled' };
  }

  private async find(tenantId: string, jobId: string): Promise<JobRecord> {
    let job: JobRecord | undefined;
    try {
      job = /^[0-9a-f-]{36}$/i.test(jobId) ? await this.store.get(jobId) : undefined;
    } catch (err) {
      this.logger.error({ err }, 'Could not read a batch job');
      throw new JobQueueUnavailableError();
    }
    if (!job || job.tenantId !== tenantId) throw new JobNotFoundError(jobId);
    return job;
  }

  /** The webhook URL must pass the whole policy now (and again at each delivery). */
  private async checkWebhook(raw: string): Promise<void> {
    if (!this.config.downloader.webhookSecret)
      throw new ValidationFailedError({
        webhookUrl: ['webhooks need WEBHOOK_SECRET to be set on the server'],
      });
    const url = this.policy.parse(raw);
    try {
      await this.policy.resolve(url, AbortSignal.timeout(this.config.downloader.connectTimeoutMs));
    } catch (err) {
      if (err instanceof DownloaderError && (err.status === 400 || err.status === 403)) throw err;
      throw new InvalidUrlError('The webhook host could not be resolved', { field: 'webhookUrl' });
    }
  }
}

/** The read options a job keeps (plain data, for the job store): only those given. */
function readOptions(dto: ReadOptions | undefined): ReadOptions | undefined {
  if (!dto) return undefined;
  const out: ReadOptions = {};
  for (const [k, v] of Object.entries(dto) as Array<[keyof ReadOptions, unknown]>)
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return Object.keys(out).length ? out : undefined;
}
