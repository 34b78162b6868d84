import { Injectable, Logger } from '@nestjs/common';
import { redactUrl } from '@libs/observability';
import type { CacheStatus, Loaded } from '@libs/cache';
import { AppConfig } from '@app/config';
import { ArchiveRefusal, ExtractionBusyError, ExtractionError, ExtractionService } from '@app/extraction';
import { LiveStatsRegistry } from '@app/metrics';
import { PoolMetrics } from '@app/metrics';
import { ConcurrencyPool } from './concurrency-pool';
import { CachedDownload, DownloadCache, RenderState } from './download-cache';
import {
  ArchiveRefusedError,
  CapacityExceededError,
  DownloaderError,
  ExtractionFailedError,
  PdfUnavailableError,
  RenderUnavailableError,
  UpstreamTimeoutError,
} from './downloader.errors';
import { DownloaderMetrics } from './downloader.metrics';
import {
  convert,
  decodeText,
  DocumentKind,
  documentKind,
  isHtml,
  looksLikeAppShell,
} from './extraction/extract';
import { articleText } from './extraction/page-extraction';
import { FetchResponse, SafeFetcher } from './fetch/safe-fetcher';
import { acceptFor, DownloadFormat, ReadOptions, readVariant } from './formats';
import { PdfRenderer } from './pdf/pdf-renderer';
import type { HostPermit } from './politeness/host-gate';
import { Politeness } from './politeness/politeness.service';
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
  /**
   * Batch and crawl items: wait for the host's turn (per-host politeness) as long as it takes; a single
   * download waits at most its timeout (then 504 UPSTREAM_TIMEOUT).
   */
  waitForHost?: boolean;
  /** Told when this download starts (true) and stops (false) waiting for its host (a job's waitingUrls). */
  onHostWait?: (waiting: boolean) => void;
  /** How a page is read (render, waitFor, waitMs, include, exclude, mainContent, frontMatter). */
  read?: ReadOptions;
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
  /** HTML read for text, markdown, html or json: rendered in Chromium, as served, or as served for want of one. */
  render?: RenderState;
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
    private readonly politeness: Politeness,
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
    // a PDF without a browser is refused before anything reaches the origin (robots.txt included)
    if (format === 'pdf' && !this.pdf.available()) throw new PdfUnavailableError();
    // robots.txt before the cache: a URL its site disallows is 403 even when a copy is cached
    const verdict = await this.politeness.check(url, opts.signal);
    const { value, status } = await this.downloads.cache.getOrLoad(
      tenantId,
      this.downloads.key(format, url.href, readVariant(format, opts.read)),
      // the host's turn first, then a download slot (the tenant's fair share): waiting for a busy host holds
      // no slot other tenants need, and a cached answer waits for neither
      async (stale) => {
        const permit = await this.hostTurn(tenantId, url, verdict, opts);
        try {
          return await this.pool.run(
            tenantId,
            () => this.fetchAndConvert(tenantId, url, format, stale, opts, permit),
            opts.signal,
          );
        } finally {
          permit.release();
        }
      },
    );
    // the loader never answers "not found": an origin 404 is an UPSTREAM_ERROR
    return fromCache(format, value!, status);
  }

  private async hostTurn(
    tenantId: string,
    url: URL,
    verdict: Awaited<ReturnType<Politeness['check']>>,
    opts: DownloadOptions,
  ): Promise<HostPermit> {
    const timeoutMs = opts.timeoutMs ?? this.config.downloader.timeoutMs;
    const limit = opts.waitForHost ? undefined : AbortSignal.timeout(timeoutMs);
    const signal = limit && opts.signal ? AbortSignal.any([limit, opts.signal]) : (limit ?? opts.signal);
    try {
      return await this.politeness.turn(url, verdict, {
        tenant: tenantId,
        signal,
        timeoutMs,
        onWait: opts.onHostWait,
      });
    } catch (err) {
      if (limit?.aborted && !opts.signal?.aborted) throw new UpstreamTimeoutError(timeoutMs, 'host');
      throw err;
    }
  }

  private async fetchAndConvert(
    tenantId: string,
    url: URL,
    format: DownloadFormat,
    stale: CachedDownload | undefined,
    opts: DownloadOptions,
    permit: HostPermit,
  ): Promise<Loaded<CachedDownload>> {
    const timeoutMs = opts.timeoutMs ?? this.config.downloader.timeoutMs;
    const startedAt = Date.now();
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
      // the first hop has its turn already; each redirect hop asks robots.txt and its host again
      gate: (hop, n) =>
        n === 0
          ? Promise.resolve(permit)
          : this.politeness.enter(hop, { tenant: tenantId, signal: opts.signal, timeoutMs }),
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
    const read = opts.read ?? {};
    // what is left of the download's deadline is the render's
    const { page, state } = await this.renderPage(tenantId, format, res, read, {
      ...opts,
      timeoutMs: Math.max(1, timeoutMs - (Date.now() - startedAt)),
    });
    const [body, contentType] = await this.render(format, res, opts.waitForPdfSlot ?? false, read, page);
    const freshness = this.downloads.freshness(format, res.statusCode, res.headers);
    return this.downloads.entry(
      { ...this.entryFor(res, body, contentType), render: state },
      // read without the browser it wanted: not kept, so the page is rendered once one is there
      state === 'unavailable' ? { store: false, freshMs: 0 } : freshness,
    );
  }

  /**
   * A raw download (a crawl page, whose bytes it also reads for links) in another format, converted here
   * as a fresh download would be: one origin fetch serves both. The read options apply as to a single
   * download: render=always (or auto on an app shell) loads the fetched page in Chromium — its subresources
   * through the URL policy, the PDF pool waited for — and the rendered DOM is converted and returned as
   * `page` (so the crawl reads its links from what the script built).
   */
  async convertRaw(
    tenantId: string,
    raw: DownloadOutcome,
    format: DownloadFormat,
    requestedUrl: string,
    opts: DownloadOptions = {},
  ): Promise<{ out: DownloadOutcome; page?: Buffer }> {
    const res: FetchResponse = {
      requestedUrl,
      finalUrl: raw.finalUrl,
      statusCode: raw.statusCode,
      headers: {},
      contentType: raw.originalContentType,
      body: raw.body,
      redirects: 0,
      notModified: false,
    };
    const read = opts.read ?? {};
    const { page, state } = await this.renderPage(tenantId, format, res, read, {
      ...opts,
      waitForPdfSlot: true,
      timeoutMs: opts.timeoutMs ?? this.config.downloader.timeoutMs,
    });
    const [body, contentType] = await this.render(format, res, true, read, page);
    return { out: { ...raw, format, body, contentType, render: state }, page };
  }

  /**
   * render=always, or auto on an app shell: the page in Chromium (the PDF renderer's host, pool, URL policy
   * on its every request and limits), its rendered DOM read instead of the served HTML. Without a browser,
   * always is 503 RENDER_UNAVAILABLE and auto reads the served HTML (`unavailable`).
   */
  private async renderPage(
    tenantId: string,
    format: DownloadFormat,
    res: FetchResponse,
    read: ReadOptions,
    opts: DownloadOptions & { timeoutMs: number },
  ): Promise<{ page?: Buffer; state?: RenderState }> {
    if (format === 'pdf' || format === 'raw' || !isHtml(res.contentType)) return {};
    const mode = read.render ?? 'auto';
    if (mode === 'never' || (mode === 'auto' && !looksLikeAppShell(res.body, res.contentType)))
      return { state: 'static' };
    if (!this.pdf.available()) {
      if (mode === 'always') throw new RenderUnavailableError();
      return { state: 'unavailable' };
    }
    try {
      const rendered = await this.pdf.renderPage(tenantId, res, {
        timeoutMs: opts.timeoutMs,
        maxBytes: this.config.downloader.maxBytes,
        wait: opts.waitForPdfSlot ?? false,
        signal: opts.signal,
        waitFor: read.waitFor,
        waitMs: read.waitMs,
      });
      return { page: Buffer.from(rendered.html, 'utf8'), state: 'rendered' };
    } catch (err) {
      // auto: a browser that cannot start is the same as none
      if (mode === 'auto' && err instanceof RenderUnavailableError) return { state: 'unavailable' };
      throw err;
    }
  }

  private async render(
    format: DownloadFormat,
    res: FetchResponse,
    wait: boolean,
    read: ReadOptions,
    /** The rendered DOM (UTF-8) when the page was rendered: read instead of the served body. */
    page?: Buffer,
  ): Promise<[Buffer, string]> {
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
        const json = JSON.stringify(doc);
        if (!isHtml(res.contentType)) return [Buffer.from(json), 'application/json; charset=utf-8'];
        // a page's reading (title, text, metadata, links, images) is made in the extraction pool as JSON
        // text: joined here as text, never parsed on the event loop
        const reading = await this.article(
          page ? page.toString('utf8') : decodeText(res.body, res.contentType),
          res.finalUrl,
          'json',
          wait,
          read,
        );
        return [Buffer.from(`${json.slice(0, -1)},${reading.slice(1)}`), 'application/json; charset=utf-8'];
      }
      case 'pdf':
        throw new Error('pdf is rendered, not converted');
      default: {
        if (documentText !== undefined)
          return [
            Buffer.from(documentText, 'utf8'),
            `text/${format === 'markdown' ? 'markdown' : 'plain'}; charset=utf-8`,
          ];
        const text = await convert(
          format,
          page ?? res.body,
          page ? 'text/html; charset=utf-8' : res.contentType,
          res.finalUrl,
          (html, url, f) => this.article(html, url, f, wait, read),
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
    format: 'text' | 'markdown' | 'json',
    wait: boolean,
    read: ReadOptions,
  ): Promise<string> {
    const { include, exclude, mainContent, frontMatter } = read;
    try {
      return await articleText(this.extraction, html, url, format, {
        wait,
        page: { include, exclude, mainContent, frontMatter },
      });
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
    render: entry.render,
  };
}
