import { AppError, capacityExceeded } from '@app/errors';

/** The bounded `error_type` label of downloader_errors_total (observability.md). */
export type DownloadErrorType =
  'blocked' | 'timeout' | 'too_large' | 'http_error' | 'network' | 'extraction' | 'pdf';

/** A downloader error that says which error_type it counts as (none for client input errors). */
export abstract class DownloaderError extends AppError {
  abstract readonly errorType: DownloadErrorType | undefined;
}

export class InvalidUrlError extends DownloaderError {
  readonly errorType = undefined;
  constructor(message = 'The URL is not a valid absolute http(s) URL', details?: Record<string, unknown>) {
    super(400, 'INVALID_URL', message, details);
  }
}

/** Why the URL policy refused a URL; safe to show (never the resolved address of an internal name). */
export type BlockReason = 'scheme' | 'credentials' | 'address' | 'hostname' | 'too_many_redirects';

export class UrlBlockedError extends DownloaderError {
  override readonly fault = 'target';
  readonly errorType = 'blocked' as const;
  constructor(
    readonly reason: BlockReason,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(403, 'URL_BLOCKED', message, { reason, ...details });
  }
}

export class ContentTooLargeError extends DownloaderError {
  override readonly fault = 'target';
  readonly errorType = 'too_large' as const;
  constructor(limit: number) {
    super(413, 'CONTENT_TOO_LARGE', `The content is larger than the limit of ${limit} bytes`, { limit });
  }
}

/** The caller's URL failed: its origin answered 4xx/5xx, or could not be reached or read. */
export class UpstreamError extends DownloaderError {
  override readonly fault = 'target';
  readonly errorType: 'http_error' | 'network';
  constructor(
    message: string,
    /** retryAfterMs: the origin's Retry-After on a 429/503 (batch and crawl items wait for it and try again). */
    details: { upstreamStatus?: number; reason?: string; retryAfterMs?: number } = {},
  ) {
    super(502, 'UPSTREAM_ERROR', message, details);
    this.errorType = details.upstreamStatus !== undefined ? 'http_error' : 'network';
  }
}

export class UpstreamTimeoutError extends DownloaderError {
  override readonly fault = 'target';
  readonly errorType = 'timeout' as const;
  constructor(timeoutMs: number, phase: 'connect' | 'total' | 'host' = 'total') {
    super(
      504,
      'UPSTREAM_TIMEOUT',
      phase === 'connect'
        ? `Could not connect to the origin within ${timeoutMs} ms`
        : phase === 'host'
          ? `The origin's host stayed busy (per-host politeness) for ${timeoutMs} ms`
          : `The download did not finish within ${timeoutMs} ms`,
      { timeoutMs, phase },
    );
  }
}

/** robots.txt of the URL's host disallows it for Atrium's User-Agent (DOWNLOAD_ROBOTS=obey). */
export class RobotsDisallowedError extends DownloaderError {
  override readonly fault = 'target';
  readonly errorType = 'blocked' as const;
  constructor(userAgent: string, robotsUrl: string) {
    super(403, 'ROBOTS_DISALLOWED', `The site's robots.txt does not allow ${userAgent} to fetch this URL`, {
      userAgent,
      robotsUrl,
    });
  }
}

/** The content could not be turned into the requested format (e.g. a binary file asked for as text). */
export class ExtractionFailedError extends DownloaderError {
  override readonly fault = 'target';
  readonly errorType = 'extraction' as const;
  constructor(message: string, details?: Record<string, unknown>) {
    super(422, 'EXTRACTION_FAILED', message, details);
  }
}

/**
 * A document at the URL (a docx) whose zip passes EXTRACTION_ZIP_MAX_ENTRIES / _MAX_BYTES / _MAX_RATIO:
 * refused as a search upload would be, with the same reason and limit in `details`.
 */
export class ArchiveRefusedError extends DownloaderError {
  override readonly fault = 'target';
  readonly errorType = 'extraction' as const;
  constructor(message: string, details: Record<string, unknown>) {
    super(422, 'ARCHIVE_REFUSED', message, details);
  }
}

export class PdfUnavailableError extends DownloaderError {
  readonly errorType = 'pdf' as const;
  constructor(message = 'PDF rendering is not available: no Chromium browser is installed') {
    super(503, 'PDF_UNAVAILABLE', message);
  }
}

/** render=always without a browser (or one that cannot start): the page cannot be rendered here. */
export class RenderUnavailableError extends DownloaderError {
  readonly errorType = 'pdf' as const;
  constructor(message = 'Page rendering is not available: no Chromium browser is installed') {
    super(503, 'RENDER_UNAVAILABLE', message);
  }
}

export class CapacityExceededError extends DownloaderError {
  constructor(
    pool: string,
    limit: number,
    readonly errorType: 'pdf' | 'extraction' = 'pdf',
    /** The caller's tenant already holds its share of the pool (POOL_TENANT_SHARE), others may not. */
    perTenant = false,
  ) {
    super(
      ...capacityExceeded({
        pool,
        message: perTenant
          ? `This tenant already uses its ${limit} ${pool} slot${limit === 1 ? '' : 's'}, try again shortly`
          : `All ${limit} ${pool} slots are busy, try again shortly`,
        retryAfterSeconds: 1,
        limit,
        details: perTenant ? { scope: 'tenant' } : undefined,
      }),
    );
  }
}

/**
 * Rendering failed for a reason other than the page's own fetch errors (browser crash, print error):
 * Atrium's renderer failed, so the fault is `atrium` although the code is UPSTREAM_ERROR.
 */
export class PdfRenderError extends DownloaderError {
  override readonly fault = 'atrium';
  readonly errorType = 'pdf' as const;
  constructor(message = 'The page could not be rendered as PDF') {
    super(502, 'UPSTREAM_ERROR', message, { reason: 'pdf_render' });
  }
}

/** Rendering a page in Chromium failed for a reason other than its own fetch errors (as PdfRenderError). */
export class PageRenderError extends DownloaderError {
  override readonly fault = 'atrium';
  readonly errorType = 'pdf' as const;
  constructor(message = 'The page could not be rendered') {
    super(502, 'UPSTREAM_ERROR', message, { reason: 'render' });
  }
}

export class JobNotFoundError extends AppError {
  constructor(jobId: string) {
    super(404, 'JOB_NOT_FOUND', `No job ${jobId}`);
  }
}

export class JobNotFinishedError extends AppError {
  constructor(jobId: string, status: string) {
    super(409, 'JOB_NOT_FINISHED', `Job ${jobId} is ${status}; results are available once it has finished`, {
      status,
    });
  }
}

export class JobNotCancellableError extends AppError {
  constructor(jobId: string, status: string) {
    super(409, 'JOB_NOT_CANCELLABLE', `Job ${jobId} is already ${status}`, { status });
  }
}

/** The job store or queue (Redis) cannot take the job right now. */
export class JobQueueUnavailableError extends AppError {
  override readonly fault = 'dependency';
  constructor() {
    super(
      503,
      'JOB_QUEUE_UNAVAILABLE',
      'Batch jobs cannot be accepted right now, try again shortly',
      undefined,
      {
        'Retry-After': '5',
      },
    );
  }
}
