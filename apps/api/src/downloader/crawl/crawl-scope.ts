import picomatch from 'picomatch';

/**
 * A URL as a crawl compares it: no fragment, default port dropped and host lower-cased (WHATWG URL does
 * both), query parameters sorted, an empty query dropped. Two spellings of one page are one page.
 */
export function normaliseUrl(url: URL): string {
  const u = new URL(url.href);
  u.hash = '';
  u.searchParams.sort();
  if (u.search === '?') u.search = '';
  return u.href;
}

const siteOf = (host: string): string => host.toLowerCase().replace(/^www\./, '');

/** Which pages a crawl may fetch: the start page's site (its host with or without www., same port) and paths by glob. */
export class CrawlScope {
  private readonly site: string;
  private readonly port: string;
  private readonly include?: (path: string) => boolean;
  private readonly exclude?: (path: string) => boolean;

  constructor(start: URL, include: string[], exclude: string[]) {
    this.site = siteOf(start.hostname);
    this.port = start.port;
    // paths are matched as they are, dots and all ("/a/.well-known" is a path like any other)
    if (include.length) this.include = picomatch(include, { dot: true });
    if (exclude.length) this.exclude = picomatch(exclude, { dot: true });
  }

  sameSite(url: URL): boolean {
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      siteOf(url.hostname) === this.site &&
      url.port === this.port
    );
  }

  /** Same site, and the path passes include (when given) and exclude. */
  admits(url: URL): boolean {
    if (!this.sameSite(url)) return false;
    const path = decodeSafe(url.pathname);
    if (this.include && !this.include(path)) return false;
    return !this.exclude?.(path);
  }
}

function decodeSafe(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
