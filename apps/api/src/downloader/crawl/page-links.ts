import { parseHTML } from 'linkedom';

// Runs in an extraction child process only (extraction/worker): a crawl's link and sitemap reading grows with
// the page, so it never runs on the API's event loop. No @app imports: the child resolves modules without the
// path aliases.

interface Anchor {
  getAttribute(name: string): string | null;
}
interface LinkDocument {
  querySelector(selector: string): Anchor | null;
  querySelectorAll(selector: string): ArrayLike<Anchor>;
}

/** The http(s) links of a page, absolute (against <base href> and the page's URL), without fragments, at most `max`. */
export function pageLinks(html: string, pageUrl: string, max: number): string[] {
  const { document } = (parseHTML as unknown as (h: string) => { document: LinkDocument })(html);
  let base: URL;
  try {
    base = new URL(document.querySelector('base[href]')?.getAttribute('href') ?? pageUrl, pageUrl);
  } catch {
    base = new URL(pageUrl);
  }
  const out = new Set<string>();
  const anchors = document.querySelectorAll('a[href], area[href]');
  for (let i = 0; i < anchors.length && out.size < max; i++) {
    const a = anchors[i];
    const rel = (a.getAttribute('rel') ?? '').toLowerCase();
    if (rel.split(/\s+/).includes('nofollow')) continue;
    try {
      const url = new URL(a.getAttribute('href') ?? '', base);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
      url.hash = '';
      out.add(url.href);
    } catch {
      // not a URL: skipped
    }
  }
  return [...out];
}

/**
 * The <loc>s of a sitemap (urlset) or sitemap index (sitemapindex), at most `max`, as written (the crawler
 * judges each). Plain text sitemaps (one URL a line) are read too.
 */
export function sitemapUrls(xml: string, max: number): { index: boolean; urls: string[] } {
  const index = /<sitemapindex[\s>]/i.test(xml.slice(0, 4096));
  const urls: string[] = [];
  const loc = /<loc>\s*(?:<!\[CDATA\[)?\s*([^<\]\s]+)\s*(?:\]\]>)?\s*<\/loc>/gi;
  for (let m = loc.exec(xml); m && urls.length < max; m = loc.exec(xml))
    urls.push(m[1].replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>'));
  if (urls.length === 0 && !/^\s*</.test(xml))
    for (const line of xml.split('\n')) {
      if (urls.length >= max) break;
      const t = line.trim();
      if (/^https?:\/\//i.test(t)) urls.push(t);
    }
  return { index, urls };
}
