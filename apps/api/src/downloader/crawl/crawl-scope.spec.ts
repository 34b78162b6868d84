import { CrawlScope, normaliseUrl } from './crawl-scope';
import { pageLinks, sitemapUrls } from './page-links';

describe('crawl scope and normalised URLs', () => {
  it('one page under several spellings is one URL', () => {
    const a = normaliseUrl(new URL('HTTP://Example.COM:80/a?b=2&a=1#top'));
    expect(a).toBe('http://example.com/a?a=1&b=2');
    expect(normaliseUrl(new URL('http://example.com/a?'))).toBe('http://example.com/a');
  });

  it('admits the same site (with or without www., same port) and paths by include/exclude globs', () => {
    const sut = new CrawlScope(new URL('https://www.example.com/docs/'), ['/docs/**'], ['/docs/private/**']);
    expect(sut.admits(new URL('https://example.com/docs/a'))).toBe(true);
    expect(sut.admits(new URL('http://www.example.com/docs/b/c'))).toBe(true);
    expect(sut.admits(new URL('https://www.example.com/blog'))).toBe(false);
    expect(sut.admits(new URL('https://www.example.com/docs/private/x'))).toBe(false);
    expect(sut.admits(new URL('https://other.example.com/docs/a'))).toBe(false);
    expect(sut.admits(new URL('https://www.example.com:8443/docs/a'))).toBe(false);
  });
});

describe('page links and sitemaps (parser child code)', () => {
  it('absolute http(s) links against <base>, no fragments, nofollow and other schemes dropped, bounded', () => {
    const html = `<base href="https://example.com/dir/"><a href="a#x">a</a><a href="/b">b</a><a href="a">again</a>
      <a href="mailto:x@y">m</a><a href="javascript:void 0">j</a><a rel="nofollow" href="/n">n</a><a href="https://other.test/">o</a>`;
    expect(pageLinks(html, 'https://example.com/page', 100)).toEqual([
      'https://example.com/dir/a',
      'https://example.com/b',
      'https://other.test/',
    ]);
    expect(pageLinks(html, 'https://example.com/page', 1)).toHaveLength(1);
  });

  it('reads <loc>s of a urlset or sitemapindex, bounded, entities decoded', () => {
    const xml = `<?xml version="1.0"?><sitemapindex><sitemap><loc> https://e.com/s1.xml </loc></sitemap>
      <sitemap><loc><![CDATA[https://e.com/s2.xml?a=1&amp;b=2]]></loc></sitemap></sitemapindex>`;
    expect(sitemapUrls(xml, 10)).toEqual({
      index: true,
      urls: ['https://e.com/s1.xml', 'https://e.com/s2.xml?a=1&b=2'],
    });
    const many = `<urlset>${'<url><loc>https://e.com/x</loc></url>'.repeat(1000)}</urlset>`;
    expect(sitemapUrls(many, 5)).toEqual({ index: false, urls: Array(5).fill('https://e.com/x') });
    expect(sitemapUrls('https://e.com/1\nhttps://e.com/2\n', 10).urls).toEqual([
      'https://e.com/1',
      'https://e.com/2',
    ]);
  });
});
