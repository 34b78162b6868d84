import type { ServerResponse } from 'node:http';
import { RunningApp, startApp } from '../support/app';
import { OriginServer } from '../fixtures/origin-server';
import { hugeSitemap, linkedSite, linkFarm, sitePage } from '../fixtures/crawl-site';
import { verifySignature, waitFor, webhookReceiver, WEBHOOK_SECRET } from './support';

const post = (body: unknown, tenant = 'demo'): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-tenant-id': tenant },
  body: JSON.stringify(body),
});
const text = (res: ServerResponse, body: string, type = 'text/plain'): void => {
  res.writeHead(200, { 'content-type': `${type}; charset=utf-8` });
  res.end(body);
};

interface Result {
  url: string;
  success: boolean;
  format: string;
  content?: string;
  error?: { code: string };
}

/** Crawls (issue 24, item 5) against sites on loopback: a 200-page site, sitemaps, robots.txt, hostile sites. */
describe('Downloader: crawls (e2e)', () => {
  let app: RunningApp;
  let site: OriginServer;
  let mapped: OriginServer;
  let hostile: OriginServer;

  beforeAll(async () => {
    [site, mapped, hostile] = await Promise.all([
      OriginServer.start(),
      OriginServer.start(),
      OriginServer.start(),
    ]);
    linkedSite(site, 200);
    // a site whose pages are found only through its sitemaps, one of them named by robots.txt
    mapped.route('/robots.txt', (_req, res) =>
      text(res, `User-agent: *\nDisallow: /hidden\n\nSitemap: ${mapped.url}/sitemaps/extra.xml\n`),
    );
    mapped.route('/', (_req, res) =>
      text(res, '<html><body><p>home, no links</p></body></html>', 'text/html'),
    );
    mapped.route('/sitemap.xml', (_req, res) =>
      text(
        res,
        `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>${mapped.url}/a</loc></url><url><loc>${mapped.url}/b?y=2&amp;x=1</loc></url>
<url><loc>${mapped.url}/hidden/page</loc></url><url><loc>https://elsewhere.example/c</loc></url></urlset>`,
        'application/xml',
      ),
    );
    mapped.route('/sitemaps/extra.xml', (_req, res) =>
      text(
        res,
        `<urlset><url><loc>${mapped.url}/b?x=1&amp;y=2</loc></url><url><loc>${mapped.url}/c</loc></url></urlset>`,
        'application/xml',
      ),
    );
    for (const p of ['/a', '/b', '/c', '/hidden/page'])
      mapped.route(p, (_req, res) => text(res, `page ${p}`));
    linkFarm(hostile);
    hugeSitemap(hostile, '/sitemap.xml', 150_000);
    hostile.route('/', (_req, res) =>
      text(res, '<html><body><a href="/farm">farm</a></body></html>', 'text/html'),
    );
    app = await startApp({
      DOWNLOAD_ALLOW_PRIVATE: 'true',
      DOWNLOAD_HOST_CONCURRENCY: '8',
      CRAWL_MAX_PAGES: '300',
      WEBHOOK_SECRET,
      RATE_LIMIT_BATCH: '10000',
      RATE_LIMIT_DEFAULT: '100000',
    });
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([site, mapped, hostile].map((o) => o?.close()));
  });

  const crawl = (body: unknown, tenant = 'demo') => app.request('/api/v1/crawl', post(body, tenant));
  const results = async (jobId: string, tenant = 'demo'): Promise<{ status: string; results: Result[] }> =>
    (
      await waitFor(
        `crawl ${jobId}`,
        async () => {
          const r = await app.request(`/api/v1/jobs/${jobId}/results`, {
            headers: { 'x-tenant-id': tenant },
          });
          return r.status === 200 ? r : undefined;
        },
        120_000,
        50,
      )
    ).body;

  it('crawls a site of 200 linked pages: every page once, only the site, one UrlResult per page, progress as it goes', async () => {
    site.reset();
    const accepted = await crawl({ url: `${site.url}/site/p0`, maxPages: 250, maxDepth: 10, sitemap: false });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({
      status: 'queued',
      statusUrl: `/api/v1/jobs/${accepted.body.jobId}`,
    });
    const status = await app.request(`/api/v1/jobs/${accepted.body.jobId}`);
    expect(status.body).toMatchObject({ kind: 'crawl' });
    const done = await results(accepted.body.jobId);
    expect(done.status).toBe('completed');
    expect(done.results).toHaveLength(200);
    expect(new Set(done.results.map((r) => r.url)).size).toBe(200);
    done.results.forEach((r) => expect(r).toMatchObject({ success: true, format: 'markdown' }));
    const p7 = done.results.find((r) => r.url === `${site.url}${sitePage(7)}`);
    expect(p7?.content).toContain('This is page 7 of the test site');
    for (let n = 0; n < 200; n++) expect(site.requests.filter((r) => r.path === sitePage(n))).toHaveLength(1); // deduplicated
    const final = await app.request(`/api/v1/jobs/${accepted.body.jobId}`);
    expect(final.body).toMatchObject({ status: 'completed', totalUrls: 200, succeeded: 200, progress: 100 });
  });

  it('stops at maxPages and maxDepth, and honours include/exclude path globs', async () => {
    const capped = await results(
      (
        await crawl({
          url: `${site.url}/site/p0`,
          maxPages: 50,
          maxDepth: 10,
          sitemap: false,
          format: 'text',
        })
      ).body.jobId,
    );
    expect(capped.results).toHaveLength(50);
    const shallow = await results(
      (await crawl({ url: `${site.url}/site/p0`, maxDepth: 2, sitemap: false })).body.jobId,
    );
    expect(shallow.results.map((r) => r.url).sort()).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((n) => `${site.url}${sitePage(n)}`).sort(),
    );
    const filtered = await results(
      (
        await crawl({
          url: `${site.url}/site/p0`,
          maxPages: 300,
          maxDepth: 10,
          sitemap: false,
          exclude: ['/site/p1*'],
        })
      ).body.jobId,
    );
    const urls = filtered.results.map((r) => new URL(r.url).pathname);
    expect(urls).toContain('/site/p2');
    expect(urls.filter((u) => u.startsWith('/site/p1'))).toEqual([]);
  });

  it('reads /sitemap.xml and robots.txt Sitemap: lines, deduplicates by normalised URL, skips what robots.txt disallows; signed crawl.completed webhook', async () => {
    const robotsCount = async (result: string): Promise<number> => {
      const line = (await app.request('/metrics')).text
        .split('\n')
        .find((l) => l.startsWith(`download_robots_total{result="${result}"} `));
      return line ? Number(line.split(' ')[1]) : 0;
    };
    const [allowedBefore, disallowedBefore] = [await robotsCount('allowed'), await robotsCount('disallowed')];
    const deliveries = webhookReceiver(site, '/crawl-hook');
    const accepted = await crawl({ url: `${mapped.url}/`, webhookUrl: `${site.url}/crawl-hook` });
    const done = await results(accepted.body.jobId);
    // each URL once in download_robots_total: the two sitemaps and four pages fetched, the one page skipped
    expect((await robotsCount('allowed')) - allowedBefore).toBe(6);
    expect((await robotsCount('disallowed')) - disallowedBefore).toBe(1);
    expect(done.results.map((r) => r.url).sort()).toEqual(
      [`${mapped.url}/`, `${mapped.url}/a`, `${mapped.url}/b?x=1&y=2`, `${mapped.url}/c`].sort(),
    );
    expect(mapped.hits('/hidden')).toHaveLength(0);
    expect(mapped.hits('/b')).toHaveLength(1);
    await waitFor('the webhook', async () => (deliveries.length ? true : undefined));
    expect(deliveries[0].json).toMatchObject({
      event: 'crawl.completed',
      jobId: accepted.body.jobId,
      status: 'completed',
    });
    expect(
      verifySignature(
        WEBHOOK_SECRET,
        deliveries[0].body,
        deliveries[0].headers['x-atrium-signature'] as string,
      ),
    ).toBe(true);
  });

  it('bad requests are coded 400s; another tenant’s crawl is a 404; a running crawl can be cancelled', async () => {
    const tooMany = await crawl({ url: `${site.url}/site/p0`, maxPages: 301 });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { fields: { maxPages: expect.any(Array) } },
    });
    expect((await crawl({ url: 'not a url' })).body.code).toBe('INVALID_URL');
    expect((await crawl({ url: 'file:///etc/passwd' })).body.code).toBe('URL_BLOCKED');
    const badGlob = await crawl({ url: `${site.url}/`, include: ['docs/**'] });
    expect(badGlob.status).toBe(400);
    expect((await crawl({ url: `${site.url}/`, maxDepth: 99 })).body.code).toBe('VALIDATION_FAILED');

    const running = await crawl({
      url: `${hostile.url}/farm`,
      maxPages: 300,
      maxDepth: 20,
      sitemap: false,
      concurrency: 1,
    });
    expect(
      (await app.request(`/api/v1/jobs/${running.body.jobId}`, { headers: { 'x-tenant-id': 'acme' } }))
        .status,
    ).toBe(404);
    await waitFor('some pages', async () => {
      const s = await app.request(`/api/v1/jobs/${running.body.jobId}`);
      return s.body.processedUrls > 2 ? true : undefined;
    });
    expect((await app.request(`/api/v1/jobs/${running.body.jobId}`, { method: 'DELETE' })).status).toBe(202);
    const cancelled = await results(running.body.jobId);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.results.length).toBeLessThan(300);
  });

  describe('hostile sites', () => {
    it('an infinite link farm is bounded by maxPages and maxDepth; a 150 000-URL sitemap by maxPages; the process lives', async () => {
      const farm = await results(
        (await crawl({ url: `${hostile.url}/farm`, maxPages: 120, maxDepth: 20, sitemap: false })).body.jobId,
      );
      expect(farm.status).toBe('completed');
      expect(farm.results).toHaveLength(120);
      const deep = await results(
        (await crawl({ url: `${hostile.url}/farm`, maxPages: 300, maxDepth: 1, sitemap: false })).body.jobId,
      );
      expect(deep.results).toHaveLength(11); // the start page and its ten links

      const mapped = await results(
        (await crawl({ url: `${hostile.url}/`, maxPages: 40, maxDepth: 0, sitemap: true })).body.jobId,
      );
      expect(mapped.status).toBe('completed');
      expect(mapped.results).toHaveLength(40); // the start page and 39 listed pages (404s: failed results)
      expect(mapped.results.filter((r) => r.url.includes('/huge-site/'))).toHaveLength(39);
      expect((await app.request('/health/live')).status).toBe(200);
      const metrics = (await app.request('/metrics')).text;
      expect(metrics).toMatch(/^crawl_pages_total\{status="success"\} [1-9]/m);
    });
  });
});
