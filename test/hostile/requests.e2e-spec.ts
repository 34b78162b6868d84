import { buildZip, form } from '../fixtures/documents/builders';
import { expectSurvived, HOSTILE_TIMEOUT_MS, HostileApp, hostileBackends } from './harness';

jest.setTimeout(HOSTILE_TIMEOUT_MS);

/** Every route that takes a JSON body (the webhook needs no key; the others get the tenant's). */
const JSON_ROUTES = [
  '/api/v1/stores',
  '/api/v1/search',
  '/api/v1/batch',
  '/api/v1/buildings/cache/invalidate',
  '/api/v1/buildings/cache/warm',
  '/api/v1/webhooks/building-directory',
];

/** A .docx whose text holds NUL characters, raw and as an XML character reference (mammoth passes both through). */
function docxWithNul(): Buffer {
  const doc =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>' +
    '<w:p><w:r><w:t>alpha\u0000beta</w:t></w:r></w:p><w:p><w:r><w:t>gamma&#0;delta</w:t></w:r></w:p></w:body></w:document>';
  return buildZip([
    [
      '[Content_Types].xml',
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    ],
    [
      '_rels/.rels',
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
    ],
    ['word/document.xml', doc],
  ]);
}

const nested = (levels: number): string => `{"name":${'['.repeat(levels)}${']'.repeat(levels)}}`;

describe.each(hostileBackends())('hostile requests on %s (built app in a child process)', (backend) => {
  let app: HostileApp;

  beforeAll(async () => {
    app = await HostileApp.start({ backend });
  });
  afterAll(() => app?.stop());

  const postJson = (path: string, body: string) =>
    app.tenantRequest(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  describe('JSON nesting depth (BODY_JSON_MAX_DEPTH, default 32)', () => {
    it('refuses 2,000 levels in 4 KB on every JSON route with 400 MALFORMED_JSON naming the limit', async () => {
      const body = nested(2000);
      expect(body.length).toBeLessThan(4100);
      const probe = await app.during(() => Promise.all(JSON_ROUTES.map((r) => postJson(r, body))));
      for (const res of probe.value) {
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ code: 'MALFORMED_JSON', details: { maxDepth: 32 } });
        expect(res.body.message).toContain('32');
        expect(typeof res.body.requestId).toBe('string');
      }
      await expectSurvived(app, probe);
    });

    it('refuses 8 concurrent 1 MB nested bodies the same way', async () => {
      const body = nested(499_990);
      expect(body.length).toBeLessThan(1_000_000);
      const probe = await app.during(() =>
        Promise.all(Array.from({ length: 8 }, () => postJson('/api/v1/search', body))),
      );
      for (const res of probe.value)
        expect(res.body).toMatchObject({ statusCode: 400, code: 'MALFORMED_JSON' });
      await expectSurvived(app, probe);
    });

    it('lets nesting up to the limit through to validation (which names the field)', async () => {
      const res = await postJson('/api/v1/stores', nested(31));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(Object.keys(res.body.details.fields)).toContain('name');
    });
  });

  describe('NUL characters (PostgreSQL cannot store them)', () => {
    beforeAll(async () => {
      expect((await postJson('/api/v1/stores', JSON.stringify({ name: 'nul-store' }))).status).toBe(201);
    });

    const nulFieldsOf = (res: { body: { details?: { fields?: Record<string, unknown> } } }) =>
      Object.keys(res.body.details?.fields ?? {});

    it('refuses a NUL in the store name on all six /stores/{store}… routes with 400 VALIDATION_FAILED naming it', async () => {
      const store = 'nul%00store';
      const calls: [string, string, RequestInit?][] = [
        ['GET', `/api/v1/stores/${store}`],
        ['DELETE', `/api/v1/stores/${store}`],
        ['GET', `/api/v1/stores/${store}/documents`],
        ['POST', `/api/v1/stores/${store}/documents`, { body: form([['a.txt', 'hello']]) }],
        ['GET', `/api/v1/stores/${store}/documents/00000000-0000-0000-0000-000000000000`],
        ['DELETE', `/api/v1/stores/${store}/documents/00000000-0000-0000-0000-000000000000`],
      ];
      const probe = await app.during(() =>
        Promise.all(calls.map(([method, path, init]) => app.tenantRequest(path, { method, ...init }))),
      );
      for (const res of probe.value) {
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
        expect(nulFieldsOf(res)).toEqual(['store']);
      }
      await expectSurvived(app, probe);
    });

    it('refuses a NUL in query strings (search q, downloader url, cursor) naming the parameter', async () => {
      const probe = await app.during(() =>
        Promise.all([
          app.tenantRequest('/api/v1/search?store=nul-store&q=ab%00cd'),
          app.tenantRequest('/api/v1/stores/nul-store/documents?cursor=%00'),
          app.tenantRequest('/api/v1/download?url=http%3A%2F%2Fexample.com%2F%00'),
        ]),
      );
      expect(probe.value.map((r) => [r.status, r.body.code, nulFieldsOf(r)])).toEqual([
        [400, 'VALIDATION_FAILED', ['q']],
        [400, 'VALIDATION_FAILED', ['cursor']],
        [400, 'VALIDATION_FAILED', ['url']],
      ]);
      await expectSurvived(app, probe);
    });

    it('refuses a NUL in JSON string fields (search query, store name, nested batch url) naming the field', async () => {
      const probe = await app.during(() =>
        Promise.all([
          postJson('/api/v1/search', JSON.stringify({ store: 'nul-store', query: 'ab\0cd' })),
          postJson('/api/v1/stores', JSON.stringify({ name: 'a\0' })),
          postJson(
            '/api/v1/batch',
            JSON.stringify({ urls: [{ url: 'http://a.example/' }, { url: 'http://b\0/' }] }),
          ),
        ]),
      );
      expect(probe.value.map((r) => [r.status, r.body.code, nulFieldsOf(r)])).toEqual([
        [400, 'VALIDATION_FAILED', ['query']],
        [400, 'VALIDATION_FAILED', ['name']],
        [400, 'VALIDATION_FAILED', ['urls.1.url']],
      ]);
      await expectSurvived(app, probe);
    });

    it('strips NUL characters from extracted document text (the upload succeeds, the text has none)', async () => {
      const up = await app.tenantRequest('/api/v1/stores/nul-store/documents', {
        method: 'POST',
        body: form([['with-nul.docx', docxWithNul()]]),
      });
      expect({ status: up.status, body: up.body }).toMatchObject({ status: 201 });
      const id = up.body.documents[0].id as string;
      const doc = await app.tenantRequest(`/api/v1/stores/nul-store/documents/${id}?include=text`);
      expect(doc.status).toBe(200);
      expect(doc.body.text).toContain('alphabeta');
      expect(doc.body.text).toContain('gammadelta');
      expect(doc.body.text).not.toContain('\u0000');
      const hit = await app.tenantRequest('/api/v1/search?store=nul-store&q=gammadelta');
      expect(hit.body.total).toBe(1);
    });
  });
});
