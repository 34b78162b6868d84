import type { DownloadFormat, ReadOptions } from '../formats';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const FINISHED: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];
export type WebhookEvent = `${'batch' | 'crawl'}.${'completed' | 'failed' | 'cancelled'}`;

/** A crawl (POST /api/v1/crawl): the pages of one site, found from its links and sitemaps. */
export interface CrawlSpec {
  url: string;
  format: 'text' | 'markdown' | 'html' | 'json' | 'raw';
  maxPages: number;
  maxDepth: number;
  /** Path globs (picomatch): a page is crawled when it matches one of include (if any) and none of exclude. */
  include: string[];
  exclude: string[];
  sitemap: boolean;
}

export interface JobSpec {
  /** A batch's URLs (empty for a crawl, whose pages are found as it runs). */
  urls: Array<{ url: string; format: DownloadFormat }>;
  /** Present on a crawl job. */
  crawl?: CrawlSpec;
  concurrency: number;
  timeoutPerUrlMs?: number;
  /** How each page is read (the request's `read` object; absent: the single download's defaults). */
  read?: ReadOptions;
  webhookUrl?: string;
}

export interface JobRecord {
  jobId: string;
  tenantId: string;
  status: JobStatus;
  totalUrls: number;
  succeeded: number;
  failed: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  expiresAt: number;
  spec: JobSpec;
  /** Set when the job finishes with a webhook to send; cleared once delivered or given up. */
  webhookPending: boolean;
  /** One id per event, kept across retries so receivers can deduplicate. */
  webhookDeliveryId?: string;
  /** What happened to the webhook so far (jobs with a webhookUrl), shown in the job's status. */
  webhook?: WebhookDelivery;
  /** URLs waiting for their host right now (per-host politeness), as the worker running the job last said. */
  waitingUrls?: number;
}

/**
 * A job's webhook as its status shows it: `pending` until the receiver answered 2xx (`delivered`) or the
 * sender gave up (`failed`: a 4xx/3xx, or WEBHOOK_MAX_ATTEMPTS used up); attempts count across workers.
 */
export interface WebhookDelivery {
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** The receiver's status code of the last attempt (absent when it never answered). */
  lastStatusCode?: number;
  /** Why the last attempt failed when there was no answer (timeout, refused, blocked by the URL policy). */
  lastError?: string;
}

/** One delivery attempt as the sender reports it; `final` once delivered or given up. */
export interface WebhookAttempt {
  statusCode?: number;
  error?: string;
  final?: 'delivered' | 'failed';
}

export interface UrlResult {
  url: string;
  success: boolean;
  format: DownloadFormat;
  content?: unknown;
  contentBase64?: string;
  bytes?: number;
  contentType?: string;
  statusCode?: number;
  finalUrl?: string;
  durationMs: number;
  error?: { code: string; message: string };
}

/** Fields a status transition may set besides the status. */
export interface TransitionFields {
  startedAt?: number;
  finishedAt?: number;
  webhookPending?: boolean;
  webhookDeliveryId?: string;
}

/**
 * The job store port. Per-URL results are recorded idempotently by index: recording an index twice
 * (a job picked up again after its worker died) keeps the first and counts it once.
 */
export interface JobStore {
  readonly kind: 'redis' | 'memory';
  create(job: JobRecord): Promise<void>;
  get(jobId: string): Promise<JobRecord | undefined>;
  /** Moves to `to` only from one of `from`; false when the job is elsewhere (or gone). */
  transition(
    jobId: string,
    from: readonly JobStatus[],
    to: JobStatus,
    fields?: TransitionFields,
  ): Promise<boolean>;
  setWebhookDone(jobId: string): Promise<void>;
  /** Counts one webhook attempt (or a final state without one) and keeps its outcome. */
  recordWebhookAttempt(jobId: string, attempt: WebhookAttempt & { counted: boolean }): Promise<void>;
  /** true when this call stored the result (first time for that index). */
  record(jobId: string, index: number, result: UrlResult): Promise<boolean>;
  /** Progress the worker reports besides results: URLs waiting for their host, a crawl's pages found so far. */
  progress(jobId: string, fields: { waitingUrls?: number; totalUrls?: number }): Promise<void>;
  doneIndices(jobId: string): Promise<Set<number>>;
  results(jobId: string): Promise<UrlResult[]>;
  close(): Promise<void>;
}

export function progressOf(job: Pick<JobRecord, 'totalUrls' | 'succeeded' | 'failed'>): number {
  if (job.totalUrls === 0) return 100;
  return Math.floor(((job.succeeded + job.failed) / job.totalUrls) * 100);
}
