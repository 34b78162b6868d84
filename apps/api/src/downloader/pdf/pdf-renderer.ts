import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setPriority } from 'node:os';
import { AppConfig } from '@app/config';
import { LiveStatsRegistry } from '@app/metrics';
import { PoolMetrics } from '@app/metrics';
import { ConcurrencyPool } from '../concurrency-pool';
import {
  ContentTooLargeError,
  DownloaderError,
  PageRenderError,
  PdfRenderError,
  PdfUnavailableError,
  RenderUnavailableError,
  UpstreamTimeoutError,
  UrlBlockedError,
} from '../downloader.errors';
import { DownloaderMetrics } from '../downloader.metrics';
import { isHtml, mediaType, withCharset } from '../extraction/extract';
import { FetchResponse, SafeFetcher } from '../fetch/safe-fetcher';
import { UrlPolicy } from '../url-policy/url-policy';
import type { ChildMessage, ParentMessage, RenderJob } from './browser.protocol';
import { childCommand } from '@app/extraction';
import { inTurn } from './in-turn';

const DEFAULT_CHROMIUM = '/usr/bin/chromium';
/** A page may not make more requests than this; the rest are aborted. */
const MAX_PAGE_REQUESTS = 300;
/**
 * A page's requests the API fetches for it at once (what a browser opens per host over HTTP/1.1); the rest
 * wait their turn. Chromium hands over every request of a page at once — 300 frames of a page of 1,000 —
 * and started together they would land on the API's event loop (and the page's host) in one burst.
 */
const PAGE_FETCH_CONCURRENCY = 6;
/**
 * Niceness of the browser host (the parser children's): the browser it launches inherits it, so under CPU
 * contention the API process is scheduled first — a page spinning a script loop, allocating without end or
 * laying out 1,000 frames on every core cannot delay an answer, /health/live included.
 */
const BROWSER_NICENESS = 10;
/** A render the host has not answered this long after its deadline: the host is stuck and is replaced. */
const HOST_GRACE_MS = 10_000;
/** How long the host may take to launch the browser. */
const LAUNCH_TIMEOUT_MS = 40_000;

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

/** What the API answers to a request of the page (without the ids the host adds). */
type FetchAnswer =
  | { type: 'fetched'; status: number; contentType: string; body: Uint8Array }
  | { type: 'refused'; blocked: boolean };

/** What the host answers a render with: the PDF, or the rendered DOM as UTF-8. */
interface HostOutput {
  output: Buffer;
  blocked: string[];
}

export interface RenderedPage {
  /** The rendered DOM (page.content()). */
  html: string;
  /** Sub-resource URLs the policy refused (for logs and tests). */
  blocked: string[];
}

interface Pending {
  resolve(value: HostOutput): void;
  reject(err: Error): void;
  /** Answers the page's sub-resource requests (the URL policy and the fetcher are the parent's). */
  fetch(url: string, accept: string): Promise<FetchAnswer>;
}

/** The browser host child and the renders it runs. */
class BrowserHost {
  readonly ready: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  private gone = false;

  constructor(
    readonly child: ChildProcess,
    private readonly onGone: (host: BrowserHost) => void,
  ) {
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the browser did not start in time')),
        LAUNCH_TIMEOUT_MS,
      );
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (m.type === 'launch-failed') {
          clearTimeout(timer);
          reject(new Error(m.message));
        } else this.onMessage(m);
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error('the browser host ended while starting'));
      });
    });
    this.ready.catch(() => undefined); // awaited by every render
    child.once('exit', () => this.end(new PdfRenderError()));
    child.on('error', () => this.kill());
  }

  get idle(): boolean {
    return this.pending.size === 0;
  }

  render(job: RenderJob, fetch: Pending['fetch']): Promise<HostOutput> {
    if (this.gone) return Promise.reject(new PdfRenderError());
    return new Promise((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject, fetch });
      this.send({ type: 'render', job });
    });
  }

  /** Gives up on a render (its caller left or its deadline passed): the child closes its page. */
  cancel(id: number, err: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.reject(err);
    this.send({ type: 'cancel', id });
  }

  /** Closes the browser and ends the host (SIGKILL if it does not within 5 s). */
  close(): Promise<void> {
    if (this.gone) return Promise.resolve();
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.send({ type: 'close' });
    const force = setTimeout(() => this.kill(), 5000);
    return exited.finally(() => clearTimeout(force));
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  send(message: ParentMessage): void {
    if (this.gone || !this.child.connected) return;
    this.child.send(message, (err) => err && this.kill());
  }

  private onMessage(m: ChildMessage): void {
    if (m.type === 'fetch') {
      const p = this.pending.get(m.id);
      if (!p) return this.send({ type: 'refused', id: m.id, reqId: m.reqId, blocked: false });
      void p.fetch(m.url, m.accept).then((answer) => this.send({ ...answer, id: m.id, reqId: m.reqId }));
      return;
    }
    if (m.type !== 'done' && m.type !== 'failed') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === 'done')
      p.resolve({
        output: Buffer.from(m.output.buffer, m.output.byteOffset, m.output.byteLength),
        blocked: m.blocked,
      });
    else
      p.reject(
        m.timedOut ? new HostTimeout() : m.tooLarge ? new HostTooLarge() : new HostRenderError(m.message),
      );
  }

  private end(err: Error): void {
    if (this.gone) return;
    this.gone = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.onGone(this);
  }
}

/** The host reported the page past its deadline. */
class HostTimeout extends Error {}
/** The host could not render the page (a browser error). */
class HostRenderError extends Error {}
/** The rendered DOM was larger than the job allowed. */
class HostTooLarge extends Error {}

/**
 * Renders pages as PDF with playwright-core driving the system Chromium, in a bounded pool shared fairly
 * between tenants. playwright-core and the browser run in a child process, the browser host
 * (browser.worker.ts, niceness 10 like the parser children; the browser inherits it): the API process never
 * loads playwright, and a hostile page's work — the browser protocol for 1,000 frames, a script loop, a
 * memory hog — is that process's and the browser's, never the API's event loop. The page's every request
 * (document, frames, images, scripts, XHR) comes to the API, which fetches it through the SafeFetcher — URL
 * policy, pinned DNS, size limits — or refuses it; WebSockets and service workers are refused outright.
 */
@Injectable()
export class PdfRenderer implements OnApplicationShutdown {
  private readonly logger = new Logger(PdfRenderer.name);
  readonly pool: ConcurrencyPool;
  private host?: BrowserHost;
  private closing = false;
  private idleTimer?: NodeJS.Timeout;
  private nextId = 1;

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

  /** Process id of the browser host while it runs (tests and diagnostics). */
  hostPid(): number | undefined {
    return this.host?.child.pid;
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
    clearTimeout(this.idleTimer);
    const deadlineAt = Date.now() + opts.timeoutMs;
    try {
      const main = await this.fetcher.fetch({
        url,
        tenant,
        accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.5',
        timeoutMs: opts.timeoutMs,
        maxBytes: opts.maxBytes,
        signal: opts.signal,
      });
      // the origin already serves a PDF: nothing to render
      if (mediaType(main.contentType) === 'application/pdf') return { pdf: main.body, main, blocked: [] };

      const { output, blocked } = await this.inHost(tenant, main, { output: 'pdf' }, deadlineAt, opts);
      return { pdf: output, main, blocked };
    } catch (err) {
      throw this.failure(err, opts, deadlineAt, 'PDF rendering failed', () => new PdfRenderError());
    } finally {
      release();
      this.closeWhenIdle();
    }
  }

  /**
   * Loads an HTML page the downloader already fetched (`main`, through the URL policy) in Chromium and
   * answers its rendered DOM: the same host, URL policy on every request the page makes, request limit,
   * deadline (`timeoutMs` from now) and fair pool as a PDF render. 503 RENDER_UNAVAILABLE without a browser.
   */
  async renderPage(
    tenant: string,
    main: FetchResponse,
    opts: {
      timeoutMs: number;
      maxBytes: number;
      wait: boolean;
      signal?: AbortSignal;
      waitFor?: string;
      waitMs?: number;
    },
  ): Promise<RenderedPage> {
    if (!this.available()) throw new RenderUnavailableError();
    const release = opts.wait ? await this.pool.acquire(tenant, opts.signal) : this.pool.tryAcquire(tenant);
    clearTimeout(this.idleTimer);
    const deadlineAt = Date.now() + opts.timeoutMs;
    try {
      const { output, blocked } = await this.inHost(
        tenant,
        main,
        { output: 'html', waitFor: opts.waitFor, waitMs: opts.waitMs },
        deadlineAt,
        opts,
      );
      return { html: output.toString('utf8'), blocked };
    } catch (err) {
      if (err instanceof PdfUnavailableError) throw new RenderUnavailableError(err.message);
      throw this.failure(err, opts, deadlineAt, 'Page rendering failed', () => new PageRenderError());
    } finally {
      release();
      this.closeWhenIdle();
    }
  }

  /** One page in the browser host, its requests answered through the URL policy, by `deadlineAt`. */
  private async inHost(
    tenant: string,
    main: FetchResponse,
    what: Pick<RenderJob, 'output' | 'waitFor' | 'waitMs'>,
    deadlineAt: number,
    opts: { maxBytes: number; signal?: AbortSignal },
  ): Promise<HostOutput> {
    const remaining = (): number => Math.max(1, deadlineAt - Date.now());
    const host = await this.launch();
    const job: RenderJob = {
      ...what,
      id: this.nextId++,
      url: main.finalUrl,
      body: main.body,
      // the charset the other formats decode with (UTF-8 when the page declares none)
      contentType: withCharset(main.body, main.contentType),
      timeoutMs: remaining(),
      maxRequests: MAX_PAGE_REQUESTS,
      maxOutputBytes: opts.maxBytes,
    };
    const fetchOne = inTurn(PAGE_FETCH_CONCURRENCY, (target: string, accept: string) =>
      this.subresource(target, accept, remaining, { ...opts, tenant }),
    );
    const rendering = host.render(job, fetchOne);
    // the host answers by the deadline itself; one that does not, well after it, is stuck and replaced
    const watchdog = setTimeout(() => {
      this.logger.warn('The browser host did not answer a render in time; replacing it');
      host.kill();
    }, remaining() + HOST_GRACE_MS);
    const onAbort = () => host.cancel(job.id, opts.signal?.reason as Error);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const out = await rendering;
      if (out.blocked.length)
        this.logger.warn(
          `Render (${what.output}) of ${main.finalUrl}: ${out.blocked.length} request(s) refused by the URL policy`,
        );
      return out;
    } finally {
      clearTimeout(watchdog);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** A render's failure as the download's error: its own codes, a timeout, else the renderer's 502. */
  private failure(
    err: unknown,
    opts: { timeoutMs: number; maxBytes: number; signal?: AbortSignal },
    deadlineAt: number,
    log: string,
    renderError: () => DownloaderError,
  ): unknown {
    if (err instanceof DownloaderError || opts.signal?.aborted) return err;
    if (err instanceof HostTooLarge) return new ContentTooLargeError(opts.maxBytes);
    if (err instanceof HostTimeout || Date.now() >= deadlineAt)
      return new UpstreamTimeoutError(opts.timeoutMs);
    this.logger.error({ err }, log);
    return renderError();
  }

  /** A request of the page being rendered: through the URL policy and the fetcher, or refused. */
  private async subresource(
    target: string,
    accept: string,
    remaining: () => number,
    opts: { maxBytes: number; signal?: AbortSignal; tenant: string },
  ): Promise<FetchAnswer> {
    let parsed: URL;
    try {
      parsed = this.policy.parse(target);
      this.policy.checkStatic(parsed);
    } catch {
      return { type: 'refused', blocked: true };
    }
    try {
      const res = await this.fetcher.fetch({
        url: parsed,
        accept,
        timeoutMs: remaining(),
        maxBytes: opts.maxBytes,
        retries: 0,
        acceptAnyStatus: true,
        signal: opts.signal,
        // the IPC callback runs outside the request's context: the tenant is passed on
        tenant: opts.tenant,
      });
      return {
        type: 'fetched',
        status: res.statusCode,
        // frames decode like the page; other sub-resources keep Chromium's own rules
        contentType: isHtml(res.contentType) ? withCharset(res.body, res.contentType) : res.contentType,
        body: res.body,
      };
    } catch (err) {
      return { type: 'refused', blocked: err instanceof UrlBlockedError };
    }
  }

  /** The browser host goes (and its memory with it) when no render needs it for EXTRACTION_IDLE_MS. */
  private closeWhenIdle(): void {
    clearTimeout(this.idleTimer);
    if (!this.host || this.pool.stats().active > 0) return;
    this.idleTimer = setTimeout(() => {
      const host = this.host;
      if (!host || !host.idle || this.pool.stats().active > 0) return;
      this.host = undefined;
      void host.close();
    }, this.config.extraction.idleMs);
    this.idleTimer.unref();
  }

  /**
   * The browser host, started on first use (and again after it ended, crashed or was closed for idleness)
   * with the browser launched in it. Its pages' JavaScript heap is capped like a parser child's
   * (EXTRACTION_WORKER_HEAP_MB).
   */
  private async launch(): Promise<BrowserHost> {
    const executablePath = this.executablePath();
    if (!executablePath || this.closing) throw new PdfUnavailableError();
    if (!this.host) {
      const { entry, execArgv, env } = childCommand(__filename, 'browser.worker');
      const child = fork(entry, [], {
        execArgv,
        // nothing of the parent's environment (secrets) but what the browser needs to run
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'advanced', // buffers travel as bytes, not base64
      });
      if (child.pid !== undefined)
        try {
          setPriority(child.pid, BROWSER_NICENESS);
        } catch {
          // not permitted here (some sandboxes): the host runs at the parent's priority
        }
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4000)));
      // neither the process nor its channel keeps the parent's event loop alive
      child.unref();
      (child.channel as { unref?: () => void } | undefined)?.unref?.();
      (child.stderr as { unref?: () => void } | null)?.unref?.();
      const host = new BrowserHost(child, (gone) => {
        if (this.host === gone) this.host = undefined;
        if (!this.closing && !gone.idle)
          this.logger.warn(
            { stderr: stderr.trim().split('\n').slice(-3).join('\n') || undefined },
            'The browser host ended',
          );
      });
      this.host = host;
      host.send({
        type: 'setup',
        setup: {
          executablePath,
          args: [...CHROMIUM_ARGS, `--js-flags=--max-old-space-size=${this.config.extraction.workerHeapMb}`],
          userAgent: this.config.downloader.userAgent,
        },
      });
    }
    const host = this.host;
    try {
      await host.ready;
      return host;
    } catch (err) {
      if (this.host === host) this.host = undefined;
      host.kill();
      this.logger.error({ err }, `Could not launch Chromium at ${executablePath}`);
      throw new PdfUnavailableError('PDF rendering is not available: the browser could not be started');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    clearTimeout(this.idleTimer);
    await this.host?.close();
  }
}
