// Issue 25, item 3: no tenant can starve another through a shared pool. Against the built app in a child
// process on the embedded default (PGlite: its one database session is one of the pools), tenant acme
// saturates a pool — download slots, parser children, the database session — and tenant demo's one small
// request must be answered (never refused) while acme's work is still running. The proofs are orders of
// completions, never durations; the only time bounds are the "does not hang" kind.
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { form } from '../fixtures/documents/builders';
import { TestResponse } from '../support/app';
import { HOSTILE_TIMEOUT_MS, HostileApp } from './harness';
import { elementFloodHtml, largeText } from './payloads';

jest.setTimeout(HOSTILE_TIMEOUT_MS * 2);

/** How long acme's URLs take at the origin: far longer than demo's instant page needs. */
const SLOW_MS = 6000;

function origin(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`page ${url.search}`);
    };
    if (url.pathname === '/slow') setTimeout(answer, SLOW_MS);
    else answer();
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () =>
      r({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

/** Resolves with the response and when it finished (an order of events, not a duration). */
async function timed(p: Promise<TestResponse>): Promise<{ res: TestResponse; at: number }> {
  const res = await p;
  return { res, at: performance.now() };
}

describe('fair shares between tenants (built app in a child process, PGlite)', () => {
  let app: HostileApp;
  let site: { server: Server; url: string };

  beforeAll(async () => {
    site = await origin();
    app = await HostileApp.start({
      backend: 'pglite',
      env: {
        DOWNLOAD_ALLOW_PRIVATE: 'true',
        RATE_LIMIT_ENABLED: 'false',
        // small pools, so saturating them is cheap; the default share (half of each)
        DOWNLOAD_CONCURRENCY: '4',
        EXTRACTION_WORKERS: '2',
        // every request goes to one loopback host: per-host politeness (4 at once by default, for every tenant
        // together) is lifted so that what is measured is the download pool's share per tenant
        DOWNLOAD_HOST_CONCURRENCY: '100',
      },
    });
    for (const tenant of ['demo', 'acme'] as const)
      expect(
        (
          await app.tenantRequest(
            '/api/v1/stores',
            {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ name: 'shared' }),
            },
            tenant,
          )
        ).status,
      ).toBe(201);
  });
  afterAll(async () => {
    await app?.stop();
    await new Promise((r) => site?.server.close(r));
  });

  const download = (tenant: 'demo' | 'acme', path: string) =>
    app.tenantRequest(
      `/api/v1/download?format=raw&url=${encodeURIComponent(`${site.url}${path}`)}`,
      {},
      tenant,
    );
  const upload = (tenant: 'demo' | 'acme', name: string, data: Buffer | string) =>
    app.tenantRequest(
      '/api/v1/stores/shared/documents',
      { method: 'POST', body: form([[name, data]]) },
      tenant,
    );

  it("download slots: acme's 8 slow downloads hold its share; demo's instant download is answered before any of them", async () => {
    const heavy = Array.from({ length: 8 }, (_, i) => timed(download('acme', `/slow?i=${i}`)));
    await new Promise((r) => setTimeout(r, 500)); // acme's downloads have taken their slots and queued
    const quiet = await timed(download('demo', '/instant?q=1'));
    const done = await Promise.all(heavy);
    expect({ status: quiet.res.status, body: quiet.res.text }).toEqual({ status: 200, body: 'page ?q=1' });
    expect(done.every((d) => d.res.status === 200)).toBe(true);
    // first come, first served would have answered it after acme's first wave at least
    expect(quiet.at).toBeLessThan(Math.min(...done.map((d) => d.at)));
  });

  it("parser children: acme's 4 concurrent heavy HTML uploads hold one child; demo's small HTML is parsed and stored first", async () => {
    const heavy = Array.from({ length: 4 }, (_, i) =>
      timed(
        upload(
          'acme',
          `flood-${i}.html`,
          Buffer.concat([Buffer.from(`<!-- ${i} -->`), elementFloodHtml(200_000)]),
        ),
      ),
    );
    await new Promise((r) => setTimeout(r, 500));
    const quiet = await timed(
      upload('demo', 'note.html', '<html><body><p>a short note from demo</p></body></html>'),
    );
    const done = await Promise.all(heavy);
    expect({ status: quiet.res.status, rejected: quiet.res.body.rejected }).toEqual({
      status: 201,
      rejected: [],
    });
    // acme's answers are its own business (stored or refused at a parser limit), never a 500
    for (const d of done) expect(d.res.status).toBeLessThan(500);
    expect(quiet.at).toBeLessThan(Math.min(...done.map((d) => d.at)));
  });

  it("the database session: acme's large upload is stored in steps; demo's upload and list run between them", async () => {
    const heavy = timed(upload('acme', 'large.txt', largeText(4 * 1024 * 1024)));
    await new Promise((r) => setTimeout(r, 2000)); // acme's upload is storing its chunks by now
    const quiet = await timed(
      upload('demo', 'small.txt', 'a small text from demo, stored between the steps'),
    );
    const list = await timed(app.tenantRequest('/api/v1/stores/shared/documents', {}, 'demo'));
    const done = await heavy;
    expect({ status: quiet.res.status, rejected: quiet.res.body.rejected }).toEqual({
      status: 201,
      rejected: [],
    });
    expect(list.res.status).toBe(200);
    expect(done.res.status).toBe(201);
    // one transaction would have held the session until acme's upload was done (or demo's timed out: 503)
    expect(Math.max(quiet.at, list.at)).toBeLessThan(done.at);
  });
});
