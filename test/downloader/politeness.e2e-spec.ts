import type { ServerResponse } from 'node:http';
import { RunningApp, startApp } from '../support/app';
import { OriginServer } from '../fixtures/origin-server';
import { waitFor } from './support';

const json = (body: unknown, tenant: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-tenant-id': tenant },
  body: JSON.stringify(body),
});
const text = (
  res: ServerResponse,
  body: string,
  status = 200,
  headers: Record<string, string> = {},
): void => {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
};
const metric = (exposition: string, line: string): number => {
  const found = exposition.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.split(' ')[1]) : 0;
};

/** Good citizenship (issue 24, item 4): robots.txt, per-host concurrency and spacing, Retry-After. */
describe('Downloader: robots.txt and per-host politeness (e2e)', () => {
  let app: RunningApp;
  let site: OriginServer; // robots.txt with Disallow and Crawl-delay
  let busy: OriginServer; // answers 429 with Retry-After
  let slow: OriginServer; // a host every tenant's batch hits
  let other: OriginServer;

  beforeAll(async () => {
    [site, busy, slow, other] = await Promise.all([
      OriginServer.start(),
      OriginServer.start(),
      OriginServer.start(),
      OriginServer.start(),
    ]);
    site.route('/robots.txt', (_req, res) =>
      text(
        res,
        [
          'User-agent: SomeOtherBot',
          'Disallow: /',
          '',
          'User-agent: AtriumDownloader',
          'Disallow: /private',
          'Allow: /private/open',
          'Crawl-delay: 0.3',
          '',
          'Sitemap: /sitemap.xml',
        ].join('\n'),
      ),
    );
    for (const path of ['/private/secret', '/private/open', '/page'])
      site.route(path, (_req, res) => text(res, `this is ${path}`));
    app = await startApp({
      DOWNLOAD_ALLOW_PRIVATE: 'true',
      DOWNLOAD_HOST_CONCURRENCY: '2',
      DOWNLOAD_CONTACT_URL: 'https://example.com/atrium-bot',
      RATE_LIMIT_BATCH: '10000',
      RATE_LIMIT_DEFAULT: '100000',
      RATE_LIMIT_DOWNLOAD: '100000',
      POOL_TENANT_SHARE: '1',
    });
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([site, busy, slow, other].map((o) => o?.close()));
  });

  const download = (url: string, tenant = 'demo') =>
    app.request(`/api/v1/download?url=${encodeURIComponent(url)}`, { headers: { 'x-tenant-id': tenant } });

  it('403 ROBOTS_DISALLOWED for a path robots.txt disallows for AtriumDownloader; its Allow and other paths pass; robots.txt read once', async () => {
    const before = await app.request('/metrics');
    const refused = await download(`${site.url}/private/secret`);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      code: 'ROBOTS_DISALLOWED',
      details: { userAgent: 'AtriumDownloader', robotsUrl: `${site.url}/robots.txt` },
    });
    expect(site.hits('/private/secret')).toHaveLength(0); // never fetched
    expect((await download(`${site.url}/private/open`)).status).toBe(200);
    const page = await download(`${site.url}/page`);
    expect(page.status).toBe(200);
    expect(page.text).toBe('this is /page');
    // one robots.txt for the host (cached), asked with Atrium's User-Agent and contact URL
    expect(site.hits('/robots.txt')).toHaveLength(1);
    expect(site.hits('/page')[0].headers['user-agent']).toBe(
      'AtriumDownloader/1.0 (+https://example.com/atrium-bot)',
    );
    const after = await app.request('/metrics');
    expect(metric(after.text, 'download_robots_total{result="disallowed"}')).toBe(
      metric(before.text, 'download_robots_total{result="disallowed"}') + 1,
    );
    expect(metric(after.text, 'download_robots_total{result="allowed"}')).toBeGreaterThanOrEqual(
      metric(before.text, 'download_robots_total{result="allowed"}') + 2,
    );
  });

  it('a tenant cannot turn robots.txt off (no such option)', async () => {
    const res = await app.request(
      `/api/v1/download?url=${encodeURIComponent(`${site.url}/private/secret`)}&robots=ignore`,
    );
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(site.hits('/private/secret')).toHaveLength(0);
  });

  it('spaces requests to the host by its Crawl-delay (0.3 s), across the URLs of a batch', async () => {
    const paths = Array.from({ length: 4 }, (_, i) => `/spaced-${i}`);
    for (const p of paths) site.route(p, (_req, res) => text(res, p));
    const accepted = await app.request(
      '/api/v1/batch',
      json({ urls: paths.map((p) => ({ url: `${site.url}${p}` })), concurrency: 4 }, 'demo'),
    );
    expect(accepted.status).toBe(202);
    await waitFor('the batch', async () => {
      const s = await app.request(`/api/v1/jobs/${accepted.body.jobId}`, {
        headers: { 'x-tenant-id': 'demo' },
      });
      return s.body.status === 'completed' ? s : undefined;
    });
    const starts = site.requests
      .filter((r) => r.path.startsWith('/spaced-'))
      .map((r) => r.at)
      .sort((a, b) => a - b);
    expect(starts).toHaveLength(4);
    for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeGreaterThanOrEqual(280);
  });

  it('DOWNLOAD_ROBOTS=ignore (the operator) lifts robots.txt', async () => {
    const open = await startApp({ DOWNLOAD_ALLOW_PRIVATE: 'true', DOWNLOAD_ROBOTS: 'ignore' });
    try {
      const res = await open.request(
        `/api/v1/download?url=${encodeURIComponent(`${site.url}/private/secret`)}`,
      );
      expect(res.status).toBe(200);
      expect(res.text).toBe('this is /private/secret');
    } finally {
      await open.close();
    }
  });

  it('429 with Retry-After: a download waits that long and retries; other requests to the host wait too', async () => {
    let n = 0;
    busy.route('/limited', (_req, res) =>
      ++n === 1 ? text(res, 'slow down', 429, { 'retry-after': '1' }) : text(res, `ok ${n}`),
    );
    const res = await download(`${busy.url}/limited`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('ok 2');
    const [first, second] = busy.hits('/limited').map((r) => r.at);
    expect(second - first).toBeGreaterThanOrEqual(950);
  });

  it('a batch URL whose host asks for longer than its time limit waits for the host and tries again', async () => {
    let n = 0;
    busy.route('/later', (_req, res) =>
      ++n === 1 ? text(res, 'come back later', 503, { 'retry-after': '2' }) : text(res, 'finally'),
    );
    const accepted = await app.request(
      '/api/v1/batch',
      json({ urls: [{ url: `${busy.url}/later` }], timeoutPerUrlMs: 1000 }, 'demo'),
    );
    const done = await waitFor('the batch', async () => {
      const r = await app.request(`/api/v1/jobs/${accepted.body.jobId}/results`, {
        headers: { 'x-tenant-id': 'demo' },
      });
      return r.status === 200 ? r : undefined;
    });
    expect(done.body.results[0]).toMatchObject({ success: true, content: 'finally' });
    const [first, second] = busy.hits('/later').map((r) => r.at);
    expect(second - first).toBeGreaterThanOrEqual(1950);
  });

  it('never more than DOWNLOAD_HOST_CONCURRENCY (2) in flight to a host across two tenants’ batches; waiting items show and hold no slot another tenant needs', async () => {
    const before = metric((await app.request('/metrics')).text, 'download_host_waits_total');
    const urls = (tag: string) =>
      Array.from({ length: 12 }, (_, i) => ({ url: `${slow.url}/latency?ms=150&id=${tag}${i}` }));
    const jobs = await Promise.all(
      (['acme', 'globex'] as const).map((t) =>
        app.request('/api/v1/batch', json({ urls: urls(t), concurrency: 10 }, t)),
      ),
    );
    jobs.forEach((j) => expect(j.status).toBe(202));
    // while acme's items wait for the slow host, another tenant's download from another host is not held up
    const seenWaiting = await waitFor('an item waiting for its host', async () => {
      const s = await app.request(`/api/v1/jobs/${jobs[0].body.jobId}`, {
        headers: { 'x-tenant-id': 'acme' },
      });
      return s.body.waitingUrls > 0 ? s.body : undefined;
    });
    expect(seenWaiting.status).toBe('running');
    other.route('/quick', (_req, res) => text(res, 'quick'));
    expect((await download(`${other.url}/quick`, 'initech')).status).toBe(200);
    const acmeNow = await app.request(`/api/v1/jobs/${jobs[0].body.jobId}`, {
      headers: { 'x-tenant-id': 'acme' },
    });
    expect(acmeNow.body.status).toBe('running'); // the quick download finished while acme's batch still ran

    for (const [i, t] of (['acme', 'globex'] as const).entries()) {
      const done = await waitFor(`${t}'s batch`, async () => {
        const s = await app.request(`/api/v1/jobs/${jobs[i].body.jobId}`, { headers: { 'x-tenant-id': t } });
        return s.body.status === 'completed' ? s.body : undefined;
      });
      expect(done).toMatchObject({ succeeded: 12, failed: 0, waitingUrls: 0 });
    }
    expect(slow.hits('/latency')).toHaveLength(24);
    expect(slow.latencyPeak).toBe(2); // counted at the origin
    const after = metric((await app.request('/metrics')).text, 'download_host_waits_total');
    expect(after).toBeGreaterThan(before);
  });

  it("a host's turns go round the tenants: another tenant's one download is not queued behind a batch's waiting items", async () => {
    const urls = Array.from({ length: 12 }, (_, i) => ({ url: `${slow.url}/latency?ms=300&id=round${i}` }));
    const job = await app.request('/api/v1/batch', json({ urls, concurrency: 10 }, 'acme'));
    expect(job.status).toBe(202);
    const status = async () =>
      (await app.request(`/api/v1/jobs/${job.body.jobId}`, { headers: { 'x-tenant-id': 'acme' } })).body;
    await waitFor('acme items waiting for the slow host', async () =>
      (await status()).waitingUrls >= 8 ? true : undefined,
    );
    // first come, first served would serve initech after acme's eight or more waiting items (12 done by then)
    expect((await download(`${slow.url}/latency?ms=10&id=initech`, 'initech')).status).toBe(200);
    const acme = await status();
    expect(acme.succeeded).toBeLessThanOrEqual(6);
    await waitFor("acme's batch", async () => ((await status()).status === 'completed' ? true : undefined));
  });
});
