import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, Route } from 'playwright-core';
import { AppConfig } from '@app/config';
import { LiveStatsRegistry } from '@app/metrics/live-stats.registry';
import { PoolMetrics } from '@app/metrics/pool-metrics';
import { ConcurrencyPool } from '../concurrency-pool';
import {
  DownloaderError,
  PdfRenderError,
  PdfUnavailableError,
  UpstreamTimeoutError,
  UrlBlockedError,
} from '../downloader.errors';
import { DownloaderMetrics } from '../downloader.metrics';
import { isHtml, mediaType, withCharset } from '../extraction/extract';
import { FetchResponse, SafeFetcher } from '../fetch/safe-fetcher';
import { UrlPolicy } from '../url-policy/url-policy';

const DEFAULT_CHROMIUM = '/usr/bin/chromium';
/** A page may not make more requests than this; the rest are aborted. */
const MAX_PAGE_REQUESTS = 300;

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
  // Defence in depth: every request is answered by our route handler through the URL policy, so the
  // browser itself never needs DNS or a socket. Should anything slip past interception (prefetch,
  // a new API), it meets a resolver that knows no names and a proxy that does not exist.
  '--host-resolver-rules=MAP * ~NOTFOUND',
  '--proxy-server=http://127.0.0.1:9',
  '--proxy-bypass-list=<-loopback>',
];

export interface RenderedPdf {
  pdf: Buffer;
  main: FetchResponse;
  /** Sub-resource URLs the policy refused (for logs and tests). */
  blocked: string[];
}

/**
 * Renders pages as PDF with playwright-core driving the system Chromium, in a bounded pool. The page's
 * every request (document, frames, images, scripts, XHR) is answered by our route handler, which
 * fetches it through the SafeFetcher — URL policy, pinned DNS, size limits — or aborts it; WebSockets
 * and service workers are refused outright.
 */
@Injectable()
export class PdfRenderer implements OnApplicationShutdown {
  private readonly logger = new Logger(PdfRenderer.name);
  readonly pool: ConcurrencyPool;
  private browser?: Promise<Browser>;
  private closing = false;
  private idleTimer?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    private readonly fetcher: SafeFetcher,
    private readonly policy: UrlPolicy,
    metrics: DownloaderMetrics,
    live: LiveStatsRegistry,
    pools: PoolMetrics,
  ) {
    this.pool = new ConcurrencyPool('pdf', config.downloader.pdfConcurrency, {
      tenantShare: config.pools.tenantShare,
      onChange: (a) => metrics.poolActive('pdf', a),
    });
    metrics.poolLimit('pdf', this.pool.limit);
    live.registerPool('pdf', () => this.pool.stats());
    pools.register('pdf', this.pool.fair);
  }

  /** Where the browser binary is looked for: CHROMIUM_PATH, else /usr/bin/chromium. */
  expectedPath(): string {
    return this.config.downloader.chromiumPath ?? DEFAULT_CHROMIUM;
  }

  /** The browser binary, or undefined when none is installed (a configured path must exist). */
  executablePath(): string | undefined {
    const path = this.expectedPath();
    return existsSync(path) ? path : undefined;
  }

  available(): boolean {
    return this.executablePath() !== undefined;
  }

  /**
   * @param tenant whose share of the pool the render takes (POOL_TENANT_SHARE)
   * @param opts.wait true: wait for a slot, in turn with other tenants (batch jobs); false: 503
   * CAPACITY_EXCEEDED when none is free for this tenant now.
   */
  async render(
    tenant: string,
    url: URL,
    opts: { timeoutMs: number; maxBytes: number; wait: boolean; signal?: AbortSignal },
  ): Promise<RenderedPdf> {
    if (!this.available()) throw new PdfUnavailableError();
    const release = opts.wait ? await this.pool.acquire(tenant, opts.signal) : this.pool.tryAcquire(tenant);
    const deadlineAt = Date.now() + opts.timeoutMs;
    const remaining = (): number => Math.max(1, deadlineAt - Date.now());
    let context: BrowserContext | undefined;
    try {
      const main = await this.fetcher.fetch({
        url,
        accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.5',
        timeoutMs: opts.timeoutMs,
        maxBytes: opts.maxBytes,
        signal: opts.signal,
      });
      // the origin already serves a PDF: nothing to render
      if (mediaType(main.contentType) === 'application/pdf') return { pdf: main.body, main, blocked: [] };

      const browser = await this.launch();
      context = await browser.newContext({
        serviceWorkers: 'block',
        acceptDownloads: false,
        userAgent: this.config.downloader.userAgent,
      });
      const blocked: string[] = [];
      let requests = 0;
      let mainServed = false;
      await context.routeWebSocket(/.*/, (ws) => ws.close({ code: 1008, reason: 'blocked by policy' }));
      await context.route('**/*', async (route: Route) => {
        const request = route.request();
        const target = request.url();
        try {
          if (!mainServed && target === main.finalUrl && request.isNavigationRequest()) {
            mainServed = true;
            return await route.fulfill({
              status: 200,
              // the charset the other formats decode with (UTF-8 when the page declares none)
              contentType: withCharset(main.body, main.contentType),
              body: main.body,
            });
          }
          if (++requests > MAX_PAGE_REQUESTS || !['GET', 'HEAD'].includes(request.method())) {
            blocked.push(target);
            return await route.abort('blockedbyclient');
          }
          let parsed: URL;
          try {
            parsed = this.policy.parse(target);
            this.policy.checkStatic(parsed);
          } catch {
            blocked.push(target);
            return await route.abort('blockedbyclient');
          }
          const res = await this.fetcher.fetch({
            url: parsed,
            accept: request.headers()['accept'] ?? '*/*',
            timeoutMs: remaining(),
            maxBytes: opts.maxBytes,
            retries: 0,
            acceptAnyStatus: true,
            signal: opts.signal,
          });
          return await route.fulfill({
            status: res.statusCode,
            // frames decode like the page; other sub-resources keep Chromium's own rules
            contentType: isHtml(res.contentType) ? withCharset(res.body, res.contentType) : res.contentType,
            body: res.body,
          });
        } catch (err) {
          if (err instanceof UrlBlockedError) blocked.push(target);
          // the page may already be gone (closed context): nothing left to answer
          await route
            .abort(err instanceof UrlBlockedError ? 'blockedbyclient' : 'failed')
            .catch(() => undefined);
        }
      });
      const page = await context.newPage();
      try {
        await page.goto(main.finalUrl, { waitUntil: 'load', timeout: remaining() });
      } catch (err) {
        if (Date.now() >= deadlineAt) throw new UpstreamTimeoutError(opts.timeoutMs);
        throw err;
      }
      page.setDefaultTimeout(remaining());
      const pdf = await page.pdf({ format: 'A4', printBackground: true });
      if (blocked.length)
        this.logger.warn(
          `PDF render of ${main.finalUrl}: ${blocked.length} request(s) refused by the URL policy`,
        );
      return { pdf, main, blocked };
    } catch (err) {
      if (err instanceof DownloaderError || opts.signal?.aborted) throw err;
      if (Date.now() >= deadlineAt) throw new UpstreamTimeoutError(opts.timeoutMs);
      this.logger.error({ err }, 'PDF rendering failed');
      throw new PdfRenderError();
    } finally {
      release();
      await context?.close().catch(() => undefined);
      this.closeWhenIdle();
    }
  }

  /** The browser's memory goes back when no render needs it for EXTRACTION_IDLE_MS; the next render relaunches. */
  private closeWhenIdle(): void {
    clearTimeout(this.idleTimer);
    if (!this.browser || this.pool.stats().active > 0) return;
    this.idleTimer = setTimeout(() => {
      const browser = this.browser;
      if (!browser || this.pool.stats().active > 0) return;
      this.browser = undefined;
      void browser.then((b) => b.close()).catch(() => undefined);
    }, this.config.extraction.idleMs);
    this.idleTimer.unref();
  }

  /**
   * One shared browser, launched on first use (playwright-core itself is loaded then, not at startup),
   * again after it crashes or was closed for idleness. Its pages' JavaScript heap is capped like a
   * parser child's (EXTRACTION_WORKER_HEAP_MB).
   */
  private launch(): Promise<Browser> {
    const executablePath = this.executablePath();
    if (!executablePath || this.closing) return Promise.reject(new PdfUnavailableError());
    clearTimeout(this.idleTimer);
    const args = [...CHROMIUM_ARGS, `--js-flags=--max-old-space-size=${this.config.extraction.workerHeapMb}`];
    if (this.browser) return this.browser;
    const launching: Promise<Browser> = import('playwright-core')
      .then(({ chromium }) => chromium.launch({ executablePath, headless: true, args, timeout: 30_000 }))
      .then((browser) => {
        // only this browser's own entry: a newer one may have replaced it (idle close, relaunch)
        browser.on('disconnected', () => {
          if (this.browser === launching) this.browser = undefined;
        });
        return browser;
      })
      .catch((err: unknown) => {
        if (this.browser === launching) this.browser = undefined;
        this.logger.error({ err }, `Could not launch Chromium at ${executablePath}`);
        throw new PdfUnavailableError('PDF rendering is not available: the browser could not be started');
      });
    this.browser = launching;
    return this.browser;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.idleTimer);
    const browser = await this.browser?.catch(() => undefined);
    await browser?.close().catch(() => undefined);
  }
}
