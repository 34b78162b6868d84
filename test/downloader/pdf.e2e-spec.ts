import { existsSync } from 'node:fs';
import { Resolver } from '@app/downloader/url-policy/resolver';
import { RunningApp, startApp } from '../support/app';
import { OriginServer } from '../fixtures/origin-server';

const CHROMIUM = '/usr/bin/chromium';
const withChromium = existsSync(CHROMIUM) ? describe : describe.skip;

async function pdf(
  app: RunningApp,
  url: string,
): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(`${app.url}/api/v1/download?url=${encodeURIComponent(url)}&format=pdf`);
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/**
 * PDF rendering with the system Chromium under the DEFAULT policy: `public.test` is answered by the
 * app's Resolver with a public address that only this test dials on the loopback origin, so the page
 * is allowed while a sub-resource on 127.0.0.1 is not.
 */
withChromium('Downloader: PDF rendering (e2e)', () => {
  const PUBLIC = '93.184.215.14';
  let origin: OriginServer;
  let app: RunningApp;

  beforeAll(async () => {
    origin = await OriginServer.start();
    app = await startApp({
      PDF_CONCURRENCY: '1',
      DOWNLOAD_TIMEOUT_MS: '20000',
      RATE_LIMIT_DOWNLOAD: '10000',
    });
    const resolver = app.atrium.app.get(Resolver, { strict: false });
    jest.spyOn(resolver, 'lookup').mockImplementation(async (host: string) => {
      if (host === 'public.test') return [{ address: PUBLIC, family: 4 }];
      if (host === 'evil.test') return [{ address: '127.0.0.1', family: 4 }];
      throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    });
    jest.spyOn(resolver, 'dialAddress').mockImplementation((a: string) => (a === PUBLIC ? '127.0.0.1' : a));
  }, 60_000);
  afterAll(async () => {
    jest.restoreAllMocks();
    await app?.close();
    await origin?.close();
  });
  beforeEach(() => origin.reset());

  it("a page's requests reach its host six at a time, not all at once (30 frames)", async () => {
    const res = await pdf(app, `http://public.test:${origin.port}/page?frames=30&frameMs=150`);
    expect(res.status).toBe(200);
    expect(origin.hits('/latency')).toHaveLength(30);
    expect(origin.latencyPeak).toBeGreaterThan(1);
    expect(origin.latencyPeak).toBeLessThanOrEqual(6);
  });

  it('renders a page as PDF; sub-resources on blocked addresses are never fetched', async () => {
    const P = origin.port;
    const page =
      `http://public.test:${P}/page?img=${encodeURIComponent(`http://127.0.0.1:${P}/secret?from=img`)}` +
      `&fetch=${encodeURIComponent(`http://evil.test:${P}/secret?from=fetch`)}`;
    const res = await pdf(app, page);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(res.headers.get('x-original-url')).toBe(page);
    expect(res.headers.get('x-original-content-type')).toBe('text/html; charset=utf-8');

    expect(origin.hits('/page')).toHaveLength(1);
    // the allowed image came through the downloader (our User-Agent, the pinned public name)…
    const pixel = origin.hits('/pixel.png');
    expect(pixel).toHaveLength(1);
    expect(pixel[0].headers['user-agent']).toBe('AtriumDownloader/1.0');
    expect(pixel[0].headers.host).toBe(`public.test:${P}`);
    // …the ones on blocked addresses never reached the origin
    expect(origin.hits('/secret')).toHaveLength(0);
    expect(origin.requests.every((r) => r.headers.host === `public.test:${P}`)).toBe(true);
  }, 60_000);

  it('render=always: a rendered page makes its requests through the same URL policy', async () => {
    const P = origin.port;
    const page =
      `http://public.test:${P}/page?render=1&img=${encodeURIComponent(`http://127.0.0.1:${P}/secret?from=img`)}` +
      `&fetch=${encodeURIComponent(`http://evil.test:${P}/secret?from=fetch`)}`;
    const res = await app.request(
      `/api/v1/download?url=${encodeURIComponent(page)}&format=text&render=always`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('x-atrium-render')).toBe('rendered');
    expect(res.text).toContain('Some text to print.');
    expect(origin.hits('/page')).toHaveLength(1);
    expect(origin.hits('/pixel.png')).toHaveLength(1);
    expect(origin.hits('/secret')).toHaveLength(0);
    expect(origin.requests.every((r) => r.headers.host === `public.test:${P}`)).toBe(true);
  }, 60_000);

  it('a second PDF download is served from the cache', async () => {
    const url = `http://public.test:${origin.port}/page?cached=1`;
    expect((await pdf(app, url)).headers.get('x-cache')).toBe('MISS');
    const again = await pdf(app, url);
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(again.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(origin.hits('/page')).toHaveLength(1);
  }, 60_000);

  it('decodes a page that declares no charset as UTF-8, like the html and text formats', async () => {
    const page =
      '<!doctype html><html><head><title>t</title></head><body><p>Opening hours 9–17, café</p></body></html>';
    origin.route('/undeclared', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }); // no charset, no <meta charset>
      res.end(Buffer.from(page, 'utf8'));
    });
    const url = `http://public.test:${origin.port}/undeclared`;
    const res = await pdf(app, url);
    expect(res.status).toBe(200);
    const { getDocumentProxy, extractText } = await import('unpdf');
    const { text } = await extractText(await getDocumentProxy(new Uint8Array(res.bytes)), {
      mergePages: true,
    });
    expect(text).toContain('9–17, café');
    expect(text).not.toContain('â€');
    const asText = await app.request(`/api/v1/download?url=${encodeURIComponent(url)}&format=text`);
    expect(asText.text).toContain('9–17, café');
  }, 60_000);

  it('refuses a page on a blocked address before any browser work', async () => {
    const res = await app.request(
      `/api/v1/download?url=${encodeURIComponent(`http://evil.test:${origin.port}/page`)}&format=pdf`,
    );
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('URL_BLOCKED');
    expect(origin.connections).toBe(0);
  });

  it('503 CAPACITY_EXCEEDED when every PDF slot is busy', async () => {
    const slow = pdf(app, `http://public.test:${origin.port}/slow?ms=1500&pdf=1`);
    // the slot is taken before the page is fetched: once the origin sees the request, the pool is full
    while (origin.hits('/slow').length === 0) await new Promise((r) => setTimeout(r, 10));
    const busy = await app.request(
      `/api/v1/download?url=${encodeURIComponent(`http://public.test:${origin.port}/page?busy=1`)}&format=pdf`,
    );
    expect(busy.status).toBe(503);
    expect(busy.body).toMatchObject({ code: 'CAPACITY_EXCEEDED', details: { pool: 'pdf', limit: 1 } });
    expect(busy.headers.get('retry-after')).toBe('1');
    expect((await slow).status).toBe(200);
  }, 60_000);
});

describe('Downloader: PDF without a browser (e2e)', () => {
  let origin: OriginServer;
  let app: RunningApp;

  beforeAll(async () => {
    origin = await OriginServer.start();
    app = await startApp({ DOWNLOAD_ALLOW_PRIVATE: 'true', CHROMIUM_PATH: '/nonexistent/chromium' });
  });
  afterAll(async () => {
    await app?.close();
    await origin?.close();
  });

  it('503 PDF_UNAVAILABLE when CHROMIUM_PATH points at a missing file; other formats still work', async () => {
    const res = await app.request(
      `/api/v1/download?url=${encodeURIComponent(`${origin.url}/page`)}&format=pdf`,
    );
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('PDF_UNAVAILABLE');
    expect(origin.connections).toBe(0);
    const accept = await app.request(`/api/v1/download?url=${encodeURIComponent(`${origin.url}/page`)}`, {
      headers: { accept: 'application/pdf' },
    });
    expect(accept.body.code).toBe('PDF_UNAVAILABLE');
    expect(
      (await app.request(`/api/v1/download?url=${encodeURIComponent(`${origin.url}/page`)}&format=text`))
        .status,
    ).toBe(200);
    const health = await app.request('/health');
    expect(JSON.stringify(health.body)).toContain('"pdf":"unavailable"');
  });
});
