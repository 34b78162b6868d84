// The downloader's job kinds, as the extraction child runs them (registered in downloader.module.ts through
// ExtractionModule.forFeature). Loaded by path in the child, which has no path aliases: `@app/extraction` is
// imported for types only, and the page readers are required on first use.
import type { ExtractionJob, ExtractionJobHandlers } from '@app/extraction';
import type { PageOptions } from './page';

/**
 * A page as text, markdown or json (`{title, text, metadata, links, images}` as JSON text), read with the
 * download's include/exclude selectors, article or whole page, and front matter.
 */
export interface ArticleJob extends ExtractionJob {
  kind: 'html-article';
  html: string;
  url: string;
  format: 'text' | 'markdown' | 'json';
  page?: PageOptions;
}

/** A crawl's page: its links (JSON array of absolute URLs, at most maxLinks). */
export interface PageLinksJob extends ExtractionJob {
  kind: 'page-links';
  html: string;
  url: string;
  maxLinks: number;
}

/** A crawl's sitemap: its URLs (JSON {index, urls}, at most maxLinks). */
export interface SitemapJob extends ExtractionJob {
  kind: 'sitemap';
  xml: string;
  maxLinks: number;
}

export const extractionJobs = {
  'html-article': async (job: ArticleJob) => {
    const { convertPage } = await import('./page');
    return convertPage(job.html, job.url, job.format, job.page);
  },
  'page-links': async (job: PageLinksJob) => {
    const { pageLinks } = await import('../crawl/page-links');
    return JSON.stringify(pageLinks(job.html, job.url, job.maxLinks));
  },
  sitemap: async (job: SitemapJob) => {
    const { sitemapUrls } = await import('../crawl/page-links');
    return JSON.stringify(sitemapUrls(job.xml, job.maxLinks));
  },
} satisfies ExtractionJobHandlers;
