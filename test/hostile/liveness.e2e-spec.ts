// Issue 25, item 6: /health/live keeps answering within LIVENESS_BOUND_MS while Chromium renders hostile
// pages — a script that never ends, a memory hog, 1,000 iframes, all at once — and while 6 MB CSV and JSON
// documents are uploaded (issue 25 tried 19 MB; the API's share of an upload — a bounded step at a time — does
// not grow with it, and the largest document's hand-over from its child, 19 MiB, is proved by
// database.e2e-spec.ts; 6 MB keeps storing, two-thirds of this tier's time at 19 MB, short). Against the
// built app in a child process (test/hostile/harness.ts), with a local
// origin serving the pages. The browser and playwright run in the browser host child (niceness 10): the
// API's event loop only answers the page's requests.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { form } from '../fixtures/documents/builders';
import { expectSurvived, HOSTILE_TIMEOUT_MS, HostileApp, hostileBackends } from './harness';

jest.setTimeout(HOSTILE_TIMEOUT_MS * 2);

const CHROMIUM = '/usr/bin/chromium';
const MiB = 1024 * 1024;
/** Each ledger document's size: a third of issue 25's 19 MB, the same bound proved in a third of the time. */
const DOC_BYTES = 6 * MiB;

const PAGES: Record<string, string> = {
  '/loop': '<html><body><p>spin</p><script>for (;;) {}</script></body></html>',
  '/hog':
    '<html><body><p>hog</p><script>const a = []; for (;;) a.push(new Array(1e6).fill(Math.random()));</script></body></html>',
  '/iframes': `<html><body>${Array.from({ length: 1000 }, (_, i) => `<iframe src="/frame?i=${i}"></iframe>`).join('')}</body></html>`,
  '/frame': '<html><body><p>a frame</p></body></html>',
};

function origin(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const page = PAGES[new URL(req.url ?? '/', 'http://x').pathname];
    res.writeHead(page ? 200 : 404, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(page ?? 'not found');
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

/** A CSV of DOC_BYTES: a header and rows of five columns. */
function bigCsv(): Buffer {
  const rows = ['id,name,city,amount,notes'];
  let size = rows[0].length;
  for (let i = 0; size < DOC_BYTES; i++) {
    const row = `${i},name ${i},city ${i % 977},${(i * 7.3).toFixed(2)},note about item ${i} of the ledger`;
    rows.push(row);
    size += row.length + 1;
  }
  return Buffer.from(rows.join('\n'));
}

/** A JSON array of small objects, DOC_BYTES long. */
function bigJson(): Buffer {
  const items: string[] = [];
  let size = 2;
  for (let i = 0; size < DOC_BYTES; i++) {
    const item = JSON.stringify({
      id: i,
      name: `name ${i}`,
      tags: ['a', `t${i % 100}`],
      text: `item ${i} of the ledger`,
    });
    items.push(item);
    size += item.length + 1;
  }
  return Buffer.from(`[${items.join(',')}]`);
}

(existsSync(CHROMIUM) ? describe : describe.skip)('liveness while Chromium renders hostile pages', () => {
  let app: HostileApp;
  let site: { server: Server; url: string };

  beforeAll(async () => {
    site = await origin();
    app = await HostileApp.start({
      backend: 'pglite',
      env: {
        DOWNLOAD_ALLOW_PRIVATE: 'true',
        // the three pages at once, for two tenants; each page gets 15 s (the loop never finishes loading)
        PDF_CONCURRENCY: '3',
        POOL_TENANT_SHARE: '1',
        DOWNLOAD_TIMEOUT_MS: '15000',
      },
    });
  });
  afterAll(async () => {
    await app?.stop();
    await new Promise((r) => site?.server.close(r));
  });

  it('a script loop, a memory hog and 1,000 iframes rendered at once: every liveness poll answers, each page a coded answer', async () => {
    const pdf = (path: string, tenant: 'demo' | 'acme') =>
      app.tenantRequest(
        `/api/v1/download?format=pdf&url=${encodeURIComponent(`${site.url}${path}`)}`,
        {},
        tenant,
      );
    const probe = await app.during(() =>
      Promise.all([pdf('/loop', 'demo'), pdf('/hog', 'acme'), pdf('/iframes', 'demo')]),
    );
    for (const res of probe.value) {
      // printed (200), or the page's own failure: 504 UPSTREAM_TIMEOUT (never loads), 502 (the browser's
      // page crashed at its heap limit) — never a 500, never a hang
      expect([200, 502, 504]).toContain(res.status);
      if (res.status !== 200) expect(res.body.code).toMatch(/^UPSTREAM_/);
    }
    await expectSurvived(app, probe);
    // the browser (and playwright, which launched it) runs in the browser host: no browser process is the API
    // process's own child, whose event loop would run playwright's side of the browser protocol
    const browser = Object.entries(app.rss().byPid).filter(([, p]) => p.command === 'chromium');
    expect(browser.length).toBeGreaterThan(0);
    const parentOf = (pid: string): number => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      } catch {
        return -1; // ended since it was listed
      }
    };
    expect(browser.filter(([pid]) => parentOf(pid) === app.pid)).toEqual([]);
  });
});

describe.each(hostileBackends().filter((b) => b === 'postgres'))(
  // The API's own work on an upload (reading it, handing it to an extraction child — where it is sniffed,
  // decoded, parsed, normalised and chunked — and sending the result to the database) is the same on both backends; Postgres stores a large document several times faster than PGlite, which keeps the tier short.
  'liveness during 6 MB CSV and JSON uploads on %s',
  (backend) => {
    let app: HostileApp;

    beforeAll(async () => {
      app = await HostileApp.start({ backend });
      expect((await app.createStore('ledger')).status).toBe(201);
    });
    afterAll(() => app?.stop());

    it.each([
      ['ledger.csv', bigCsv, 'text/csv'],
      ['ledger.json', bigJson, 'application/json'],
    ] as const)('%s: stored while every liveness poll answers', async (filename, make, contentType) => {
      const data = make();
      const jobsBefore = await app.metric('pool_wait_seconds_count', { pool: 'extraction' });
      const probe = await app.during(() =>
        app.tenantRequest('/api/v1/stores/ledger/documents', {
          method: 'POST',
          body: form([[filename, data]]),
        }),
      );
      expect({ status: probe.value.status, body: probe.value.body }).toMatchObject({
        status: 201,
        body: { documents: [{ filename, contentType, bytes: data.length }] },
      });
      await expectSurvived(app, probe);
      // decoding, the JSON parse of sniffing, normalising and chunking ran in an extraction child (one job):
      // the liveness bound alone, beyond the machine's own delay, can pass with them on the loop too
      expect(await app.metric('pool_wait_seconds_count', { pool: 'extraction' })).toBe(jobsBefore + 1);
    });
  },
);
