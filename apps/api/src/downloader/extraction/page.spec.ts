import { RICH_PAGE } from '../../../../../test/fixtures/pages/rich';
import { convertPage, InvalidSelector, MAX_LINKS, readPage } from './page';

const URL_ = 'https://gazette.example/news/tides?ref=1';

describe('readPage / convertPage (the extraction child reads a page)', () => {
  it('metadata from OpenGraph, meta tags and JSON-LD, made absolute', () => {
    expect(readPage(RICH_PAGE, URL_).metadata).toEqual({
      title: 'Tide tables for the old harbour',
      description: 'When the tides turn at the old harbour, and why it matters.',
      author: 'Grace Harbour',
      publishedAt: '2026-11-02T07:30:00.000Z',
      siteName: 'Harbour Gazette',
      language: 'en-GB',
      canonicalUrl: 'https://gazette.example/news/tide-tables',
      image: 'https://gazette.example/media/tides.jpg',
    });
  });

  it('JSON-LD fills what the meta tags leave out; a page with nothing has nulls', () => {
    const ld = readPage(
      `<html><head><script type="application/ld+json">{"@type":"BlogPosting","headline":"Only LD",
      "description":"From LD","image":{"url":"https://cdn.example/i.png"},"inLanguage":"fr"}</script></head><body><p>x</p></body></html>`,
      URL_,
    ).metadata;
    expect(ld).toMatchObject({
      title: 'Only LD',
      description: 'From LD',
      image: 'https://cdn.example/i.png',
    });
    expect(ld.language).toBe('fr');
    const bare = readPage('<p>hello</p>', URL_).metadata;
    expect(bare).toMatchObject({ author: null, publishedAt: null, canonicalUrl: null, image: null });
  });

  it('links: absolute, http(s) only, without fragments, deduplicated, bounded', () => {
    const { links, images } = readPage(RICH_PAGE, URL_);
    const urls = links.map((l) => l.url);
    expect(urls).toContain('https://gazette.example/news');
    expect(urls.filter((u) => u === 'https://gazette.example/news')).toHaveLength(1);
    expect(links).toContainEqual({
      url: 'https://gazette.example/news/tide-tables',
      text: 'the history of the tables',
    });
    expect(links).toContainEqual({ url: 'https://example.org/moon', text: 'why the moon matters' });
    expect(urls.some((u) => u.startsWith('javascript:') || u.startsWith('mailto:'))).toBe(false);
    expect(images).toEqual([
      { url: 'https://gazette.example/media/chart.png', alt: 'Tide chart for November' },
    ]);
    const farm = `<body>${Array.from({ length: MAX_LINKS + 50 }, (_, i) => `<a href="/p${i}">p${i}</a>`).join('')}</body>`;
    expect(readPage(farm, URL_).links).toHaveLength(MAX_LINKS);
  });

  it('json: title, text, metadata, links and images as one JSON text', () => {
    const doc = JSON.parse(convertPage(RICH_PAGE, URL_, 'json'));
    expect(Object.keys(doc)).toEqual(['title', 'text', 'metadata', 'links', 'images']);
    expect(doc.text).toContain('High water at the old harbour');
    expect(doc.text).not.toContain('Harbour Gazette footer');
  });

  it('exclude drops elements; include keeps only its elements; mainContent=false keeps the whole page', () => {
    const excluded = convertPage(RICH_PAGE, URL_, 'text', { exclude: '.advert' });
    expect(excluded).toContain('High water');
    expect(excluded).not.toContain('ADVERTISEMENT');
    const included = convertPage(RICH_PAGE, URL_, 'text', { include: 'figure, .cookie-banner' });
    expect(included).toContain('The November chart');
    expect(included).toContain('We use cookies');
    expect(included).not.toContain('High water');
    const whole = convertPage(RICH_PAGE, URL_, 'text', { mainContent: false });
    expect(whole).toContain('Harbour Gazette footer');
    expect(whole).toContain('We use cookies');
    expect(convertPage(RICH_PAGE, URL_, 'text')).not.toContain('Harbour Gazette footer');
  });

  it('markdown front matter: YAML with the metadata and the URL', () => {
    const md = convertPage(RICH_PAGE, URL_, 'markdown', { frontMatter: true });
    expect(md.startsWith('---\ntitle: "Tide tables for the old harbour"\n')).toBe(true);
    expect(md).toContain('\nauthor: "Grace Harbour"\n');
    expect(md).toContain(`\nurl: "${URL_}"\n---\n\n# Tide tables`);
    expect(convertPage(RICH_PAGE, URL_, 'markdown').startsWith('# Tide tables')).toBe(true);
  });

  it('a selector css-select refuses is an InvalidSelector naming the field', () => {
    expect(() => convertPage(RICH_PAGE, URL_, 'text', { include: 'p:no-such-pseudo' })).toThrow(
      InvalidSelector,
    );
  });
});

describe('the README walkthrough page', () => {
  const NOTES =
    '<html lang="en"><head><title>Notes</title><meta name="description" content="What Atrium read.">' +
    '<meta property="og:site_name" content="Local origin"><meta name="author" content="Ada"></head>' +
    '<body><article><h1>Notes</h1><p>See <a href="/hello.html">the hello page</a>.</p></article></body></html>';
  const url = 'http://127.0.0.1:8000/notes.html';

  it('reads as the README shows (front matter, metadata, absolute links on a page too short for Readability)', () => {
    expect(convertPage(NOTES, url, 'markdown', { frontMatter: true })).toBe(
      [
        '---',
        'title: "Notes"',
        'description: "What Atrium read."',
        'author: "Ada"',
        'siteName: "Local origin"',
        'language: "en"',
        `url: "${url}"`,
        '---',
        '',
        '# Notes',
        '',
        'See [the hello page](http://127.0.0.1:8000/hello.html).',
      ].join('\n'),
    );
    const doc = JSON.parse(convertPage(NOTES, url, 'json'));
    expect(JSON.stringify({ metadata: doc.metadata, links: doc.links })).toBe(
      '{"metadata":{"title":"Notes","description":"What Atrium read.","author":"Ada","publishedAt":null,' +
        '"siteName":"Local origin","language":"en","canonicalUrl":null,"image":null},' +
        '"links":[{"url":"http://127.0.0.1:8000/hello.html","text":"the hello page"}]}',
    );
  });
});
