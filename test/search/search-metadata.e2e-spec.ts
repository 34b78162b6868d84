// Issue 23, items 1 and 2: metadata on documents (upload, PATCH, returned by documents and results), and
// filters, facets and sort on search and the document list — on PGlite and PostgreSQL, through the real app.
import { RunningApp, startApp, TestResponse } from '../support/app';
import { createTestDatabase, DATABASE_ADAPTERS, TestDatabase } from '../support/databases';
import { buildPdf } from '../fixtures/documents/builders';

const KEY = 'metadata-demo-key-0123456789';

type Call = (path: string, init?: RequestInit & { json?: unknown }) => Promise<TestResponse>;

/** A multipart body with the `metadata` field (when given) in `where` relative to the files. */
function upload(
  files: Array<[string, string | Buffer]>,
  metadata?: unknown,
  where: 'first' | 'last' = 'first',
): FormData {
  const f = new FormData();
  const meta = () => {
    if (metadata !== undefined)
      f.append('metadata', typeof metadata === 'string' ? metadata : JSON.stringify(metadata));
  };
  if (where === 'first') meta();
  for (const [name, data] of files) f.append('files', new Blob([data]), name);
  if (where === 'last') meta();
  return f;
}

const ENGLISH =
  'The employee handbook explains how parental leave is requested, approved and recorded for every member of staff.';
const FRENCH =
  'Le manuel explique comment le congé parental est demandé, approuvé et enregistré pour chaque membre du personnel et sa famille.';

describe.each(DATABASE_ADAPTERS)('document metadata, filters, facets and sort on %s', (adapter) => {
  let db: TestDatabase | undefined;
  let app: RunningApp;
  let call: Call;
  const ids: Record<string, string> = {};
  const search = (params: string, headers: Record<string, string> = {}) =>
    call(`/api/v1/search?store=meta&q=leave${params}`, { headers });

  beforeAll(async () => {
    db = adapter === 'postgres' ? await createTestDatabase() : undefined;
    app = await startApp({ AUTH_API_KEYS: `${KEY}=demo`, ...(db ? { DATABASE_URL: db.url } : {}) });
    call = (path, init = {}) => {
      const { json, ...rest } = init;
      const headers: Record<string, string> = {
        'X-API-Key': KEY,
        ...(rest.headers as Record<string, string>),
      };
      if (json !== undefined) headers['content-type'] = 'application/json';
      return app.request(path, {
        ...rest,
        headers,
        body: json !== undefined ? JSON.stringify(json) : rest.body,
      });
    };
    expect((await call('/api/v1/stores', { method: 'POST', json: { name: 'meta' } })).status).toBe(201);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const documentCount = async () => (await call('/api/v1/stores/meta')).body.documentCount as number;

  it("stores per-file metadata (the field before the files) beside Atrium's own keys", async () => {
    const res = await call('/api/v1/stores/meta/documents', {
      method: 'POST',
      body: upload(
        [
          ['policy.md', `# Leave policy\n\n${ENGLISH}`],
          [
            'rapport.html',
            `<html><head><title>Rapport &amp; congé</title></head><body><p>${FRENCH}</p><p>Leave.</p></body></html>`,
          ],
          ['notes.txt', `Short leave notes. ${ENGLISH}`],
          ['accord.pdf', buildPdf(['Leave accord signed in 1998.'])],
        ],
        {
          'policy.md': {
            tags: ['policy', 'hr'],
            owner: 'hr',
            priority: 3,
            reviewed: '2026-02-01',
            draft: false,
          },
          'rapport.html': { tags: ['report'], owner: 'finance', priority: 7 },
          'notes.txt': { tags: ['policy'], priority: 1 },
          'missing.txt': { owner: 'nobody' },
        },
      ),
    });
    expect(res.status).toBe(201);
    expect(res.body.unmatchedMetadata).toEqual(['missing.txt']);
    for (const d of res.body.documents) ids[d.filename] = d.id;
    const policy = res.body.documents.find((d: { filename: string }) => d.filename === 'policy.md');
    expect(policy.metadata).toEqual({
      tags: ['policy', 'hr'],
      owner: 'hr',
      priority: 3,
      reviewed: '2026-02-01T00:00:00.000Z',
      draft: false,
      contentType: 'text/markdown',
      type: 'markdown',
      bytes: policy.bytes,
      uploadedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      title: 'Leave policy',
      language: 'eng',
    });
    const rapport = await call(`/api/v1/stores/meta/documents/${ids['rapport.html']}`);
    expect(rapport.body.metadata).toMatchObject({ title: 'Rapport & congé', language: 'fra', type: 'html' });
    const pdf = await call(`/api/v1/stores/meta/documents/${ids['accord.pdf']}`);
    expect(pdf.body.metadata).toEqual({
      contentType: 'application/pdf',
      type: 'pdf',
      bytes: pdf.body.bytes,
      uploadedAt: expect.any(String),
    });
  });

  it('refuses bad metadata with 400 naming the key, and stores nothing of the request', async () => {
    const before = await documentCount();
    const cases: Array<[unknown, string]> = [
      [{ 'a.txt': { 'bad key': 1 } }, 'metadata["a.txt"].bad key'],
      [{ 'a.txt': { title: 'mine' } }, 'metadata["a.txt"].title'],
      [{ 'a.txt': { nested: { deep: 1 } } }, 'metadata["a.txt"].nested'],
      [{ 'a.txt': { nested: { deeper: [1] } } }, 'metadata'],
      ['{"a.txt": ', 'metadata'],
      [{ 'a.txt': { tags: Array.from({ length: 101 }, (_, i) => `t${i}`) } }, 'metadata["a.txt"].tags'],
    ];
    for (const [metadata, field] of cases) {
      const res = await call('/api/v1/stores/meta/documents', {
        method: 'POST',
        body: upload([['a.txt', `Fresh leave text ${field}`]], metadata),
      });
      expect([field, res.status, res.body.code]).toEqual([field, 400, 'VALIDATION_FAILED']);
      expect(Object.keys(res.body.details.fields)).toEqual([field]);
      expect(res.body.documents).toBeUndefined();
    }
    expect(await documentCount()).toBe(before);
  });

  it('refuses a metadata field sent after a file; the file before it is listed as stored', async () => {
    const res = await call('/api/v1/stores/meta/documents', {
      method: 'POST',
      body: upload([['late.txt', 'Late leave text for the order rule']], { 'late.txt': { a: 1 } }, 'last'),
    });
    expect(res.status).toBe(400);
    expect(res.body.details.fields.metadata[0]).toMatch(/before the files/);
    expect(res.body.documents.map((d: { filename: string }) => d.filename)).toEqual(['late.txt']);
    expect(res.body.documents[0].metadata).not.toHaveProperty('a');
    expect(
      (await call(`/api/v1/stores/meta/documents/${res.body.documents[0].id}`, { method: 'DELETE' })).status,
    ).toBe(204);
  });

  it('filters search results by metadata (GET and POST), and refuses a bad filter with its position', async () => {
    const names = (res: TestResponse) =>
      res.body.results
        .map((r: { documentId: string }) => Object.keys(ids).find((k) => ids[k] === r.documentId))
        .sort();
    expect(names(await search(''))).toEqual(['accord.pdf', 'notes.txt', 'policy.md', 'rapport.html']);
    const cases: Array<[string, string[]]> = [
      ['tags = policy', ['notes.txt', 'policy.md']],
      ['type = markdown AND tags = policy', ['policy.md']],
      ['priority >= 3', ['policy.md', 'rapport.html']],
      ['priority > 1 AND priority < 7', ['policy.md']],
      ['owner IN (hr, finance)', ['policy.md', 'rapport.html']],
      ['owner NOT IN (hr)', ['accord.pdf', 'notes.txt', 'rapport.html']],
      ['NOT owner EXISTS', ['accord.pdf', 'notes.txt']],
      ['reviewed >= 2026-01-01 OR type = pdf', ['accord.pdf', 'policy.md']],
      ['uploadedAt >= 2020-01-01 AND (language = fra OR draft = false)', ['policy.md', 'rapport.html']],
      ['owner != hr AND tags EXISTS', ['notes.txt', 'rapport.html']],
      ['bytes > 0 AND title EXISTS', ['policy.md', 'rapport.html']],
      ['owner = "hr\'; DROP TABLE search_documents; --"', []],
    ];
    for (const [filter, expected] of cases) {
      const res = await search(`&filter=${encodeURIComponent(filter)}`);
      expect([filter, res.status, names(res)]).toEqual([filter, 200, expected]);
    }
    const post = await call('/api/v1/search', {
      method: 'POST',
      json: { store: 'meta', query: 'leave', filter: 'tags = report' },
    });
    expect(post.body.results.map((r: { documentId: string }) => r.documentId)).toEqual([ids['rapport.html']]);
    expect(post.body.results[0].metadata).toMatchObject({ owner: 'finance', tags: ['report'], type: 'html' });
    const bad = await search(`&filter=${encodeURIComponent('tags = policy AND (owner = ')}`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'INVALID_FILTER', details: { field: 'filter', position: 28 } });
    const badPost = await call('/api/v1/search', {
      method: 'POST',
      json: { store: 'meta', query: 'leave', filter: 'priority > true' },
    });
    expect(badPost.body.code).toBe('INVALID_FILTER');
  });

  it('counts facets over the whole match set, not the page; sorts by a numeric or date key, ties by relevance', async () => {
    const res = await search('&limit=1&facets=tags,type,owner,absent');
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(1);
    expect(res.body.facets).toEqual({
      tags: { policy: 2, hr: 1, report: 1 },
      type: { html: 1, markdown: 1, pdf: 1, text: 1 },
      owner: { finance: 1, hr: 1 },
      absent: {},
    });
    const filtered = await search(`&facets=type&filter=${encodeURIComponent('tags = policy')}`);
    expect(filtered.body.facets).toEqual({ type: { markdown: 1, text: 1 } });
    const desc = await search('&sort=priority:desc');
    expect(desc.body.results.map((r: { documentId: string }) => r.documentId)).toEqual([
      ids['rapport.html'],
      ids['policy.md'],
      ids['notes.txt'],
      ids['accord.pdf'], // no priority: last
    ]);
    const asc = await call('/api/v1/search', {
      method: 'POST',
      json: { store: 'meta', query: 'leave', sort: 'priority:asc', facets: ['owner'], group: 'chunks' },
    });
    expect(asc.body.results.map((r: { documentId: string }) => r.documentId).slice(0, 3)).toEqual([
      ids['notes.txt'],
      ids['policy.md'],
      ids['rapport.html'],
    ]);
    expect(asc.body.facets).toEqual({ owner: { finance: 1, hr: 1 } });
    for (const bad of [
      '&sort=priority',
      '&sort=priority:up',
      '&facets=a,,b',
      `&facets=${'k,'.repeat(10)}k`,
    ]) {
      const r = await search(bad);
      expect([bad, r.status, r.body.code]).toEqual([bad, 400, 'VALIDATION_FAILED']);
    }
  });

  it('keys the results cache by filter, facets and sort; PATCH changes metadata and moves the version on', async () => {
    const f = `&filter=${encodeURIComponent('owner = legal')}`;
    const first = await search(f);
    expect([first.headers.get('x-cache'), first.body.total]).toEqual(['MISS', 0]);
    expect((await search(f)).headers.get('x-cache')).toBe('HIT');
    expect((await search(`${f}&facets=type`)).headers.get('x-cache')).toBe('MISS');
    expect((await search(`${f}&sort=bytes:asc`)).headers.get('x-cache')).toBe('MISS');

    const patched = await call(`/api/v1/stores/meta/documents/${ids['notes.txt']}`, {
      method: 'PATCH',
      json: { metadata: { owner: 'legal', priority: null, due: '2026-06-30' } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.metadata).toMatchObject({
      owner: 'legal',
      tags: ['policy'],
      due: '2026-06-30T00:00:00.000Z',
    });
    expect(patched.body.metadata).not.toHaveProperty('priority');
    expect(patched.body.metadata).toMatchObject({ type: 'text', language: 'eng' }); // Atrium's keys kept
    expect(patched.body.chunks).toBeGreaterThan(0);
    const after = await search(f);
    expect([after.headers.get('x-cache'), after.body.total, after.body.results[0]?.documentId]).toEqual([
      'MISS',
      1,
      ids['notes.txt'],
    ]);

    const refused: Array<[unknown, number, string]> = [
      [{ metadata: { type: 'pdf' } }, 400, 'VALIDATION_FAILED'],
      [{ metadata: { x: { y: 1 } } }, 400, 'VALIDATION_FAILED'],
      [{ metadata: 'x' }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of refused) {
      const r = await call(`/api/v1/stores/meta/documents/${ids['notes.txt']}`, {
        method: 'PATCH',
        json: body,
      });
      expect([body, r.status, r.body.code]).toEqual([body, status, code]);
    }
    const tooMany = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i]));
    const over = await call(`/api/v1/stores/meta/documents/${ids['notes.txt']}`, {
      method: 'PATCH',
      json: { metadata: tooMany },
    });
    expect([over.status, over.body.details.fields.metadata[0]]).toEqual([
      400,
      expect.stringMatching(/at most 32/),
    ]);
    // the refused changes left the version (and the cached page) alone
    expect((await search(f)).headers.get('x-cache')).toBe('HIT');
    const missing = await call('/api/v1/stores/meta/documents/00000000-0000-4000-8000-000000000000', {
      method: 'PATCH',
      json: { metadata: { a: 1 } },
    });
    expect([missing.status, missing.body.code]).toEqual([404, 'DOCUMENT_NOT_FOUND']);
  });

  it('filters the document list, and pages through the filtered list', async () => {
    const list = async (filter: string, extra = '') =>
      call(`/api/v1/stores/meta/documents?filter=${encodeURIComponent(filter)}${extra}`);
    const policy = await list('tags = policy');
    expect(policy.body.documents.map((d: { filename: string }) => d.filename).sort()).toEqual([
      'notes.txt',
      'policy.md',
    ]);
    expect(policy.body.documents[0].metadata.tags).toContain('policy');
    const first = await list('bytes > 0', '&limit=2');
    expect(first.body.documents).toHaveLength(2);
    const second = await list('bytes > 0', `&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.documents).toHaveLength(2);
    expect(second.body.nextCursor).toBeNull();
    const bad = await list('(((');
    expect([bad.status, bad.body.code]).toEqual([400, 'INVALID_FILTER']);
  });
});
