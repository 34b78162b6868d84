// The downloader's work in the extraction children (downloader.extraction-jobs.ts), as its services call it.
import { MAX_PARSER_MESSAGE } from '@app/extraction';
import type { ExtractionFeature, ExtractionService } from '@app/extraction';
import { ValidationFailedError } from '@app/validation';
import type { ArticleJob, PageLinksJob, SitemapJob } from './downloader.extraction-jobs';
import type { PageOptions } from './page';

/**
 * The downloader's job kinds ('html-article', 'page-links', 'sitemap'); a selector the DOM library refuses
 * (InvalidSelector, page.ts) crosses back as 400 VALIDATION_FAILED naming the field.
 */
export const DOWNLOADER_EXTRACTION: ExtractionFeature = {
  jobs: require.resolve('./downloader.extraction-jobs'),
  errors: {
    InvalidSelector: ({ message, details }) =>
      typeof details?.field === 'string'
        ? new ValidationFailedError({ [details.field]: [message.slice(0, MAX_PARSER_MESSAGE)] })
        : undefined, // no field named: an ordinary parse_error
  },
};

/**
 * A page as text, markdown or json (downloader formats; json: the JSON text of `{title, text, metadata,
 * links, images}`), read as `opts.page` says. `wait`: queue past EXTRACTION_QUEUE_MAX (batch jobs, whose
 * own concurrency bounds how many wait). A selector the DOM library refuses: 400 VALIDATION_FAILED.
 */
export function articleText(
  extraction: ExtractionService,
  html: string,
  url: string,
  format: 'text' | 'markdown' | 'json',
  opts: { wait?: boolean; page?: PageOptions } = {},
): Promise<string> {
  return extraction.run<string, Omit<ArticleJob, 'maxTextChars'>>(
    { kind: 'html-article', html, url, format, page: opts.page },
    { wait: opts.wait },
  );
}

/** A crawl's page: its links, absolute and deduplicated, at most maxLinks (in the pool, queued like batch work). */
export async function pageLinks(
  extraction: ExtractionService,
  html: string,
  url: string,
  maxLinks: number,
): Promise<string[]> {
  const json = await extraction.run<string, Omit<PageLinksJob, 'maxTextChars'>>(
    { kind: 'page-links', html, url, maxLinks },
    { wait: true },
  );
  return JSON.parse(json) as string[];
}

/** A crawl's sitemap (or sitemap index): its <loc> URLs, at most maxLinks. */
export async function sitemapUrls(
  extraction: ExtractionService,
  xml: string,
  maxLinks: number,
): Promise<{ index: boolean; urls: string[] }> {
  const json = await extraction.run<string, Omit<SitemapJob, 'maxTextChars'>>(
    { kind: 'sitemap', xml, maxLinks },
    { wait: true },
  );
  return JSON.parse(json) as { index: boolean; urls: string[] };
}
