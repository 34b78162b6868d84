import { RunningApp, startApp } from '../support/app';
import { ARTICLE_HTML, BINARY, JSON_DOC, OriginServer } from '../fixtures/origin-server';

/**
 * GET /api/v1/download against a real origin on a real socket. The origin is on loopback, so the
 * functional tests run with DOWNLOAD_ALLOW_PRIVATE=true (the SSRF suite uses the default policy).
 */
describe('Downloader: GET /api/v1/download (e2e)', () => {
  let origin: OriginServer;
  let app: RunningApp;
  const dl = (url: string, format?: string, init?: RequestInit) =>
    app.request(`/api/v1/download?url=${encodeURIComponent(url)}${format ? `&format=${format}` : ''}`, init);
  const raw = async (url: string, format: string) => {
    const res = await fetch(`${app.url}/api/v1/download?url=${encodeURIComponent(url)}&format=${format}`);
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  };

  beforeAll(async () => {
    origin = await OriginServer.start();
    app = await startApp({
      DOWNLOAD_ALLOW_PRIVATE: 'true',
      DOWNLOAD_MAX_BYTES: String(1024 * 1024),
      DOWNLOAD_TIMEOUT_MS: '1500',
      DOWNLOAD_RETRIES: '2',
      DOWNLOAD_CACHE_TTL_MS: '60000',
      DOWNLOAD_USER_AGENT: 'AtriumTest/9.9',
      RATE_LIMIT_DOWNLOAD: '10000',
    });
  });
  afterAll(async () => {
    await app?.close();
    await origin?.close();
  });
  beforeEach(() => origin.reset());

  describe('an article page', () => {
    it('text: the article without navigation, footer or scripts', async () => {
      const res = await dl(`${origin.url}/article`, 'text');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(res.text).toMatch(/^Atrium Field Notes/);
      expect(res.text).toContain('tiered cache sits in front of the upstream service');
      expect(res.text).toContain('Why it matters');
      expect(res.text).not.toContain('About us');
      expect(res.text).not.toContain('Copyright footer');
      expect(res.text).not.toContain('trackingPixel');
      expect(res.headers.get('x-original-url')).toBe(`${origin.url}/article`);
      expect(res.headers.get('x-original-content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('x-content-length')).toBe(String(Buffer.byteLength(ARTICLE_HTML)));
      expect(res.headers.get('x-cache')).toBe('MISS');
    });

    it('markdown: headings, lists and absolute links', async () => {
      const res = await dl(`${origin.url}/article`, 'markdown');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      expect(res.text).toMatch(/^# Atrium Field Notes/);
      expect(res.text).toContain('## Why it matters');
      expect(res.text).toMatch(/^- +Pinned connections$/m);
      expect(res.text).toContain(`[the policy notes](${origin.url}/docs/policy)`);
      expect(res.text).not.toContain('Copyright footer');
    });

    it('html: the page as the origin sent it, sandboxed', async () => {
      const res = await dl(`${origin.url}/article`, 'html');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.text).toBe(ARTICLE_HTML);
      expect(res.headers.get('content-security-policy')).toContain('sandbox');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    });

    it('json: metadata and the body in base64', async () => {
      const res = await dl(`${origin.url}/article`, 'json');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        url: `${origin.url}/article`,
        finalUrl: `${origin.url}/article`,
        statusCode: 200,
        contentType: 'text/html; charset=utf-8',
        bytes: Buffer.byteLength(ARTICLE_HTML),
      });
      expect(Buffer.from(res.body.contentBase64, 'base64').toString('utf8')).toBe(ARTICLE_HTML);
    });

    it('raw: the bytes with the origin content type', async () => {
      const res = await raw(`${origin.url}/article`, 'raw');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.bytes.toString('utf8')).toBe(ARTICLE_HTML);
    });

    it('picks the format from Accept when format is absent', async () => {
      const md = await dl(`${origin.url}/article`, undefined, { headers: { accept: 'text/markdown' } });
      expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      const json = await dl(`${origin.url}/article`, undefined, {
        headers: { accept: 'text/html;q=0.2, application/json' },
      });
      expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const html = await dl(`${origin.url}/article`, undefined, { headers: { accept: 'text/html' } });
      expect(html.text).toBe(ARTICLE_HTML);
      const def = await dl(`${origin.url}/article`, undefined, { headers: { accept: '*/*' } });
      expect(def.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    });
  });

  describe('a JSON document', () => {
    it('text and raw return the JSON text; json wraps it; markdown fences it', async () => {
      const text = await dl(`${origin.url}/data.json`, 'text');
      expect(text.status).toBe(200);
      expect(JSON.parse(text.text)).toEqual(JSON_DOC);
      const r = await raw(`${origin.url}/data.json`, 'raw');
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(JSON.parse(r.bytes.toString('utf8'))).toEqual(JSON_DOC);
      const json = await dl(`${origin.url}/data.json`, 'json');
      expect(json.body.contentType).toBe('application/json');
      expect(JSON.parse(Buffer.from(json.body.contentBase64, 'base64').toString('utf8'))).toEqual(JSON_DOC);
      const md = await dl(`${origin.url}/data.json`, 'markdown');
      expect(md.text).toBe('```json\n' + JSON.stringify(JSON_DOC, null, 2) + '\n```');
    });

    it('html of a JSON document is 422 EXTRACTION_FAILED', async () => {
      const res = await dl(`${origin.url}/data.json`, 'html');
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('EXTRACTION_FAILED');
    });
  });

  describe('a binary file', () => {
    it('raw returns the exact bytes; json their base64', async () => {
      const r = await raw(`${origin.url}/binary.png`, 'raw');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('image/png');
      expect(r.bytes.equals(BINARY)).toBe(true);
      expect(r.headers.get('x-content-length')).toBe(String(BINARY.length));
      const json = await dl(`${origin.url}/binary.png`, 'json');
      expect(Buffer.from(json.body.contentBase64, 'base64').equals(BINARY)).toBe(true);
      expect(json.body.bytes).toBe(BINARY.length);
    });

    it.each(['text', 'markdown', 'html'])('%s of a binary is 422 EXTRACTION_FAILED', async (format) => {
      const res = await dl(`${origin.url}/binary.png`, format);
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'EXTRACTION_FAILED', details: { contentType: 'image/png' } });
    });
  });

  describe('a redirect chain', () => {
    it.each(['text', 'markdown', 'html', 'json', 'raw'])(
      '%s follows it and reports the final URL',
      async (format) => {
        const res = await dl(`${origin.url}/redirect?n=3&to=/article`, format);
        expect(res.status).toBe(200);
        expect(res.headers.get('x-original-url')).toBe(`${origin.url}/article`);
        if (format === 'json') expect(res.body.finalUrl).toBe(`${origin.url}/article`);
        if (format === 'json') expect(res.body.redirects).toBe(3);
        if (format === 'text') expect(res.text).toMatch(/^Atrium Field Notes/);
        expect(origin.hits('/redirect')).toHaveLength(3);
      },
    );

    it('follows 301/303/307/308 too, and refuses a sixth hop', async () => {
      for (const status of [301, 303, 307, 308]) {
        const ok = await dl(`${origin.url}/redirect?n=5&status=${status}&to=/plain.txt`, 'text');
        expect(ok.status).toBe(200);
        expect(ok.text).toBe('just plain text\nsecond line');
      }
      origin.reset();
      const tooMany = await dl(`${origin.url}/redirect?n=6&to=/plain.txt`, 'text');
      expect(tooMany.status).toBe(403);
      expect(tooMany.body).toMatchObject({ code: 'URL_BLOCKED', details: { reason: 'too_many_redirects' } });
      expect(origin.hits('/plain.txt')).toHaveLength(0);
    });
  });

  describe('limits and failures', () => {
    it('413 CONTENT_TOO_LARGE from Content-Length, before reading the body', async () => {
      const res = await dl(`${origin.url}/huge?bytes=${5 * 1024 * 1024}`, 'raw');
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ code: 'CONTENT_TOO_LARGE', details: { limit: 1024 * 1024 } });
    });

    it('413 while streaming a body without Content-Length', async () => {
      const res = await dl(`${origin.url}/huge?bytes=${5 * 1024 * 1024}&length=0`, 'raw');
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('CONTENT_TOO_LARGE');
    });

    it('413 for a gzip bomb: the limit applies to the decoded bytes', async () => {
      const res = await dl(`${origin.url}/gzip-bomb?mb=50`, 'raw');
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('CONTENT_TOO_LARGE');
    });

    it('decodes gzip and brotli', async () => {
      expect((await dl(`${origin.url}/gzip`, 'text')).text).toBe('hello from gzip');
      expect((await dl(`${origin.url}/br`, 'text')).text).toBe('hello from brotli');
    });

    it('504 UPSTREAM_TIMEOUT for slow headers and for a slow body (deadline over the whole download)', async () => {
      // DOWNLOAD_TIMEOUT_MS is 1.5 s and each origin takes 5 s: a deadline on the headers only would let
      // the trickling body through as a 200, so the 504s (not a duration) show where the deadline applies
      const slow = await dl(`${origin.url}/slow?ms=5000`, 'text');
      expect(slow.status).toBe(504);
      expect(slow.body.code).toBe('UPSTREAM_TIMEOUT');
      const trickle = await dl(`${origin.url}/slow-body?ms=5000`, 'text');
      expect(trickle.status).toBe(504);
      expect(trickle.body.code).toBe('UPSTREAM_TIMEOUT');
    });

    it('the deadline covers redirects: a slow final hop still times out', async () => {
      const res = await dl(`${origin.url}/redirect?n=2&to=${encodeURIComponent('/slow?ms=4000')}`, 'text');
      expect(res.status).toBe(504);
    });

    it('502 UPSTREAM_ERROR with the upstream status; 5xx is retried, 4xx is not', async () => {
      const notFound = await dl(`${origin.url}/status?code=404`, 'text');
      expect(notFound.status).toBe(502);
      expect(notFound.body).toMatchObject({ code: 'UPSTREAM_ERROR', details: { upstreamStatus: 404 } });
      expect(origin.hits('/status')).toHaveLength(1);
      origin.reset();
      const broken = await dl(`${origin.url}/status?code=500`, 'text');
      expect(broken.body).toMatchObject({ code: 'UPSTREAM_ERROR', details: { upstreamStatus: 500 } });
      expect(origin.hits('/status')).toHaveLength(3); // 1 + DOWNLOAD_RETRIES
    });

    it('retries a flaky origin until it answers', async () => {
      const res = await dl(`${origin.url}/flaky?fail=2&key=a`, 'text');
      expect(res.status).toBe(200);
      expect(res.text).toBe('ok after 2 failure(s)');
    });

    it('502 for a connection reset, retried', async () => {
      const res = await dl(`${origin.url}/reset`, 'text');
      expect(res.status).toBe(502);
      expect(res.body.code).toBe('UPSTREAM_ERROR');
      expect(origin.hits('/reset')).toHaveLength(3);
    });

    it('400 INVALID_URL and 400 VALIDATION_FAILED for bad input; never a 500', async () => {
      expect((await dl('not a url')).body.code).toBe('INVALID_URL');
      const missing = await app.request('/api/v1/download');
      expect(missing.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: 'Invalid request: url is required',
        details: { fields: { url: ['url is required'] } }, // one message, not three
      });
      expect((await dl(`${origin.url}/article`, 'docx')).body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('request to the origin', () => {
    it('keeps the target query string intact and sends the configured User-Agent and the request id', async () => {
      const target = `${origin.url}/echo?q=a%20b&x=%2F&y=1&y=2&empty=&plus=a+b`;
      const res = await dl(target, 'raw', { headers: { 'x-request-id': 'trace-123' } });
      expect(res.status).toBe(200);
      expect(res.body.url).toBe('/echo?q=a%20b&x=%2F&y=1&y=2&empty=&plus=a+b');
      expect(res.body.headers['user-agent']).toBe('AtriumTest/9.9');
      expect(res.body.headers['x-request-id']).toBe('trace-123');
      expect(res.body.headers['accept-encoding']).toContain('gzip');
    });
  });

  describe('content cache', () => {
    it('serves the second download from the cache, per format', async () => {
      const first = await dl(`${origin.url}/article?cache=1`, 'markdown');
      expect(first.headers.get('x-cache')).toBe('MISS');
      const second = await dl(`${origin.url}/article?cache=1`, 'markdown');
      expect(second.headers.get('x-cache')).toBe('HIT');
      expect(second.text).toBe(first.text);
      expect(second.headers.get('x-original-url')).toBe(`${origin.url}/article?cache=1`);
      expect(origin.hits('/article')).toHaveLength(1);
      const other = await dl(`${origin.url}/article?cache=1`, 'text');
      expect(other.headers.get('x-cache')).toBe('MISS');
      expect(origin.hits('/article')).toHaveLength(2);
    });

    it('50 concurrent identical downloads make one origin fetch (get-or-load, single flight)', async () => {
      const url = `${origin.url}/slow?ms=400&shared=1`;
      const responses = await Promise.all(Array.from({ length: 50 }, () => dl(url, 'text')));
      expect(responses.map((r) => [r.status, r.text])).toEqual(Array(50).fill([200, 'finally']));
      expect(origin.hits('/slow')).toHaveLength(1);
      // the one that loaded and the ones that waited for it are misses; any that came after, hits
      expect(responses.every((r) => ['MISS', 'HIT'].includes(r.headers.get('x-cache')!))).toBe(true);
      expect((await dl(url, 'text')).headers.get('x-cache')).toBe('HIT');
    });

    it('Cache-Control: no-cache bypasses the read and stores the fresh copy', async () => {
      await dl(`${origin.url}/article?cache=2`, 'text');
      const bypass = await dl(`${origin.url}/article?cache=2`, 'text', {
        headers: { 'cache-control': 'no-cache' },
      });
      expect(bypass.headers.get('x-cache')).toBe('BYPASS');
      expect(origin.hits('/article')).toHaveLength(2);
    });

    it('keeps tenants apart', async () => {
      await dl(`${origin.url}/article?cache=3`, 'text', { headers: { 'x-tenant-id': 'acme' } });
      const other = await dl(`${origin.url}/article?cache=3`, 'text', {
        headers: { 'x-tenant-id': 'globex' },
      });
      expect(other.headers.get('x-cache')).toBe('MISS');
    });

    it('does not cache no-store responses', async () => {
      await dl(`${origin.url}/echo?c=4`, 'raw');
      const again = await dl(`${origin.url}/echo?c=4`, 'raw');
      expect(again.headers.get('x-cache')).toBe('MISS');
    });

    it.each<[string, Record<string, string>, 'HIT' | 'MISS']>([
      ['max-age', { 'cache-control': 'max-age=60' }, 'HIT'],
      ['Max-Age in any case', { 'cache-control': 'Public, Max-Age=60' }, 'HIT'],
      ['nothing stated (DOWNLOAD_CACHE_TTL_MS)', {}, 'HIT'],
      ['a future Expires', { expires: new Date(Date.now() + 3_600_000).toUTCString() }, 'HIT'],
      [
        'Set-Cookie (Atrium sends and passes on none)',
        { 'cache-control': 'max-age=60', 'set-cookie': 'a=b' },
        'HIT',
      ],
      ['an Age as old as max-age', { 'cache-control': 'max-age=60', age: '60' }, 'MISS'],
      ['an Expires in the past', { expires: new Date(Date.now() - 60_000).toUTCString() }, 'MISS'],
      ['private (the cache is shared by a tenant)', { 'cache-control': 'private, max-age=60' }, 'MISS'],
      ['no-store', { 'cache-control': 'No-Store' }, 'MISS'],
      ['s-maxage=0 over max-age', { 'cache-control': 'max-age=60, s-maxage=0' }, 'MISS'],
      ['Vary: *', { 'cache-control': 'max-age=60', vary: '*' }, 'MISS'],
    ])(
      "follows the origin's caching headers: %s %j → the second download is a %s",
      async (label, headers, second) => {
        const path = `/cache-headers-${label.replace(/\W+/g, '-')}`;
        origin.route(path, (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', ...headers });
          res.end('cacheable?');
        });
        expect((await dl(`${origin.url}${path}`, 'raw')).headers.get('x-cache')).toBe('MISS');
        expect((await dl(`${origin.url}${path}`, 'raw')).headers.get('x-cache')).toBe(second);
        expect(origin.hits(path)).toHaveLength(second === 'HIT' ? 1 : 2);
      },
    );

    it('after max-age revalidates with If-None-Match: 304 reuses the copy, a changed ETag is picked up', async () => {
      const r = origin.etagResource;
      Object.assign(r, { etag: '"v1"', body: 'version one', maxAgeSeconds: 1 });
      expect((await dl(`${origin.url}/etag`, 'text')).text).toBe('version one');
      expect((await dl(`${origin.url}/etag`, 'text')).headers.get('x-cache')).toBe('HIT');
      expect(origin.hits('/etag')).toHaveLength(1);

      await new Promise((res) => setTimeout(res, 1200));
      const revalidated = await dl(`${origin.url}/etag`, 'text');
      expect(revalidated.text).toBe('version one');
      expect(revalidated.headers.get('x-cache')).toBe('HIT');
      expect(origin.hits('/etag')).toHaveLength(2);
      expect(origin.hits('/etag')[1].headers['if-none-match']).toBe('"v1"');

      Object.assign(r, { etag: '"v2"', body: 'version two' });
      // still fresh after the 304: the old copy is served until max-age passes again
      expect((await dl(`${origin.url}/etag`, 'text')).text).toBe('version one');
      await new Promise((res) => setTimeout(res, 1200));
      const changed = await dl(`${origin.url}/etag`, 'text');
      expect(changed.text).toBe('version two');
      expect(changed.headers.get('x-cache')).toBe('MISS');
      expect((await dl(`${origin.url}/etag`, 'text')).headers.get('x-cache')).toBe('HIT');
    });

    it('revalidates with If-Modified-Since when there is no ETag', async () => {
      Object.assign(origin.etagResource, { body: 'lm body', maxAgeSeconds: 1 });
      await dl(`${origin.url}/last-modified`, 'text');
      await new Promise((res) => setTimeout(res, 1200));
      const again = await dl(`${origin.url}/last-modified`, 'text');
      expect(again.text).toBe('lm body');
      expect(again.headers.get('x-cache')).toBe('HIT');
      expect(origin.hits('/last-modified')[1].headers['if-modified-since']).toBe(
        origin.etagResource.lastModified,
      );
    });
  });

  describe('metrics', () => {
    it('exports the downloader metrics of observability.md', async () => {
      await dl(`${origin.url}/plain.txt`, 'text');
      const res = await app.request('/metrics');
      for (const name of [
        'downloader_requests_total{format="text",status="success"}',
        'downloader_response_time_seconds_bucket{',
        'downloader_errors_total{error_type="too_large"}',
        'downloader_errors_total{error_type="timeout"}',
        'downloader_errors_total{error_type="http_error"}',
        'downloader_errors_total{error_type="extraction"}',
        'downloader_bytes_total ',
        'downloader_concurrency_active{pool="download"}',
        'downloader_concurrency_limit{pool="pdf"}',
        'downloader_concurrency_limit{pool="batch"}',
        'batch_jobs_in_queue{state="waiting"}',
        'webhook_deliveries_total{result="success"}',
      ])
        expect(res.text).toContain(name);
      const live = await app.request('/metrics/live');
      expect(JSON.stringify(live.body)).toContain('"download"');
    });
  });
});

describe('Downloader: rate limits (e2e)', () => {
  let origin: OriginServer;
  let app: RunningApp;

  beforeAll(async () => {
    origin = await OriginServer.start();
    app = await startApp({
      DOWNLOAD_ALLOW_PRIVATE: 'true',
      RATE_LIMIT_DOWNLOAD: '2',
      RATE_LIMIT_BATCH: '1',
      RATE_LIMIT_WINDOW_MS: '60000',
    });
  });
  afterAll(async () => {
    await app?.close();
    await origin?.close();
  });

  it('limits the download and batch routes per client with 429 RATE_LIMITED and Retry-After', async () => {
    const url = `/api/v1/download?url=${encodeURIComponent(`${origin.url}/plain.txt`)}`;
    const first = await app.request(url);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect((await app.request(url)).status).toBe(200);
    const limited = await app.request(url);
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(limited.headers.get('retry-after')).toBeTruthy();

    const batch = () =>
      app.request('/api/v1/batch', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ urls: [{ url: `${origin.url}/plain.txt` }] }),
      });
    expect((await batch()).status).toBe(202);
    expect((await batch()).status).toBe(429);
  });
});
