import { Resolver } from '@app/downloader/url-policy/resolver';
import { RunningApp, startApp } from '../support/app';
import { OriginServer } from '../fixtures/origin-server';
import { waitFor } from './support';

/**
 * The DEFAULT URL policy against real sockets: every attempt is refused with 403 URL_BLOCKED and the
 * origin (listening on 127.0.0.1) never sees a connection. Names are answered by the app's injectable
 * Resolver (no /etc/hosts, no real DNS): `public.test` resolves to a public address, which only in this
 * test is dialled on loopback — the positive control proving a refused URL would have reached the origin.
 */
describe('Downloader: SSRF attempts under the default policy (e2e)', () => {
  const PUBLIC = '93.184.215.14';
  let origin: OriginServer;
  let app: RunningApp;
  let lookups: string[];
  let P: number;

  const NAMES: Record<string, string[]> = {
    'public.test': [PUBLIC],
    'evil.test': ['127.0.0.1'],
    'evil6.test': ['::1'],
    'mixed.test': [PUBLIC, '10.0.0.7'],
    'metadata.test': ['169.254.169.254'],
    'mapped.test': ['::ffff:127.0.0.1'],
  };

  beforeAll(async () => {
    origin = await OriginServer.start();
    P = origin.port;
    app = await startApp({
      WEBHOOK_SECRET: 'a-very-secret-webhook-key',
      RATE_LIMIT_DOWNLOAD: '10000',
      RATE_LIMIT_BATCH: '10000',
    });
    const resolver = app.atrium.app.get(Resolver, { strict: false });
    lookups = [];
    let rebindCalls = 0;
    let hookCalls = 0;
    jest.spyOn(resolver, 'lookup').mockImplementation(async (hostname: string) => {
      lookups.push(hostname);
      // a rebinding name: public on the first two answers (the download's robots.txt request and the page's
      // own request, each a hop resolved once), loopback on every later one
      if (hostname === 'rebind.test')
        return [{ address: rebindCalls++ < 2 ? PUBLIC : '127.0.0.1', family: 4 }];
      if (hostname === 'hook-rebind.test')
        return [{ address: hookCalls++ === 0 ? PUBLIC : '127.0.0.1', family: 4 }];
      const found = NAMES[hostname];
      if (!found) throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return found.map((address) => ({ address, family: Resolver.familyOf(address) }));
    });
    // only in this test: the accepted public address is served by the loopback origin
    jest.spyOn(resolver, 'dialAddress').mockImplementation((a: string) => (a === PUBLIC ? '127.0.0.1' : a));
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await app?.close();
    await origin?.close();
  });
  beforeEach(() => origin.reset());

  const download = (url: string, format = 'text') =>
    app.request(`/api/v1/download?url=${encodeURIComponent(url)}&format=${format}`);

  it('positive control: an allowed name reaches the origin through the pinned address', async () => {
    const res = await download(`http://public.test:${P}/plain.txt`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('just plain text\nsecond line');
    expect(origin.hits('/plain.txt')).toHaveLength(1);
    expect(origin.hits('/plain.txt')[0].headers.host).toBe(`public.test:${P}`);
  });

  const ATTEMPTS = (): string[] => [
    `http://127.0.0.1:${P}/secret`,
    `http://2130706433:${P}/secret`,
    `http://0177.0.0.1:${P}/secret`,
    `http://0177.0000.0000.0001:${P}/secret`,
    `http://0x7f.1:${P}/secret`,
    `http://0x7f000001:${P}/secret`,
    `http://0x7f.0x0.0x0.0x1:${P}/secret`,
    `http://127.1:${P}/secret`,
    `http://127.0.1:${P}/secret`,
    `http://017700000001:${P}/secret`,
    `http://127.0.0.1.:${P}/secret`,
    `http://%31%32%37%2e%30%2e%30%2e%31:${P}/secret`,
    `http://localhost:${P}/secret`,
    `http://LOCALHOST:${P}/secret`,
    `http://localhost.:${P}/secret`,
    `http://api.localhost:${P}/secret`,
    `http://0.0.0.0:${P}/secret`,
    `http://0:${P}/secret`,
    `http://[::1]:${P}/secret`,
    `http://[::]:${P}/secret`,
    `http://[0:0:0:0:0:0:0:1]:${P}/secret`,
    `http://[::ffff:127.0.0.1]:${P}/secret`,
    `http://[::ffff:7f00:1]:${P}/secret`,
    `http://[0:0:0:0:0:ffff:127.0.0.1]:${P}/secret`,
    `http://[::127.0.0.1]:${P}/secret`,
    `http://[::7f00:1]:${P}/secret`, // IPv4-compatible, hex
    `http://[::ffff:0:127.0.0.1]:${P}/secret`, // SIIT
    `http://[64:ff9b::7f00:1]:${P}/secret`,
    `http://[64:ff9b::127.0.0.1]:${P}/secret`,
    `http://[2002:7f00:1::]:${P}/secret`,
    `http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:${P}/secret`, // Teredo carrying 127.0.0.1
    `http://0X7F000001:${P}/secret`,
    `http://0x7f.0.1:${P}/secret`, // hex, short form
    `http://0x7f.0.0.01:${P}/secret`, // hex and octal mixed
    `http://[fe80::1]:${P}/secret`,
    `http://[fc00::1]:${P}/secret`,
    `http://[fd00::1]:${P}/secret`,
    `http://[fec0::1]:${P}/secret`,
    `http://[ff02::1]:${P}/secret`,
    `http://10.0.0.1:${P}/secret`,
    `http://172.16.0.1:${P}/secret`,
    `http://192.168.1.1:${P}/secret`,
    `http://169.254.169.254/latest/meta-data/`,
    `http://[::ffff:169.254.169.254]/latest/meta-data/`,
    // the metadata service in the other forms and spellings (refused before any connection is tried)
    `http://2852039166/latest/meta-data/`, // decimal
    `http://0xa9fea9fe/latest/meta-data/`, // hex
    `http://0251.0376.0251.0376/latest/meta-data/`, // octal
    `http://169.254.43518/latest/meta-data/`, // short form
    `http://[::a9fe:a9fe]/latest/meta-data/`, // IPv4-compatible
    `http://[64:ff9b::169.254.169.254]/latest/meta-data/`, // NAT64
    `http://[2002:a9fe:a9fe::1]/latest/meta-data/`, // 6to4
    `http://012.0.0.1:${P}/secret`, // 10.0.0.1, octal
    `http://3232235777:${P}/secret`, // 192.168.1.1, decimal
    `http://100.64.0.1:${P}/secret`,
    `http://[::ffff:100.64.0.1]:${P}/secret`,
    `http://198.18.0.1:${P}/secret`,
    `http://192.0.2.1:${P}/secret`, // documentation
    `http://198.51.100.7:${P}/secret`,
    `http://203.0.113.9:${P}/secret`,
    `http://[2001:db8::1]:${P}/secret`,
    `http://[3fff::1]:${P}/secret`,
    `http://224.0.0.1:${P}/secret`,
    `http://[::ffff:224.0.0.1]:${P}/secret`,
    `http://255.255.255.255:${P}/secret`,
    `http://[::ffff:255.255.255.255]:${P}/secret`,
    `http://240.0.0.1:${P}/secret`, // reserved
    `http://[::ffff:240.0.0.1]:${P}/secret`,
    `http://[100::1]:${P}/secret`, // discard-only
    `http://[4000::1]:${P}/secret`, // outside global unicast
    `http://evil.test:${P}/secret`, // public-looking name resolving to 127.0.0.1
    `http://evil6.test:${P}/secret`,
    `http://mixed.test:${P}/secret`, // one public and one private record
    `http://metadata.test/latest/meta-data/`,
    `http://mapped.test:${P}/secret`,
    `http://public.test@127.0.0.1:${P}/secret`, // credentials trick
    `http://user:pass@public.test:${P}/secret`,
    `file:///etc/passwd`,
    `gopher://127.0.0.1:${P}/_GET%20/secret`,
    `ftp://127.0.0.1:${P}/secret`,
    `dict://127.0.0.1:${P}/info`,
  ];

  it('has at least 40 attempts', () => {
    expect(ATTEMPTS().length).toBeGreaterThanOrEqual(40);
  });

  it('refuses every attempt with 403 URL_BLOCKED and the origin sees no connection', async () => {
    const outcomes: Array<[string, number, string]> = [];
    for (const url of ATTEMPTS()) {
      for (const format of ['text', 'raw']) {
        const res = await download(url, format);
        outcomes.push([`${format} ${url}`, res.status, res.body.code]);
      }
    }
    const wrong = outcomes.filter(([, status, code]) => status !== 403 || code !== 'URL_BLOCKED');
    expect(wrong).toEqual([]);
    expect(origin.requests).toEqual([]);
    expect(origin.connections).toBe(0);
  });

  it('refuses a PDF of an internal address without starting a page', async () => {
    const res = await download(`http://127.0.0.1:${P}/secret`, 'pdf');
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('URL_BLOCKED');
    expect(origin.connections).toBe(0);
  });

  it.each([
    ['a loopback literal', (p: number) => `http://127.0.0.1:${p}/secret`],
    ['an IPv4-mapped literal', (p: number) => `http://[::ffff:127.0.0.1]:${p}/secret`],
    ['a decimal literal', (p: number) => `http://2130706433:${p}/secret`],
    ['a name resolving to loopback', (p: number) => `http://evil.test:${p}/secret`],
    ['the metadata service', () => `http://169.254.169.254/latest/meta-data/`],
  ])('refuses a redirect from an allowed origin to %s', async (_label, target) => {
    const res = await download(`http://public.test:${P}/redirect?n=2&to=${encodeURIComponent(target(P))}`);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('URL_BLOCKED');
    expect(origin.hits('/redirect')).toHaveLength(2); // the allowed hops were fetched…
    expect(origin.hits('/secret')).toHaveLength(0); // …the refused one never was
    expect(origin.requests.every((r) => r.headers.host === `public.test:${P}`)).toBe(true);
  });

  it('resolves each hop once and keeps dialling the checked address (DNS rebinding)', async () => {
    lookups.length = 0;
    const res = await download(`http://rebind.test:${P}/plain.txt`);
    expect(res.status).toBe(200);
    expect(lookups.filter((h) => h === 'rebind.test')).toHaveLength(2); // robots.txt's hop and the page's
    expect(origin.hits('/robots.txt')).toHaveLength(1);
    expect(origin.hits('/plain.txt')).toHaveLength(1);
    // the next resolution says loopback: refused, not connected
    origin.reset();
    const again = await app.request(
      `/api/v1/download?url=${encodeURIComponent(`http://rebind.test:${P}/plain.txt?again`)}&format=text`,
    );
    expect(again.status).toBe(403);
    expect(origin.connections).toBe(0);
  });

  it.each([
    (p: number) => `http://127.0.0.1:${p}/hook`,
    (p: number) => `http://[::1]:${p}/hook`,
    (p: number) => `http://evil.test:${p}/hook`,
    () => `http://169.254.169.254/hook`,
    (p: number) => `http://0x7f.1:${p}/hook`,
  ])('refuses a webhook URL pointing inside at submit (%#)', async (hook) => {
    const res = await app.request('/api/v1/batch', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ urls: [{ url: `http://public.test:${P}/plain.txt` }], webhookUrl: hook(P) }),
    });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('URL_BLOCKED');
    expect(origin.connections).toBe(0);
  });

  it('a webhook URL that is not a URL is 400 INVALID_URL', async () => {
    const res = await app.request('/api/v1/batch', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ urls: [{ url: `http://public.test:${P}/plain.txt` }], webhookUrl: 'not a url' }),
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_URL');
  });

  it('a batch URL pointing inside fails with URL_BLOCKED and is never fetched', async () => {
    const submit = await app.request('/api/v1/batch', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        urls: [{ url: `http://127.0.0.1:${P}/secret` }, { url: `http://evil.test:${P}/secret` }],
      }),
    });
    expect(submit.status).toBe(202);
    const results = await waitFor('the job to finish', async () => {
      const res = await app.request(`/api/v1/jobs/${submit.body.jobId}/results`);
      return res.status === 200 ? res : undefined;
    });
    expect(results.status).toBe(200);
    expect(results.body.status).toBe('failed');
    expect(results.body.results.map((r: { error: { code: string } }) => r.error.code)).toEqual([
      'URL_BLOCKED',
      'URL_BLOCKED',
    ]);
    expect(origin.connections).toBe(0);
  });

  it('checks the webhook URL again at each delivery: allowed at submit, refused when it later resolves inside', async () => {
    const delivered: string[] = [];
    origin.route('/hook', (req, res) => {
      delivered.push(String(req.headers['x-atrium-event']));
      res.writeHead(200).end('ok');
    });
    const failures = async (): Promise<number> =>
      Number(
        /webhook_deliveries_total\{result="failure"\} (\d+)/.exec(
          (await app.request('/metrics')).text,
        )?.[1] ?? 0,
      );
    const before = await failures();
    const submit = (hook: string) =>
      app.request('/api/v1/batch', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenant-id': 'hooks' },
        body: JSON.stringify({
          urls: [{ url: `http://public.test:${P}/plain.txt?for=${hook}` }],
          webhookUrl: hook,
        }),
      });
    // control: a stable public name gets its delivery
    expect((await submit(`http://public.test:${P}/hook`)).status).toBe(202);
    for (let i = 0; i < 200 && delivered.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(delivered).toEqual(['batch.completed']);

    origin.reset();
    expect((await submit(`http://hook-rebind.test:${P}/hook`)).status).toBe(202);
    for (let i = 0; i < 200 && (await failures()) === before; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(await failures()).toBe(before + 1);
    expect(origin.hits('/hook')).toHaveLength(0);
    expect(origin.hits('/plain.txt')).toHaveLength(1); // the job itself ran (its URL differs, no cache hit)
  });

  it('counts refusals as downloader_errors_total{error_type="blocked"}', async () => {
    const metrics = await app.request('/metrics');
    const line = metrics.text
      .split('\n')
      .find((l) => l.startsWith('downloader_errors_total{error_type="blocked"}'));
    expect(Number(line?.split(' ')[1])).toBeGreaterThanOrEqual(100);
  });
});
