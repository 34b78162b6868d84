import { Inject, Injectable, Logger } from '@nestjs/common';
import { redactUrl } from '@libs/observability';
import { ExtractionService } from '@app/extraction';
import { pageLinks, sitemapUrls } from '../extraction/page-extraction';
import { DownloadOutcome, DownloadService } from '../download.service';
import { DownloaderMetrics } from '../downloader.metrics';
import { JOB_STORE } from '../downloader.tokens';
import type { DownloadFormat } from '../formats';
import type { JobRecord, JobStore, UrlResult } from '../jobs/job.types';
import { Politeness } from '../politeness/politeness.service';
import { CrawlScope, normaliseUrl } from './crawl-scope';

/** One page of a job through the batch machinery (retries on a busy host, UrlResult shape). */
export type FetchPage = (
  url: string,
  format: DownloadFormat,
  fetched: (out: DownloadOutcome) => Promise<DownloadOutcome>,
) => Promise<UrlResult | undefined>;

/** Links read from one page at most (a link farm's page offers millions). */
const MAX_LINKS_PER_PAGE = 1000;
/** Sitemap files read at most per crawl (an index's children included). */
const MAX_SITEMAPS = 10;
/** URLs remembered as seen at most, per page allowed: enough to deduplicate, bounded against link farms. */
const SEEN_PER_PAGE = 20;
const HTML = /^(text\/html|application\/xhtml\+xml)/i;

interface Page {
  url: URL;
  depth: number;
}

/**
 * A crawl job's run (issue 24, item 5): breadth first from the start page over same-site links, plus the
 * pages its sitemaps list (/sitemap.xml and robots.txt's Sitemap: lines), each page once by normalised URL,
 * at most maxPages pages and maxDepth links deep. Every page is a download like a batch URL — URL policy on
 * every hop, robots.txt (a disallowed page is skipped, not a failure), per-host politeness (pages wait for
 * their host), the download cache — fetched once as raw bytes, which is converted to the crawl's format with
 * the job's read options (rendered in Chromium when render asks for it) and whose links are read in an
 * extraction child: from the rendered DOM when the page was rendered, else from the served HTML. Results are recorded as they come (UrlResult per page); a crawl
 * picked up again after its worker died keeps them and walks the site again for the rest (from the cache).
 */
@Injectable()
export class Crawler {
  private readonly logger = new Logger(Crawler.name);

  constructor(
    @Inject(JOB_STORE) private readonly store: JobStore,
    private readonly downloads: DownloadService,
    private readonly extraction: ExtractionService,
    private readonly politeness: Politeness,
    private readonly metrics: DownloaderMetrics,
  ) {}

  async run(job: JobRecord, signal: AbortSignal, fetchPage: FetchPage): Promise<void> {
    const spec = job.spec.crawl!;
    const start = new URL(spec.url);
    const scope = new CrawlScope(start, spec.include, spec.exclude);
    const prior = await this.store.results(job.jobId);
    const recordedBefore = new Set(prior.map((r) => normaliseUrl(new URL(r.url))));
    let index = prior.length;
    let admitted = 0; // pages queued or done (≤ maxPages)
    const seen = new Set<string>();
    const seenMax = spec.maxPages * SEEN_PER_PAGE;
    const queue: Page[] = [];
    let progressWrites = Promise.resolve();
    const reportTotal = (): void => {
      const totalUrls = Math.max(admitted, index);
      progressWrites = progressWrites
        .then(() => this.store.progress(job.jobId, { totalUrls }))
        .catch(() => undefined);
    };

    /** Queues a page once, while the crawl has room for it. */
    const admit = (url: URL, depth: number, force = false): void => {
      if (admitted >= spec.maxPages || seen.size >= seenMax) return;
      if (!force && !scope.admits(url)) return;
      const key = normaliseUrl(url);
      if (seen.has(key)) return;
      seen.add(key);
      admitted++;
      queue.push({ url: new URL(key), depth });
    };

    admit(start, 0, true);
    if (spec.sitemap) await this.readSitemaps(job, start, scope, signal, (u) => admit(u, 1));
    reportTotal();

    let active = 0;
    let wake: (() => void) | undefined;
    const changed = (): void => {
      wake?.();
      wake = undefined;
    };
    const crawlOne = async (page: Page): Promise<void> => {
      const verdict = await this.politeness.verdict(page.url, signal).catch(() => undefined);
      if (verdict?.result === 'disallowed') {
        this.politeness.robots.record(verdict); // counted here: a page fetched is counted by its download
        admitted--; // skipped, not a page: its room goes to another
        return;
      }
      const key = normaliseUrl(page.url);
      const result = await fetchPage(page.url.href, 'raw', async (raw) => {
        const finalUrl = new URL(raw.finalUrl);
        seen.add(normaliseUrl(finalUrl));
        // converted first: a rendered page's links are read from its rendered DOM (the script's links too)
        let converted: { out: DownloadOutcome; page?: Buffer } | undefined;
        let failure: unknown;
        if (spec.format === 'raw') converted = { out: raw };
        else
          converted = await this.downloads
            .convertRaw(job.tenantId, raw, spec.format, page.url.href, {
              read: job.spec.read,
              timeoutMs: job.spec.timeoutPerUrlMs,
              signal,
            })
            .catch((err: unknown) => {
              failure = err;
              return undefined;
            });
        if (page.depth < spec.maxDepth && HTML.test(raw.originalContentType) && scope.sameSite(finalUrl)) {
          // a page that failed to render still leads the crawl on through its served links
          const html = (converted?.page ?? raw.body).toString('utf8');
          const links = await pageLinks(this.extraction, html, finalUrl.href, MAX_LINKS_PER_PAGE).catch(
            () => [] as string[],
          ); // an unreadable page still counts as fetched
          for (const link of links) admit(new URL(link), page.depth + 1);
          reportTotal();
        }
        if (!converted) throw failure;
        return converted.out;
      });
      if (!result || recordedBefore.has(key)) return; // cancelled, or recorded by an earlier run
      result.format = spec.format; // a page that failed before its conversion still says the crawl's format
      this.metrics.crawlPages.inc({ status: result.success ? 'success' : 'error' });
      await this.store.record(job.jobId, index++, result);
    };

    const worker = async (): Promise<void> => {
      while (!signal.aborted) {
        const page = queue.shift();
        if (!page) {
          if (active === 0) return;
          await new Promise<void>((r) => (wake = chain(wake, r)));
          continue;
        }
        active++;
        try {
          await crawlOne(page);
        } catch (err) {
          if (signal.aborted) return;
          this.logger.error({ err }, `Crawl page ${redactUrl(page.url.href)} failed unexpectedly`);
        } finally {
          active--;
          changed();
        }
      }
      changed();
    };
    await Promise.all(Array.from({ length: job.spec.concurrency }, worker));
    await progressWrites;
    if (!signal.aborted) await this.store.progress(job.jobId, { totalUrls: index }).catch(() => undefined);
  }

  /** /sitemap.xml and robots.txt's Sitemap: lines (and the sitemaps an index lists), at most MAX_SITEMAPS files. */
  private async readSitemaps(
    job: JobRecord,
    start: URL,
    scope: CrawlScope,
    signal: AbortSignal,
    admit: (url: URL) => void,
  ): Promise<void> {
    const verdict = await this.politeness.verdict(start, signal).catch(() => undefined);
    const todo = [...(verdict?.sitemaps ?? []), new URL('/sitemap.xml', start.origin).href];
    const read = new Set<string>();
    const max = job.spec.crawl!.maxPages * 2;
    while (todo.length && read.size < MAX_SITEMAPS && !signal.aborted) {
      const raw = todo.shift()!;
      let url: URL;
      try {
        url = new URL(raw, start);
      } catch {
        continue;
      }
      if (read.has(url.href)) continue;
      read.add(url.href);
      try {
        const out = await this.downloads.download(job.tenantId, url.href, 'raw', {
          signal,
          timeoutMs: job.spec.timeoutPerUrlMs,
          waitForHost: true,
        });
        const { index, urls } = await sitemapUrls(this.extraction, out.body.toString('utf8'), max);
        for (const u of urls) {
          try {
            const found = new URL(u, url);
            if (index) {
              if (scope.sameSite(found) || found.origin === url.origin) todo.push(found.href);
            } else admit(found);
          } catch {
            // not a URL
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        // no sitemap, or one that cannot be read: the links still lead the crawl
        this.logger.debug(
          `Sitemap ${redactUrl(url.href)} not used: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  }
}

function chain(previous: (() => void) | undefined, next: () => void): () => void {
  return previous
    ? () => {
        previous();
        next();
      }
    : next;
}
