import { Injectable, Logger } from '@nestjs/common';
import { redactUrl } from '@libs/observability';
import type { CacheStatus, Loaded } from '@libs/cache';
import { AppConfig } from '@app/config';
import { ExtractionBusyError, ExtractionError } from '@app/extraction/extraction.errors';
import { ExtractionService } from '@app/extraction/extraction.service';
import { LiveStatsRegistry } from '@app/metrics/live-stats.registry';
import { PoolMetrics } from '@app/metrics/pool-metrics';
import { ConcurrencyPool } from './concurrency-pool';
import { CachedDownload, DownloadCache } from './download-cache';
import { ArchiveRefusal } from '@app/extraction/zip-directory';
import {
  ArchiveRefusedError,
  CapacityExceededError,
  DownloaderError,
  ExtractionFailedError,
} from './downloader.errors';
import { DownloaderMetrics } from './downloader.metrics';
import { convert, DocumentKind, documentKind } from './extraction/extract';
import { FetchResponse, SafeFetcher } from './fetch/safe-fetcher';
import { acceptFor, DownloadFormat } from './formats';
import { PdfRenderer } from './pdf/pdf-renderer';
import { UrlPolicy } from './url-policy/url-policy';

export interface DownloadOptions {
  /** Overrides DOWNLOAD_TIMEOUT_MS (a batch's timeoutPerUrlMs). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Batch jobs: wait for a PDF slot, and queue HTML conversions past EXTRACTION_QUEUE_MAX, instead of
   * answering 503 CAPACITY_EXCEEDED (their own concurrency already bounds how many wait).
   */
  waitForPdfSlot?: boolean;
}

export interface DownloadOutcome {
  format: DownloadFormat;
  body: Buffer;
  contentType: string;
  finalUrl: string;
  originalContentType: string;
  /** Bytes of the origin's (decoded) content. */
  contentLength: number;
  statusCode: number;
  cache: CacheStatus;
}

/**
 * One URL in one format: URL policy → cache get-or-load (fresh → HIT; concurrent identical downloads
 * wait for one load; stale with validators → conditional request, 304 → HIT) → pinned, size-limited
 * fetch → conversion inside the download pool, all counted in the downloader metrics. On the download
 * route, no-cache and X-Cache are the CacheInterceptor's.
 */
@Injectable()
export class DownloadService {
  private readonly logger = new Logger(DownloadService.name);
  readonly pool: ConcurrencyPool;

  constructor(
    private readonly config: AppConfig,
    private readonly policy: UrlPolicy,
    private readonly fetcher: SafeFetcher,
    private readonly pdf: PdfRenderer,
    private readonly downloads: DownloadCache,
    private readonly metrics: DownloaderMetrics,
    private readonly extraction: ExtractionService,
    live: LiveStatsRegistry,
    pools: PoolMetrics,
  ) {
    this.pool = new ConcurrencyPool('download', config.downloader.concurrency, {
      tenantShare: config.pools.tenantShare,
      onChange: (a) => metrics.poolActive('download', a),
    });
    metrics.poolLimit('download', this.pool.limit);
    live.registerPool('download', () => this.pool.stats());
    pools.register('download', this.pool.fair);
  }

  /** Parses and statically checks a URL (400 INVALID_URL / 403 URL_BLOCKED) without any network. */
  precheck(raw: string): URL {
    const url = this.policy.parse(raw);
    this.policy.checkStatic(url);
    return url;
  }

  async download(
    tenantId: string,
    rawUrl: string,
    format: DownloadFormat,
    opts: DownloadOptions = {},
  ): Promise<DownloadOutcome> {
    const stop = this.metrics.responseTime.startTimer({ format });
    try {
      const outcome = await this.load(tenantId, rawUrl, format, opts);
      this.metrics.requests.inc({ format, status: 'success' });
      return outcome;
    } catch (err) {
      this.metrics.requests.inc({ format, status: 'error' });
      if (err instanceof DownloaderError) this.metrics.error(err.errorType);
      else if (!opts.signal?.aborted) {
        this.metrics.error('network');
        this.logger.error({ err }, `Download of ${redactUrl(rawUrl)} failed unexpectedly`);
      }
      throw err;
    } finally {
      stop();
    }
  }

  private async load(
    tenantId: string,
    rawUrl: string,
    format: DownloadFormat,
    opts: DownloadOptions,
  ): Promise<DownloadOutcome> {
    const url = this.precheck(rawUrl);
    const { value, status } = await this.downloads.cache.getOrLoad(
      tenantId,
      this.downloads.key(format, url.href),
      // only the origin work takes a download slot (the tenant's fair share): a cached answer never waits
      (stale) =>
        this.pool.run(tenantId, () => this.fetchAndConvert(tenantId, url, format, stale, opts), opts.signal),
    );
    // the loader never answers "not found": an origin 404 is an UPSTREAM_ERROR
    return fromCache(format, value!, status);
  }

  private async fetchAndConvert(
    tenantId: string,
    url: URL,
    format: DownloadFormat,
    stale: CachedDownload | undefined,
    opts: DownloadOptions,
  ): Promise<Loaded<CachedDownload>> {
    const timeoutMs = opts.timeoutMs ?? this.config.downloader.timeoutMs;
    if (format === 'pdf') {
      const rendered = await this.pdf.render(tenantId, url, {
        timeoutMs,
        maxBytes: this.config.downloader.maxBytes,
        wait: opts.waitForPdfSlot ?? false,
        signal: opts.signal,
      });
      const entry = this.entryFor(rendered.main, rendered.pdf, 'application/pdf');
      return this.downloads.entry(
        { ...entry, etag: undefined, lastModified: undefined },
        this.downloads.freshness(format, rendered.main.statusCode, rendered.main.headers),
      );
    }

    const conditional =
      stale && (stale.etag || stale.lastModified)
        ? { url: stale.finalUrl, etag: stale.etag, lastModified: stale.lastModified }
        : undefined;
    const res = await this.fetcher.fetch({
      url,
      tenant: tenantId,
      accept: acceptFor(format),
      timeoutMs,
      maxBytes: this.config.downloader.maxBytes,
      conditional,
      signal: opts.signal,
    });
    if (res.notModified && stale) {
      // 304: the copy is good again for the origin's (new) max-age
      const renewed: CachedDownload = {
        ...stale,
        etag: res.headers.etag ?? stale.etag,
        lastModified: res.headers['last-modified'] ?? stale.lastModified,
      };
      return this.downloads.entry(renewed, this.downloads.freshness(format, stale.statusCode, res.headers), {
        revalidated: true,
      });
    }
    const [body, contentType] = await this.render(format, res, opts.waitForPdfSlot ?? false);
    return this.downloads.entry(
      this.entryFor(res, body, contentType),
      this.downloads.freshness(format, res.statusCode, res.headers),
    );
  }

  private async render(format: DownloadFormat, res: FetchResponse, wait: boolean): Promise<[Buffer, string]> {
    // a PDF or docx is read by the parser children search uploads use (same limits, same 422 reasons)
    const document =
      format === 'text' || format === 'markdown' || format === 'json'
        ? await documentKind(res.body, res.contentType)
        : undefined;
    const documentText = document ? await this.documentText(document, res.body, format, wait) : undefined;
    switch (format) {
      case 'raw':
        return [res.body, res.contentType];
      case 'json': {
        const doc = {
          url: res.requestedUrl,
          finalUrl: res.finalUrl,
          statusCode: res.statusCode,
          contentType: res.contentType,
          bytes: res.body.length,
          redirects: res.redirects,
          etag: res.headers.etag ?? null,
          lastModified: res.headers['last-modified'] ?? null,
          fetchedAt: new Date().toISOString(),
          contentBase64: res.body.toString('base64'),
          ...(documentText !== undefined ? { text: documentText } : {}),
        };
        return [Buffer.from(JSON.stringify(doc)), 'application/json; charset=utf-8'];
      }
      case 'pdf':
        throw new Error('pdf is rendered, not converted');
      default: {
        if (documentText !== undefined)
          return [
            Buffer.from(documentText, 'utf8'),
            `text/${format === 'markdown' ? 'markdown' : 'plain'}; charset=utf-8`,
          ];
        const text = await convert(format, res.body, res.contentType, res.finalUrl, (html, url, f) =>
          this.article(html, url, f, wait),
        );
        const type = format === 'markdown' ? 'text/markdown' : format === 'html' ? 'text/html' : 'text/plain';
        return [Buffer.from(text, 'utf8'), `${type}; charset=utf-8`];
      }
    }
  }

  /** Readability + turndown in the extraction pool; its failures are this download's 422 / 503. */
  private async article(
    html: string,
    url: string,
    format: 'text' | 'markdown',
    wait: boolean,
  ): Promise<string> {
    try {
      return await this.extraction.articleText(html, url, format, { wait });
    } catch (err) {
      if (err instanceof ExtractionError)
        throw new ExtractionFailedError(err.message, { reason: err.reason, format });
      if (err instanceof ExtractionBusyError)
        throw new CapacityExceededError('extraction', err.queueMax, 'extraction');
      throw err;
    }
  }

  /** A PDF's or docx's text from the extraction pool; refusals are this download's 422 / 503. */
  private async documentText(
    kind: DocumentKind,
    body: Buffer,
    format: DownloadFormat,
    wait: boolean,
  ): Promise<string> {
    try {
      return (await this.extraction.documentText(kind, body, { wait })).trim();
    } catch (err) {
      if (err instanceof ArchiveRefusal)
        throw new ArchiveRefusedError(err.message, { reason: err.reason, ...err.details });
      if (err instanceof ExtractionError)
        throw new ExtractionFailedError(err.message, { reason: err.reason, format, document: kind });
      if (err instanceof ExtractionBusyError)
        throw new CapacityExceededError('extraction', err.queueMax, 'extraction');
      throw err;
    }
  }

  private entryFor(res: FetchResponse, body: Buffer, contentType: string): CachedDownload {
    return {
      body: body.toString('base64'),
      contentType,
      finalUrl: res.finalUrl,
      originalContentType: res.contentType,
      contentLength: res.body.length,
      statusCode: res.statusCode,
      etag: res.headers.etag,
      lastModified: res.headers['last-modified'],
    };
  }
}

function fromCache(format: DownloadFormat, entry: CachedDownload, cache: CacheStatus): DownloadOutcome {
  return {
    format,
    body: Buffer.from(entry.body, 'base64'),
    contentType: entry.contentType,
    finalUrl: entry.finalUrl,
    originalContentType: entry.originalContentType,
    contentLength: entry.contentLength,
    statusCode: entry.statusCode,
    cache,
  };
}
