import { existsSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { RunningApp, startApp } from '../support/app';
import { OriginServer } from '../fixtures/origin-server';
import { buildDocx, buildPdf } from '../fixtures/documents/builders';
import { expandingDocx } from '../hostile/payloads';
import { RICH_PAGE } from '../fixtures/pages/rich';
import { waitFor } from './support';

const withChromium = existsSync('/usr/bin/chromium') ? describe : describe.skip;

/** A single-page app's shell: an empty root, a script that builds the text (and, later, more). */
const SHELL =
  '<!doctype html><html><head><title>Shell</title><script src="/app.js" defer></script></head>' +
  '<body><noscript>Enable JavaScript</noscript><div id="root"></div></body></html>';
const APP_JS = `
document.getElementById('root').innerHTML =
  '<article><h1>Built by script</h1><p>' + 'The lighthouse keeper logs every ship that passes the point. '.repeat(8) +
  '</p></article>';
setTimeout(() => {
  const late = document.createElement('p');
  late.id = 'late';
  late.textContent = 'Arrived late: the evening ferry.';
  document.querySelector('article').appendChild(late);
}, 400);
`;

/** An app shell whose script builds the only link to the site's second page. */
const SHELL_SITE =
  '<!doctype html><html><head><title>Shell site</title><script src="/shell-site.js" defer></script></head>' +
  '<body><div id="root"></div></body></html>';
const SHELL_SITE_JS = `
document.getElementById('root').innerHTML =
  '<article><h1>Shell home</h1><p>' + 'The harbour master counts the boats at dawn. '.repeat(8) +
  '</p><a href="/shell-site/next">Next page</a></article>';
`;

/** A served page with navigation, kept and dropped parts, linking to a second such page. */
const MINI = (n: number): string =>
  `<!doctype html><html><head><title>Mini ${n}</title></head><body><nav>Navigation words</nav><main>` +
  `<p class="keep">Kept paragraph ${n} about the tides and the moon.</p>` +
  `<p class="drop">Dropped paragraph ${n} about advertising.</p>` +
  `<p>Plain paragraph ${n}. ${'Filler about the coastline and its lighthouses. '.repeat(6)}</p>` +
  `<a href="/mini/${n + 1}">next</a></main></body></html>`;

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

function serve(res: ServerResponse, type: string, body: Buffer | string): void {
  res.writeHead(200, { 'content-type': type });
  res.end(body);
}

/**
 * What a reader of the modern web asks of GET /api/v1/download (issue 24): documents at a URL read as
 * text, a page's metadata, links and images, and pages built by script. A real origin on loopback
 * (DOWNLOAD_ALLOW_PRIVATE=true, as the other functional downloader specs).
 */
describe('Downloader: reading documents and pages (e2e)', () => {
  let origin: OriginServer;
  let app: RunningApp;
  const dl = (url: string, query: string) =>
    app.request(`/api/v1/download?url=${encodeURIComponent(url)}&${query}`);

  beforeAll(async () => {
    origin = await OriginServer.start();
    const pdf = buildPdf(['Quarterly pangolin report', 'Second line of the report']);
    const docx = buildDocx(['A docx about wombats', 'and their burrows']);
    origin.route('/report.pdf', (_req, res) => serve(res, 'application/pdf', pdf));
    // a server that does not say what it serves: the signature decides
    origin.route('/download/report', (_req, res) => serve(res, 'application/octet-stream', pdf));
    origin.route('/notes.docx', (_req, res) => serve(res, DOCX, docx));
    origin.route('/broken.pdf', (_req, res) => serve(res, 'application/pdf', '%PDF-1.7\nnot really a pdf'));
    origin.route('/spa', (_req, res) => serve(res, 'text/html; charset=utf-8', SHELL));
    origin.route('/app.js', (_req, res) => serve(res, 'text/javascript', APP_JS));
    // never finishes: a script that never yields, so the load event never comes
    origin.route('/spin', (_req, res) =>
      serve(res, 'text/html', '<html><body><div id="root"></div><script>for (;;) {}</script></body></html>'),
    );
    origin.route('/rich', (_req, res) => serve(res, 'text/html; charset=utf-8', RICH_PAGE));
    origin.route('/shell-site', (_req, res) => serve(res, 'text/html; charset=utf-8', SHELL_SITE));
    origin.route('/shell-site.js', (_req, res) => serve(res, 'text/javascript', SHELL_SITE_JS));
    origin.route('/shell-site/next', (_req, res) =>
      serve(res, 'text/html; charset=utf-8', '<html><body><p>The second page, served.</p></body></html>'),
    );
    for (const n of [1, 2]) origin.route(`/mini/${n}`, (_req, res) => serve(res, 'text/html', MINI(n)));
    origin.route('/bomb.docx', (_req, res) => serve(res, DOCX, expandingDocx(64 * 1024 * 1024)));
    app = await startApp({
      DOWNLOAD_ALLOW_PRIVATE: 'true',
      DOWNLOAD_MAX_BYTES: String(4 * 1024 * 1024),
      EXTRACTION_ZIP_MAX_BYTES: String(8 * 1024 * 1024),
      RATE_LIMIT_DOWNLOAD: '10000',
      RATE_LIMIT_BATCH: '10000',
      DOWNLOAD_TIMEOUT_MS: '10000',
    });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await origin?.close();
  });

  describe('a PDF or docx at a URL', () => {
    it('text and markdown are the document text, from the parser children', async () => {
      const text = await dl(`${origin.url}/report.pdf`, 'format=text');
      expect(text.status).toBe(200);
      expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(text.text).toContain('Quarterly pangolin report');
      expect(text.text).toContain('Second line of the report');
      expect(text.headers.get('x-original-content-type')).toBe('application/pdf');
      const md = await dl(`${origin.url}/report.pdf`, 'format=markdown');
      expect(md.status).toBe(200);
      expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      expect(md.text).toContain('Quarterly pangolin report');
    });

    it('a PDF served as application/octet-stream is known by its signature', async () => {
      const res = await dl(`${origin.url}/download/report`, 'format=text');
      expect(res.status).toBe(200);
      expect(res.text).toContain('Quarterly pangolin report');
    });

    it('json carries the text beside the bytes', async () => {
      const res = await dl(`${origin.url}/notes.docx`, 'format=json');
      expect(res.status).toBe(200);
      expect(res.body.contentType).toBe(DOCX);
      expect(res.body.text).toContain('A docx about wombats');
      expect(res.body.text).toContain('and their burrows');
      expect(Buffer.from(res.body.contentBase64, 'base64').subarray(0, 2).toString('latin1')).toBe('PK');
    });

    it('raw still passes the bytes through', async () => {
      const res = await fetch(
        `${app.url}/api/v1/download?url=${encodeURIComponent(`${origin.url}/report.pdf`)}&format=raw`,
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/pdf');
      expect(
        Buffer.from(await res.arrayBuffer())
          .subarray(0, 5)
          .toString('latin1'),
      ).toBe('%PDF-');
    });

    it('an unreadable PDF is 422 EXTRACTION_FAILED with the parser reason', async () => {
      const res = await dl(`${origin.url}/broken.pdf`, 'format=text');
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('EXTRACTION_FAILED');
      expect(res.body.details.reason).toBe('parse_error');
    });

    it('a docx whose zip inflates past the limit is 422 ARCHIVE_REFUSED, as an upload would be', async () => {
      const res = await dl(`${origin.url}/bomb.docx`, 'format=text');
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('ARCHIVE_REFUSED');
      expect(res.body.details.reason).toBe('zip_size');
    });
  });

  it('the OpenAPI document describes every option and the X-Atrium-Render header', async () => {
    const doc = (await app.request('/docs-json')).body;
    const get = doc.paths['/api/v1/download'].get;
    const params = get.parameters.map((p: { name: string }) => p.name);
    for (const name of ['render', 'waitFor', 'waitMs', 'include', 'exclude', 'mainContent', 'frontMatter'])
      expect(params).toContain(name);
    expect(Object.keys(get.responses['200'].headers)).toContain('X-Atrium-Render');
  });

  describe('metadata, links and images', () => {
    it('json: metadata from meta tags, OpenGraph and JSON-LD; absolute, deduplicated links; images', async () => {
      const res = await dl(`${origin.url}/rich`, 'format=json');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        url: `${origin.url}/rich`,
        statusCode: 200,
        contentType: 'text/html; charset=utf-8',
        metadata: {
          title: 'Tide tables for the old harbour',
          description: 'When the tides turn at the old harbour, and why it matters.',
          author: 'Grace Harbour',
          publishedAt: '2026-11-02T07:30:00.000Z',
          siteName: 'Harbour Gazette',
          language: 'en-GB',
          canonicalUrl: `${origin.url}/news/tide-tables`,
          image: `${origin.url}/media/tides.jpg`,
        },
        images: [{ url: `${origin.url}/media/chart.png`, alt: 'Tide chart for November' }],
      });
      expect(res.body.text).toContain('High water at the old harbour');
      const urls = res.body.links.map((l: { url: string }) => l.url);
      expect(urls).toContain('https://example.org/moon');
      expect(new Set(urls).size).toBe(urls.length);
      expect(urls.every((u: string) => /^https?:\/\//.test(u))).toBe(true);
      expect(Buffer.from(res.body.contentBase64, 'base64').toString('utf8')).toBe(RICH_PAGE);
    });

    it('markdown with frontMatter=true starts with YAML front matter; without, it does not', async () => {
      const md = await dl(`${origin.url}/rich`, 'format=markdown&frontMatter=true');
      expect(md.status).toBe(200);
      expect(md.text).toMatch(/^---\ntitle: "Tide tables for the old harbour"\n/);
      expect(md.text).toContain('\nsiteName: "Harbour Gazette"\n');
      expect(md.text).toContain(`\nurl: "${origin.url}/rich"\n---\n\n# `);
      const plain = await dl(`${origin.url}/rich`, 'format=markdown');
      expect(plain.text.startsWith('---')).toBe(false);
    });

    it('include, exclude and mainContent=false change what is read (and are cached apart)', async () => {
      const article = await dl(`${origin.url}/rich`, 'format=text');
      expect(article.text).toContain('ADVERTISEMENT');
      expect(article.text).not.toContain('Harbour Gazette footer');
      const excluded = await dl(`${origin.url}/rich`, 'format=text&exclude=.advert');
      expect(excluded.headers.get('x-cache')).toBe('MISS');
      expect(excluded.text).toContain('High water');
      expect(excluded.text).not.toContain('ADVERTISEMENT');
      const included = await dl(`${origin.url}/rich`, `format=text&include=${encodeURIComponent('figure')}`);
      expect(included.text).toContain('The November chart');
      expect(included.text).not.toContain('High water');
      const whole = await dl(`${origin.url}/rich`, 'format=text&mainContent=false');
      expect(whole.text).toContain('Harbour Gazette footer');
      expect(whole.text).toContain('We use cookies');
    });

    it('a selector that does not parse, or options out of bounds, are 400 naming the field', async () => {
      const bad = await dl(`${origin.url}/rich`, `format=text&include=${encodeURIComponent('div[')}`);
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('VALIDATION_FAILED');
      expect(Object.keys(bad.body.details.fields)).toEqual(['include']);
      const unsupported = await dl(
        `${origin.url}/rich`,
        `format=text&exclude=${encodeURIComponent('p:nope')}`,
      );
      expect(unsupported.status).toBe(400);
      expect(Object.keys(unsupported.body.details.fields)).toEqual(['exclude']);
      const long = await dl(`${origin.url}/rich`, `format=text&include=${'p,'.repeat(300)}p`);
      expect(long.status).toBe(400);
      expect(Object.keys(long.body.details.fields)).toEqual(['include']);
      const flags = await dl(
        `${origin.url}/rich`,
        'mainContent=maybe&frontMatter=2&render=sometimes&waitMs=99999',
      );
      expect(flags.status).toBe(400);
      expect(Object.keys(flags.body.details.fields).sort()).toEqual([
        'frontMatter',
        'mainContent',
        'render',
        'waitMs',
      ]);
      const waitFor = await dl(`${origin.url}/rich`, `render=always&waitFor=${encodeURIComponent('#a >')}`);
      expect(Object.keys(waitFor.body.details.fields)).toEqual(['waitFor']);
    });
  });

  withChromium('rendered pages (Chromium)', () => {
    it('auto renders an app shell: the text its script builds, X-Atrium-Render: rendered', async () => {
      const res = await dl(`${origin.url}/spa`, 'format=text');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-atrium-render')).toBe('rendered');
      expect(res.text).toContain('Built by script');
      expect(res.text).toContain('The lighthouse keeper logs every ship');
      // the page's script came through the downloader
      expect(origin.hits('/app.js').length).toBeGreaterThan(0);
      const json = await dl(`${origin.url}/spa`, 'format=json');
      expect(json.body.text).toContain('The lighthouse keeper');
      expect(Buffer.from(json.body.contentBase64, 'base64').toString('utf8')).toBe(SHELL);
      const html = await dl(`${origin.url}/spa`, 'format=html');
      expect(html.text).toContain('<h1>Built by script</h1>');
    }, 60_000);

    it('never reads the served shell; a server-rendered page under auto is static', async () => {
      const res = await dl(`${origin.url}/spa`, 'format=text&render=never');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-atrium-render')).toBe('static');
      expect(res.text).not.toContain('Built by script');
      const rich = await dl(`${origin.url}/rich`, 'format=text');
      expect(rich.headers.get('x-atrium-render')).toBe('static');
    }, 60_000);

    it('waitFor waits for an element the script adds later; always renders any page', async () => {
      const res = await dl(
        `${origin.url}/spa`,
        `format=text&render=always&waitFor=${encodeURIComponent('#late')}`,
      );
      expect(res.status).toBe(200);
      expect(res.text).toContain('Arrived late: the evening ferry.');
      const rich = await dl(`${origin.url}/rich`, 'format=json&render=always&waitMs=50');
      expect(rich.headers.get('x-atrium-render')).toBe('rendered');
      expect(rich.body.metadata.siteName).toBe('Harbour Gazette');
    }, 60_000);

    it('hostile: a page that never finishes rendering is 504 by the deadline; the process lives on', async () => {
      const spinning = dl(`${origin.url}/spin`, 'format=text&render=always');
      // the API answers while the browser spins
      const live = await app.request('/health/live');
      expect(live.status).toBe(200);
      const res = await spinning;
      expect(res.status).toBe(504);
      expect(res.body.code).toBe('UPSTREAM_TIMEOUT');
      // and renders the next page
      const next = await dl(`${origin.url}/spa`, 'format=markdown&render=always&waitMs=1');
      expect(next.status).toBe(200);
      expect(next.text).toContain('# Built by script');
    }, 90_000);
  });

  describe('without Chromium', () => {
    let bare: RunningApp;
    beforeAll(async () => {
      bare = await startApp({
        DOWNLOAD_ALLOW_PRIVATE: 'true',
        RATE_LIMIT_DOWNLOAD: '10000',
        CHROMIUM_PATH: '/nonexistent/chromium',
      });
    }, 60_000);
    afterAll(() => bare?.close());
    const get = (path: string, query: string) =>
      bare.request(`/api/v1/download?url=${encodeURIComponent(`${origin.url}${path}`)}&${query}`);

    it('render=always is 503 RENDER_UNAVAILABLE; auto reads the served shell and says so', async () => {
      const always = await get('/spa', 'format=text&render=always');
      expect(always.status).toBe(503);
      expect(always.body.code).toBe('RENDER_UNAVAILABLE');
      const auto = await get('/spa', 'format=text');
      expect(auto.status).toBe(200);
      expect(auto.headers.get('x-atrium-render')).toBe('unavailable');
      expect(auto.text).not.toContain('Built by script');
      // not cached: once a browser is there, the page is rendered
      expect((await get('/spa', 'format=text')).headers.get('x-cache')).toBe('MISS');
      const page = await get('/rich', 'format=text');
      expect(page.headers.get('x-atrium-render')).toBe('static');
    });
  });

  describe('batches and crawls take the read options (a job-level `read` object)', () => {
    interface Result {
      url: string;
      success: boolean;
      content?: string;
      error?: { code: string };
    }
    const submit = (route: 'batch' | 'crawl', body: unknown) =>
      app.request(`/api/v1/${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenant-id': 'demo' },
        body: JSON.stringify(body),
      });
    const results = async (route: 'batch' | 'crawl', body: unknown): Promise<Result[]> => {
      const accepted = await submit(route, body);
      expect(accepted.status).toBe(202);
      const done = await waitFor(
        `job ${accepted.body.jobId}`,
        async () => {
          const r = await app.request(`/api/v1/jobs/${accepted.body.jobId}/results`, {
            headers: { 'x-tenant-id': 'demo' },
          });
          return r.status === 200 ? r : undefined;
        },
        120_000,
        50,
      );
      return done.body.results as Result[];
    };

    it('a crawl applies include/exclude selectors and mainContent=false to every page (path globs beside them)', async () => {
      const crawl = (read?: object) =>
        results('crawl', {
          url: `${origin.url}/mini/1`,
          include: ['/mini/**'],
          maxDepth: 1,
          sitemap: false,
          format: 'text',
          read,
        });
      const plain = await crawl();
      expect(plain.map((r) => r.url).sort()).toEqual([`${origin.url}/mini/1`, `${origin.url}/mini/2`]);
      expect(plain[0].content).toContain('Dropped paragraph');

      const dropped = await crawl({ exclude: '.drop', mainContent: false });
      expect(dropped).toHaveLength(2);
      for (const r of dropped) {
        expect(r.success).toBe(true);
        expect(r.content).not.toContain('Dropped paragraph');
        // the whole page, not the article: the navigation is there
        expect(r.content).toContain('Navigation words');
        expect(r.content).toContain('Plain paragraph');
      }
      const kept = await crawl({ include: '.keep' });
      expect(kept).toHaveLength(2);
      for (const r of kept) {
        expect(r.content).toContain('Kept paragraph');
        expect(r.content).not.toContain('Plain paragraph');
      }
    }, 60_000);

    it('an invalid read option is 400 VALIDATION_FAILED naming read.<option>', async () => {
      const cases: Array<['batch' | 'crawl', unknown, string]> = [
        ['batch', { urls: [`${origin.url}/rich`], read: { render: 'sometimes' } }, 'read.render'],
        ['batch', { urls: [`${origin.url}/rich`], read: { waitMs: 60_000 } }, 'read.waitMs'],
        ['batch', { urls: [`${origin.url}/rich`], read: { mainContent: 'no' } }, 'read.mainContent'],
        ['batch', { urls: [`${origin.url}/rich`], read: 'always' }, 'read'],
        ['crawl', { url: `${origin.url}/mini/1`, read: { waitFor: '#a >' } }, 'read.waitFor'],
        ['crawl', { url: `${origin.url}/mini/1`, read: { include: 'p:nope(' } }, 'read.include'],
        ['crawl', { url: `${origin.url}/mini/1`, read: { stray: 1 } }, 'read.stray'],
      ];
      for (const [route, body, field] of cases) {
        const res = await submit(route, body);
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
        expect(Object.keys(res.body.details.fields)).toEqual([field]);
      }
    });

    withChromium('rendered (Chromium)', () => {
      it('a batch with render=always returns the text an app shell builds; never reads the served shell', async () => {
        const [rendered] = await results('batch', {
          urls: [`${origin.url}/spa`],
          defaultFormat: 'text',
          // a variant no single download asked for: rendered for this batch, not read from the cache
          read: { render: 'always', waitFor: '#late', waitMs: 5 },
        });
        expect(rendered.success).toBe(true);
        expect(rendered.content).toContain('Built by script');
        expect(rendered.content).toContain('Arrived late: the evening ferry.');
        const [served] = await results('batch', {
          urls: [{ url: `${origin.url}/spa`, format: 'text' }],
          read: { render: 'never' },
        });
        expect(served.success).toBe(true);
        expect(served.content).not.toContain('Built by script');
      }, 90_000);

      it('a crawl renders its pages when asked and follows the links the script built', async () => {
        const crawl = (render: string) =>
          results('crawl', {
            url: `${origin.url}/shell-site`,
            sitemap: false,
            format: 'text',
            read: { render },
          });
        const rendered = await crawl('always');
        expect(rendered.map((r) => r.url).sort()).toEqual([
          `${origin.url}/shell-site`,
          `${origin.url}/shell-site/next`,
        ]);
        const home = rendered.find((r) => r.url === `${origin.url}/shell-site`);
        expect(home?.content).toContain('The harbour master counts the boats');
        // auto renders the shell too; never reads what is served: no text, no link
        const auto = await crawl('auto');
        expect(auto).toHaveLength(2);
        const served = await crawl('never');
        expect(served.map((r) => r.url)).toEqual([`${origin.url}/shell-site`]);
        expect(served[0].content).not.toContain('harbour master');
      }, 90_000);
    });
  });
});
