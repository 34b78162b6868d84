import { Database } from '@libs/database';
import { SearchRepository } from '@app/search/search.repository';
import { keyedClient, KeyedCall, RunningApp, startApp, TestResponse } from '../support/app';
import { createTestDatabase, DATABASE_ADAPTERS, TestDatabase } from '../support/databases';
import { buildDocx, buildElf, buildPdf, fixture, form } from '../fixtures/documents/builders';
import { emptyParagraphsDocx } from '../hostile/payloads';
import { holdAt } from '../support/held-database';

const KEY_DEMO = 'search-demo-key-0123456789';
const KEY_ACME = 'search-acme-key-0123456789';
const MAX_FILE_BYTES = 64 * 1024;

type Call = KeyedCall;

const client = keyedClient;

const search = (call: Call, store: string, q: string, extra = '', headers: Record<string, string> = {}) =>
  call(`/api/v1/search?store=${store}&q=${encodeURIComponent(q)}${extra}`, { headers });

describe.each(DATABASE_ADAPTERS)('search on %s (real app, real socket)', (adapter) => {
  let db: TestDatabase | undefined;
  let app: RunningApp;
  let demo: Call;
  let acme: Call;
  let database: Database;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    db = adapter === 'postgres' ? await createTestDatabase() : undefined;
    app = await startApp({
      AUTH_API_KEYS: `${KEY_DEMO}=demo,${KEY_ACME}=acme`,
      UPLOAD_MAX_FILE_BYTES: String(MAX_FILE_BYTES),
      SEARCH_CHUNK_CHARS: '400',
      SEARCH_CHUNK_OVERLAP_CHARS: '80',
      ...(db ? { DATABASE_URL: db.url } : {}),
    });
    demo = client(app, KEY_DEMO);
    acme = client(app, KEY_ACME);
    database = app.atrium.app.get(Database);
    expect(database.kind).toBe(adapter);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  describe('stores', () => {
    it('creates a store (201), refuses a second with the same name (409) and a bad name (400)', async () => {
      const created = await demo('/api/v1/stores', { method: 'POST', json: { name: 'kb' } });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({
        name: 'kb',
        documentCount: 0,
        bytes: 0,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        // the test apps run with EMBEDDINGS_PROVIDER=off (test/search/embeddings.e2e-spec.ts opts in)
        embedding: { status: 'off', embedded: 0, total: 0 },
      });
      const again = await demo('/api/v1/stores', { method: 'POST', json: { name: 'kb' } });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('STORE_EXISTS');
      for (const name of ['Upper', '-dash', 'a'.repeat(64), 'sp ace', '']) {
        const bad = await demo('/api/v1/stores', { method: 'POST', json: { name } });
        expect(bad.status).toBe(400);
        expect(bad.body.code).toBe('VALIDATION_FAILED');
      }
    });

    it('scopes stores by tenant: the same name is free for another tenant, and invisible to it', async () => {
      expect((await acme('/api/v1/stores/kb')).body.code).toBe('STORE_NOT_FOUND');
      expect((await acme('/api/v1/stores', { method: 'POST', json: { name: 'kb' } })).status).toBe(201);
      expect((await acme('/api/v1/stores')).body.stores.map((s: { name: string }) => s.name)).toEqual(['kb']);
      const scratch = await demo('/api/v1/stores', { method: 'POST', json: { name: 'scratch' } });
      expect(scratch.status).toBe(201);
      expect((await acme('/api/v1/stores/scratch', { method: 'DELETE' })).status).toBe(404);
      expect((await demo('/api/v1/stores/scratch', { method: 'DELETE' })).status).toBe(204);
      expect((await demo('/api/v1/stores/scratch')).status).toBe(404);
    });
  });

  describe('upload', () => {
    it('indexes the good files of a mixed batch and rejects the bad ones with the right codes', async () => {
      const res = await demo('/api/v1/stores/kb/documents', {
        method: 'POST',
        body: form([
          ['handbook.md', fixture('handbook.md')],
          ['press-release.html', fixture('press-release.html')],
          ['accord.pdf', buildPdf(['The pangolin lighthouse accord was signed in 1998.', 'Second line.'])],
          ['memo.docx', buildDocx(['Velvet thunderclap memorandum', 'Distribution: board only.'])],
          ['inventory.csv', fixture('inventory.csv')],
          ['notes.txt', fixture('notes.txt')],
          ['totally-a-text-file.txt', buildElf()],
          ['huge.txt', 'oversized '.repeat(MAX_FILE_BYTES / 5)],
          ['../../etc/passwd', 'root:x:0:0:root:/root:/bin/bash\n'],
        ]),
      });
      expect(res.status).toBe(201);
      const byName = Object.fromEntries(
        res.body.documents.map((d: { filename: string; contentType: string }) => [d.filename, d]),
      );
      expect(Object.keys(byName).sort()).toEqual(
        ['accord.pdf', 'handbook.md', 'inventory.csv', 'memo.docx', 'notes.txt', 'press-release.html'].sort(),
      );
      expect(byName['handbook.md'].contentType).toBe('text/markdown');
      expect(byName['press-release.html'].contentType).toBe('text/html');
      expect(byName['accord.pdf'].contentType).toBe('application/pdf');
      expect(byName['memo.docx'].contentType).toBe(
        'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      );
      expect(byName['inventory.csv'].contentType).toBe('text/csv');
      expect(byName['notes.txt'].contentType).toBe('text/plain');
      for (const d of res.body.documents) {
        expect(d).toEqual({
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          filename: d.filename,
          contentType: d.contentType,
          bytes: expect.any(Number),
          chunks: expect.any(Number),
          outcome: 'created',
          // Atrium's own metadata keys (issue 23; search-metadata.e2e-spec.ts covers the user's)
          metadata: expect.objectContaining({ contentType: d.contentType, bytes: d.bytes }),
          embedding: { status: 'off', embedded: 0, total: d.chunks },
        });
        expect(d.chunks).toBeGreaterThanOrEqual(1);
        ids[d.filename] = d.id;
      }
      expect(res.body.rejected).toEqual([
        { filename: 'totally-a-text-file.txt', code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) },
        {
          filename: 'huge.txt',
          code: 'FILE_TOO_LARGE',
          message: expect.stringContaining(String(MAX_FILE_BYTES)),
        },
        { filename: '../../etc/passwd', code: 'INVALID_FILENAME', message: expect.any(String) },
      ]);
    });

    it('stored nothing of the rejected files and every chunk of the accepted ones', async () => {
      const docs = await database.query<{ filename: string; chunk_count: number; n: number }>(
        `SELECT d.filename, d.chunk_count, (SELECT count(*)::int FROM search_chunks c WHERE c.document_id = d.id) AS n
         FROM search_documents d JOIN search_stores s ON s.id = d.store_id
         WHERE s.tenant_id = 'demo' AND s.name = 'kb' ORDER BY d.filename`,
      );
      expect(docs.rows.map((r) => r.filename)).toEqual(
        ['accord.pdf', 'handbook.md', 'inventory.csv', 'memo.docx', 'notes.txt', 'press-release.html'].sort(),
      );
      for (const r of docs.rows) expect(r.n).toBe(r.chunk_count);
      const stray = await database.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM search_chunks c WHERE NOT EXISTS (SELECT 1 FROM search_documents d WHERE d.id = c.document_id)`,
      );
      expect(stray.rows[0].n).toBe(0);
      const store = await demo('/api/v1/stores/kb');
      expect(store.body.documentCount).toBe(6);
    });

    it('extracted the text of each format (html without its script, pdf and docx text layers)', async () => {
      const html = await demo(`/api/v1/stores/kb/documents/${ids['press-release.html']}?include=text`);
      expect(html.body.text).toContain('marmalade observatory');
      expect(html.body.text).not.toContain('observatory-script-should-not-be-indexed');
      expect(html.body.text).not.toContain('font-family');
      const pdf = await demo(`/api/v1/stores/kb/documents/${ids['accord.pdf']}?include=text`);
      expect(pdf.body.text).toContain('pangolin lighthouse accord');
      const docx = await demo(`/api/v1/stores/kb/documents/${ids['memo.docx']}?include=text`);
      expect(docx.body.text).toContain('Velvet thunderclap memorandum');
      const meta = await demo(`/api/v1/stores/kb/documents/${ids['memo.docx']}`);
      expect(meta.body.text).toBeUndefined();
      expect(meta.body.checksum).toMatch(/^[0-9a-f]{64}$/);
    });

    it('answers re-uploaded bytes with 200 and the existing document (idempotent), storing nothing twice', async () => {
      const version = (await new SearchRepository(database).storeKey('demo', 'kb'))!.version;
      const res = await demo('/api/v1/stores/kb/documents', {
        method: 'POST',
        body: form([['handbook-copy.md', fixture('handbook.md')]]),
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        documents: [
          {
            id: ids['handbook.md'],
            filename: 'handbook.md',
            contentType: 'text/markdown',
            bytes: fixture('handbook.md').length,
            chunks: expect.any(Number),
            metadata: expect.objectContaining({ type: 'markdown', title: 'Employee handbook' }),
            embedding: { status: 'off', embedded: 0, total: expect.any(Number) },
            outcome: 'unchanged',
          },
        ],
        rejected: [],
      });
      expect((await demo('/api/v1/stores/kb')).body.documentCount).toBe(6);
      // nothing changed: the store's version (and so its cached searches) stay
      expect((await new SearchRepository(database).storeKey('demo', 'kb'))!.version).toBe(version);
    });

    it.each([
      ['an executable', [['run.txt', buildElf()]], 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [
        'a PNG image',
        [['pic.md', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')]],
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      ['a shell script', [['install.txt', '#!/bin/sh\nrm -rf /\n']], 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['an oversized file', [['big.md', 'x'.repeat(MAX_FILE_BYTES + 1)]], 413, 'FILE_TOO_LARGE'],
      ['a reserved name', [['CON.txt', 'hello']], 400, 'INVALID_FILENAME'],
      ['a control character', [['bad\u0007name.txt', 'hello']], 400, 'INVALID_FILENAME'],
      ['a 256-byte name', [[`${'é'.repeat(126)}.txt`, 'hello']], 400, 'INVALID_FILENAME'],
      ['an empty file', [['empty.txt', '']], 400, 'EMPTY_DOCUMENT'],
      [
        'a broken pdf',
        [['broken.pdf', Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog')]],
        422,
        'EXTRACTION_FAILED',
      ],
      // 300,000 identical paragraphs: 1.8 MB of XML in a 3 KB docx (the hostile tier has the big ones)
      [
        'a docx past the compression-ratio limit',
        [['dense.docx', emptyParagraphsDocx(300_000, { dense: true })]],
        422,
        'ARCHIVE_REFUSED',
      ],
      [
        'mixed problems',
        [
          ['run.txt', buildElf()],
          ['a/b.txt', 'hello'],
        ],
        400,
        'UPLOAD_REJECTED',
      ],
    ] as Array<[string, Array<[string, Buffer | string]>, number, string]>)(
      'answers %s alone with the same body and a status picked from the rejection',
      async (_label, files, status, code) => {
        const res = await demo('/api/v1/stores/kb/documents', { method: 'POST', body: form(files) });
        expect(res.status).toBe(status);
        expect(res.body).toMatchObject({
          statusCode: status,
          code,
          documents: [],
          requestId: expect.any(String),
        });
        expect(res.body.rejected).toHaveLength(files.length);
        expect((await demo('/api/v1/stores/kb')).body.documentCount).toBe(6);
      },
    );

    it('names the archive limit passed, in the rejection and (one file) in the error details', async () => {
      const res = await demo('/api/v1/stores/kb/documents', {
        method: 'POST',
        body: form([['dense.docx', emptyParagraphsDocx(300_000, { dense: true })]]),
      });
      expect(res.status).toBe(422);
      const details = { reason: 'zip_ratio', limit: 100, ratio: expect.any(Number) };
      expect(res.body).toMatchObject({ code: 'ARCHIVE_REFUSED', details });
      expect(res.body.rejected).toEqual([
        {
          filename: 'dense.docx',
          code: 'ARCHIVE_REFUSED',
          message: expect.stringMatching(/limit of 100/),
          details,
        },
      ]);
    });

    // issue 25, item 5: names that spoof a direction, hide a character or fake a path separator
    it.each([
      ['a right-to-left override', Buffer.from('\u202etxt.exe'), 'U+202E RIGHT-TO-LEFT OVERRIDE'],
      [
        'fullwidth dots and slashes',
        Buffer.from('\uff0e\uff0e\uff0fetc\uff0fpasswd.txt'),
        'U+FF0E FULLWIDTH FULL STOP',
      ],
      ['a one-dot leader', Buffer.from('\u2024\u2024\u2215x.txt'), 'U+2024 ONE DOT LEADER'],
      ['a division slash', Buffer.from('x\u2215x.txt'), 'U+2215 DIVISION SLASH'],
      ['a percent-encoded traversal', Buffer.from('%2e%2e%2fx.txt'), 'percent-encoded U+002E FULL STOP'],
      ['a zero-width space', Buffer.from('in\u200bvisible.txt'), 'U+200B ZERO WIDTH SPACE'],
      ['invalid UTF-8', Buffer.from([0x61, 0xff, 0xfe, 0x2e, 0x74, 0x78, 0x74]), 'not valid UTF-8'],
    ])(
      'refuses a file name with %s: 400 INVALID_FILENAME naming the character, nothing stored',
      async (_label, name, named) => {
        const boundary = 'spoof-boundary-2f8a';
        const body = Buffer.concat([
          Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="`),
          name,
          Buffer.from(
            `"\r\nContent-Type: text/plain\r\n\r\nspoofed name, real text ${named}\r\n--${boundary}--\r\n`,
          ),
        ]);
        const res = await demo('/api/v1/stores/kb/documents', {
          method: 'POST',
          headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
          body,
        });
        expect({ status: res.status, code: res.body.code }).toEqual({
          status: 400,
          code: 'INVALID_FILENAME',
        });
        expect(res.body.message).toContain(named);
        expect(res.body.documents).toEqual([]);
        expect(res.body.rejected).toEqual([
          expect.objectContaining({ code: 'INVALID_FILENAME', message: expect.stringContaining(named) }),
        ]);
        // echoed with its controls and invisible characters spelled out (<U+202E>txt.exe), never raw
        expect(res.body.rejected[0].filename).not.toMatch(/[\p{Cc}\p{Cf}]/u);
        expect((await demo('/api/v1/stores/kb')).body.documentCount).toBe(6);
      },
    );

    it('is 400 without files, 415 when not multipart, 413 over UPLOAD_MAX_FILES, 404 for an unknown store', async () => {
      const none = await demo('/api/v1/stores/kb/documents', { method: 'POST', body: new FormData() });
      expect(none.status).toBe(400);
      expect(none.body.code).toBe('VALIDATION_FAILED');
      const wrongField = await demo('/api/v1/stores/kb/documents', {
        method: 'POST',
        body: form([['a.txt', 'hello']], 'file'),
      });
      expect(wrongField.status).toBe(400);
      const json = await demo('/api/v1/stores/kb/documents', { method: 'POST', json: { files: [] } });
      expect(json.status).toBe(415);
      expect(json.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      // files are stored one at a time as they arrive (issue 25): the 20 before the one past the limit are
      // stored, and the 413's body says so file by file
      expect((await demo('/api/v1/stores', { method: 'POST', json: { name: 'many' } })).status).toBe(201);
      const many = await demo('/api/v1/stores/many/documents', {
        method: 'POST',
        body: form(Array.from({ length: 21 }, (_, i) => [`f${i}.txt`, `unique text number ${i}`])),
      });
      expect(many.status).toBe(413);
      expect(many.body).toMatchObject({ code: 'TOO_MANY_FILES', details: { limit: 20 }, rejected: [] });
      expect(many.body.message).toContain('at most 20');
      expect(many.body.documents.map((d: { filename: string }) => d.filename)).toEqual(
        Array.from({ length: 20 }, (_, i) => `f${i}.txt`),
      );
      expect((await demo('/api/v1/stores/many')).body.documentCount).toBe(20);
      expect((await demo('/api/v1/stores/many', { method: 'DELETE' })).status).toBe(204);
      expect((await demo('/api/v1/stores/kb')).body.documentCount).toBe(6);
      const unknown = await demo('/api/v1/stores/nope/documents', {
        method: 'POST',
        body: form([['a.txt', 'hello']]),
      });
      expect(unknown.status).toBe(404);
      expect(unknown.body.code).toBe('STORE_NOT_FOUND');
    });

    it('is a 400 MALFORMED_MULTIPART for a body the parser cannot read, never a 500', async () => {
      const noBoundary = await demo('/api/v1/stores/kb/documents', {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data' },
        body: 'hello',
      });
      expect(noBoundary.status).toBe(400);
      expect(noBoundary.body.code).toBe('MALFORMED_MULTIPART');
      const truncated = await demo('/api/v1/stores/kb/documents', {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
        body: '--XyZ\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nhalf a file',
      });
      expect(truncated.status).toBe(400);
      expect(truncated.body.code).toBe('MALFORMED_MULTIPART');
      expect((await demo('/api/v1/stores/kb')).body.documentCount).toBe(6);
    });

    it.each(['INSERT INTO search_chunks', 'INSERT INTO search_postings'])(
      'keeps nothing of a file whose storage fails part-way (the second "%s" step): its steps are removed',
      async (failingStatement) => {
        const real = database;
        let failingStatements = 0;
        // The real database, with the second such statement of the upload failing.
        const failing = {
          query: async (sql: string, params?: unknown[]) => {
            if (sql.includes(failingStatement) && ++failingStatements === 2)
              throw new Error('injected failure after the first batch');
            return real.query(sql, params);
          },
          transaction: real.transaction.bind(real),
        } as unknown as Database;
        const repository = new SearchRepository(failing);
        const store = (await new SearchRepository(real).storeKey('demo', 'kb'))!;
        const chunks = Array.from({ length: 700 }, (_, i) => `atomicity probe chunk ${i}`);
        await expect(
          repository.insertDocument('demo', store.id, {
            filename: 'atomic.txt',
            contentType: 'text/plain',
            bytes: 10,
            checksum: 'a'.repeat(64),
            text: chunks.join('\n'),
            chunks,
          }),
        ).rejects.toThrow('injected failure');
        expect(failingStatements).toBe(2);
        const left = await real.query<{ docs: number; chunks: number; postings: number; words: number }>(
          `SELECT (SELECT count(*)::int FROM search_documents WHERE filename = 'atomic.txt') AS docs,
                  (SELECT count(*)::int FROM search_chunks WHERE content LIKE 'atomicity probe%') AS chunks,
                  (SELECT count(*)::int FROM search_postings WHERE lexeme = 'atom') AS postings,
                  (SELECT count(*)::int FROM search_upload_words) AS words`,
        );
        expect(left.rows[0]).toEqual({ docs: 0, chunks: 0, postings: 0, words: 0 });
        expect((await new SearchRepository(real).storeKey('demo', 'kb'))!.version).toBe(store.version);
      },
    );
  });

  describe('a document being stored', () => {
    it('is invisible to lists, counts and searches until its last step publishes it, then found at once', async () => {
      const real = database;
      // The real database, holding the upload before its postings step: chunks stored, nothing published.
      const { db: held, reached: reachedPostings, resume } = holdAt(real, 'INSERT INTO search_postings');
      const store = (await new SearchRepository(real).storeKey('demo', 'kb'))!;
      const before = (await demo('/api/v1/stores/kb')).body.documentCount;
      const chunks = Array.from({ length: 300 }, (_, i) => `quokkaline staged probe ${i}`);
      const upload = new SearchRepository(held).insertDocument('demo', store.id, {
        filename: 'staged.txt',
        contentType: 'text/plain',
        bytes: 10,
        checksum: 'b'.repeat(64),
        text: chunks.join('\n'),
        chunks,
      });
      await reachedPostings;
      const listed = (await demo('/api/v1/stores/kb/documents?limit=100')).body.documents;
      expect(listed.map((d: { filename: string }) => d.filename)).not.toContain('staged.txt');
      expect((await demo('/api/v1/stores/kb')).body.documentCount).toBe(before);
      expect((await search(demo, 'kb', 'quokkaline', '', { 'Cache-Control': 'no-cache' })).body.total).toBe(
        0,
      );
      resume();
      const id = await upload;
      expect((await demo('/api/v1/stores/kb')).body.documentCount).toBe(before + 1);
      const found = await search(demo, 'kb', 'quokkaline');
      expect(found.body.results.map((r: { documentId: string }) => r.documentId)).toEqual([id]);
      expect((await demo(`/api/v1/stores/kb/documents/${id}`, { method: 'DELETE' })).status).toBe(204);
    });
  });

  describe('an upload left unfinished', () => {
    it('is swept with everything it wrote, and its upload, if still running, fails without publishing', async () => {
      const real = database;
      const { db: held, reached: reachedPostings, resume } = holdAt(real, 'INSERT INTO search_postings');
      const store = (await new SearchRepository(real).storeKey('demo', 'kb'))!;
      const chunks = Array.from({ length: 300 }, (_, i) => `wombatine swept probe ${i}`);
      const upload = new SearchRepository(held).insertDocument('demo', store.id, {
        filename: 'swept.txt',
        contentType: 'text/plain',
        bytes: 10,
        checksum: 'c'.repeat(64),
        text: chunks.join('\n'),
        chunks,
      });
      const failed = expect(upload).rejects.toThrow('removed before it was published');
      await reachedPostings;
      // as if its process had died an hour ago: the sweep takes every unfinished upload older than 0 ms
      expect(await new SearchRepository(real).sweepPending(0)).toBe(1);
      resume();
      await failed;
      const left = await real.query<{ docs: number; chunks: number }>(
        `SELECT (SELECT count(*)::int FROM search_documents WHERE filename = 'swept.txt') AS docs,
                (SELECT count(*)::int FROM search_chunks WHERE content LIKE 'wombatine swept%') AS chunks`,
      );
      expect(left.rows[0]).toEqual({ docs: 0, chunks: 0 });
      expect((await new SearchRepository(real).storeKey('demo', 'kb'))!.version).toBe(store.version);
    });
  });

  describe('search', () => {
    it('returns the document with a distinctive phrase first, with a <mark> snippet', async () => {
      const res = await search(demo, 'kb', 'pangolin lighthouse accord');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        store: 'kb',
        query: 'pangolin lighthouse accord',
        total: 1,
        matching: 'all',
      });
      expect(typeof res.body.tookMs).toBe('number');
      // one result per document with its best passages (issue 12 replaced `snippet` with `snippets`)
      expect(res.body.results[0]).toEqual({
        documentId: ids['accord.pdf'],
        filename: 'accord.pdf',
        score: expect.any(Number),
        matchedTerms: ['pangolin', 'lighthouse', 'accord'],
        snippets: [
          expect.stringContaining('<mark>pangolin</mark> <mark>lighthouse</mark> <mark>accord</mark>'),
        ],
        chunkIndex: 0,
        metadata: expect.objectContaining({ type: 'pdf', contentType: 'application/pdf' }),
      });
      const docx = await search(demo, 'kb', 'thunderclap memorandum');
      expect(docx.body.results[0].documentId).toBe(ids['memo.docx']);
      const csv = await search(demo, 'kb', 'tungsten sprocket');
      expect(csv.body.results[0].documentId).toBe(ids['inventory.csv']);
      const html = await search(demo, 'kb', 'marmalade observatory');
      expect(html.body.results[0].documentId).toBe(ids['press-release.html']);
    });

    it('ranks the document with the whole phrase above ones with a single word', async () => {
      const res = await search(demo, 'kb', 'zephyr quokka protocol');
      expect(res.body.results[0].documentId).toBe(ids['handbook.md']);
    });

    it('HTML-escapes everything in a snippet except its <mark> tags', async () => {
      await demo('/api/v1/stores', { method: 'POST', json: { name: 'xss' } });
      const hostile =
        'The crocodile <img src=x onerror=alert(1)> met "<script>alert(2)</script>" & 5 < 6 > 4 ' +
        "<b onmouseover='x'>crocodile</b> <scr<script>ipt>alert(3)</script> <!-- crocodile --> crocodile&lt;b&gt;";
      const up = await demo('/api/v1/stores/xss/documents', {
        method: 'POST',
        body: form([['x.txt', hostile]]),
      });
      expect(up.status).toBe(201);
      const res = await search(demo, 'xss', 'crocodile');
      expect(res.body.total).toBe(1);
      const snippet: string = res.body.results[0].snippets[0];
      expect(snippet).toContain('<mark>crocodile</mark>');
      expect(snippet).not.toMatch(/<(?!\/?mark>)/);
      expect(snippet).toContain('&amp;');
      expect(snippet).toContain('&lt;');
      expect(snippet).toContain('&lt;img src=x onerror=alert(1)&gt;'); // shown as text, never as a tag
    });

    it('follows web-search syntax: OR, "quoted phrases" and -exclusion', async () => {
      const either = await search(demo, 'kb', 'pangolin OR thunderclap');
      expect(either.body.results.map((r: { documentId: string }) => r.documentId).sort()).toEqual(
        [ids['accord.pdf'], ids['memo.docx']].sort(),
      );
      // No document holds both: matching relaxes to documents holding either (issue 12; was total 0)
      const both = await search(demo, 'kb', 'pangolin thunderclap');
      expect(both.body.matching).toBe('relaxed');
      expect(both.body.results.map((r: { documentId: string }) => r.documentId).sort()).toEqual(
        [ids['accord.pdf'], ids['memo.docx']].sort(),
      );
      // "quokka" is in the handbook and the notes; only the handbook has the exact phrase
      const word = await search(demo, 'kb', 'quokka');
      expect(new Set(word.body.results.map((r: { documentId: string }) => r.documentId))).toEqual(
        new Set([ids['handbook.md'], ids['notes.txt']]),
      );
      const phrase = await search(demo, 'kb', '"zephyr quokka protocol"');
      expect(phrase.body.results.map((r: { documentId: string }) => r.documentId)).toEqual([
        ids['handbook.md'],
      ]);
      const reordered = await search(demo, 'kb', '"protocol quokka zephyr"');
      expect(reordered.body).toMatchObject({ total: 0, matching: 'all' });
      const excluded = await search(demo, 'kb', 'quokka -sabbatical');
      expect(excluded.body.results.map((r: { documentId: string }) => r.documentId)).toEqual([
        ids['notes.txt'],
      ]);
    });

    it('pages with limit and offset and keeps the total', async () => {
      const q = 'quokka OR pangolin OR thunderclap OR sprocket';
      const all = await search(demo, 'kb', q, '&limit=100');
      expect(all.body.total).toBeGreaterThanOrEqual(4);
      expect(all.body.results).toHaveLength(all.body.total);
      for (let i = 0; i < all.body.total; i++) {
        const page = await search(demo, 'kb', q, `&limit=1&offset=${i}`);
        expect(page.body.total).toBe(all.body.total);
        expect(page.body.results).toEqual([all.body.results[i]]);
      }
      const past = await search(demo, 'kb', q, `&offset=${all.body.total}`);
      expect(past.body).toMatchObject({ total: all.body.total, results: [] });
      const scores = all.body.results.map((r: { score: number }) => r.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    });

    it('answers POST exactly like GET', async () => {
      const get = await search(demo, 'kb', 'marmalade', '&limit=5');
      const post = await demo('/api/v1/search', {
        method: 'POST',
        json: { store: 'kb', query: 'marmalade', limit: 5, offset: 0 },
      });
      expect(post.status).toBe(200);
      expect({ ...post.body, tookMs: 0 }).toEqual({ ...get.body, tookMs: 0 });
    });

    it('only finds stop words nowhere (an empty tsquery), without an error', async () => {
      const res = await search(demo, 'kb', 'the and of');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ total: 0, results: [] });
    });

    it.each([
      ['an empty query', 'store=kb&q='],
      ['a blank query', 'store=kb&q=%20%20%20'],
      ['a 1001-character query', `store=kb&q=${'a'.repeat(1001)}`],
      ['a missing query', 'store=kb'],
      ['a missing store', 'q=quokka'],
      ['limit 0', 'store=kb&q=quokka&limit=0'],
      ['limit 101', 'store=kb&q=quokka&limit=101'],
      ['a negative offset', 'store=kb&q=quokka&offset=-1'],
      ['an unknown parameter', 'store=kb&q=quokka&sort=asc'],
    ])('is a 400 for %s', async (_label, qs) => {
      const res = await demo(`/api/v1/search?${qs}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });

    it('accepts a query at both default bounds: 1000 characters in 32 words', async () => {
      const words = Array.from({ length: 32 }, (_, i) => `quokka${i}`.padEnd(30, 'q'));
      const query = words.join(' ').padEnd(1000, 'q');
      expect([...query].length).toBe(1000);
      const res = await search(demo, 'kb', query);
      expect(res.status).toBe(200);
    });

    it('refuses a query over the word bound with a 400 naming the limit, before any SQL', async () => {
      const res = await search(demo, 'kb', Array.from({ length: 33 }, (_, i) => `w${i}`).join(' '));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: { fields: { q: [expect.stringContaining('SEARCH_QUERY_MAX_TERMS')] } },
      });
    });

    it('is a 404 for an unknown store and for another tenant’s store', async () => {
      expect((await search(demo, 'nope', 'quokka')).body.code).toBe('STORE_NOT_FOUND');
      const acmeScratch = await acme('/api/v1/stores', { method: 'POST', json: { name: 'acme-only' } });
      expect(acmeScratch.status).toBe(201);
      const res = await search(demo, 'acme-only', 'quokka');
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('STORE_NOT_FOUND');
    });
  });

  describe('result cache', () => {
    it('MISS, then HIT for the same normalised query and page; no-cache is a BYPASS', async () => {
      const first = await search(demo, 'kb', 'velvet memorandum');
      expect(first.headers.get('x-cache')).toBe('MISS');
      const second = await search(demo, 'kb', '  Velvet   MEMORANDUM ');
      expect(second.headers.get('x-cache')).toBe('HIT');
      expect(second.body.results).toEqual(first.body.results);
      const otherPage = await search(demo, 'kb', 'velvet memorandum', '&offset=1');
      expect(otherPage.headers.get('x-cache')).toBe('MISS');
      const bypass = await search(demo, 'kb', 'velvet memorandum', '', { 'Cache-Control': 'no-cache' });
      expect(bypass.headers.get('x-cache')).toBe('BYPASS');
      const post = await demo('/api/v1/search', {
        method: 'POST',
        json: { store: 'kb', query: 'velvet memorandum' },
      });
      expect(post.headers.get('x-cache')).toBe('HIT');
    });

    it('misses with fresh results right after an upload to that store, and after a delete', async () => {
      const q = 'heliotrope lantern';
      const before = await search(demo, 'kb', q);
      expect(before.body.total).toBe(0);
      expect((await search(demo, 'kb', q)).headers.get('x-cache')).toBe('HIT');

      const up = await demo('/api/v1/stores/kb/documents', {
        method: 'POST',
        body: form([['settings.json', fixture('settings.json')]]),
      });
      expect(up.status).toBe(201);
      expect(up.body.documents[0].contentType).toBe('application/json');
      const afterUpload = await search(demo, 'kb', q);
      expect(afterUpload.headers.get('x-cache')).toBe('MISS');
      expect(afterUpload.body.results.map((r: { documentId: string }) => r.documentId)).toEqual([
        up.body.documents[0].id,
      ]);
      expect((await search(demo, 'kb', q)).headers.get('x-cache')).toBe('HIT');

      const del = await demo(`/api/v1/stores/kb/documents/${up.body.documents[0].id}`, { method: 'DELETE' });
      expect(del.status).toBe(204);
      const afterDelete = await search(demo, 'kb', q);
      expect(afterDelete.headers.get('x-cache')).toBe('MISS');
      expect(afterDelete.body.total).toBe(0);
    });

    it('an upload to another store leaves this store’s entries cached', async () => {
      expect((await demo('/api/v1/stores', { method: 'POST', json: { name: 'other' } })).status).toBe(201);
      await search(demo, 'kb', 'tungsten');
      await demo('/api/v1/stores/other/documents', {
        method: 'POST',
        body: form([['n.txt', 'tungsten elsewhere']]),
      });
      expect((await search(demo, 'kb', 'tungsten')).headers.get('x-cache')).toBe('HIT');
    });

    it('never shares entries between tenants with the same store name and query', async () => {
      const demoFirst = await search(demo, 'kb', 'quokka');
      expect(demoFirst.body.total).toBeGreaterThan(0);
      expect((await search(demo, 'kb', 'quokka')).headers.get('x-cache')).toBe('HIT');
      const acmeFirst = await search(acme, 'kb', 'quokka');
      expect(acmeFirst.headers.get('x-cache')).toBe('MISS');
      expect(acmeFirst.body.total).toBe(0);
      const acmeUp = await acme('/api/v1/stores/kb/documents', {
        method: 'POST',
        body: form([['acme.txt', 'The acme quokka lives in the warehouse.']]),
      });
      expect(acmeUp.status).toBe(201);
      const acmeAfter = await search(acme, 'kb', 'quokka');
      expect(acmeAfter.headers.get('x-cache')).toBe('MISS');
      expect(acmeAfter.body.results.map((r: { documentId: string }) => r.documentId)).toEqual([
        acmeUp.body.documents[0].id,
      ]);
      // acme's upload bumped only acme's store: demo's entry is still there and still demo's
      const demoAgain = await search(demo, 'kb', 'quokka');
      expect(demoAgain.headers.get('x-cache')).toBe('HIT');
      expect(demoAgain.body.results).toEqual(demoFirst.body.results);
    });

    it('a store deleted and created again under the same name does not see the old entries', async () => {
      await demo('/api/v1/stores', { method: 'POST', json: { name: 'phoenix' } });
      await demo('/api/v1/stores/phoenix/documents', {
        method: 'POST',
        body: form([['p.txt', 'phoenix ashes']]),
      });
      expect((await search(demo, 'phoenix', 'ashes')).body.total).toBe(1);
      expect((await demo('/api/v1/stores/phoenix', { method: 'DELETE' })).status).toBe(204);
      expect((await search(demo, 'phoenix', 'ashes')).status).toBe(404);
      await demo('/api/v1/stores', { method: 'POST', json: { name: 'phoenix' } });
      const fresh = await search(demo, 'phoenix', 'ashes');
      expect(fresh.headers.get('x-cache')).toBe('MISS');
      expect(fresh.body.total).toBe(0);
    });
  });

  describe('documents', () => {
    it('lists with limit and cursor pagination, in upload order', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: TestResponse = await demo(
          `/api/v1/stores/kb/documents?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(page.status).toBe(200);
        expect(page.body.documents.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.documents.map((d: { id: string }) => d.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(6);
      expect(new Set(seen).size).toBe(6);
      expect(seen[0]).toBe(ids['handbook.md']);
      expect((await demo('/api/v1/stores/kb/documents?cursor=abc')).status).toBe(400);
      expect((await demo('/api/v1/stores/kb/documents?limit=101')).status).toBe(400);
    });

    it('gives opaque cursors, bound to the tenant’s store, that other tenants’ uploads do not move', async () => {
      const firstPage = await demo('/api/v1/stores/kb/documents?limit=2');
      const cursor: string = firstPage.body.nextCursor;
      expect(cursor).toMatch(/^[A-Za-z0-9_-]{50}$/);
      const pageIds = async (c: string): Promise<string[]> => {
        const res = await demo(`/api/v1/stores/kb/documents?limit=2&cursor=${c}`);
        expect(res.status).toBe(200);
        return res.body.documents.map((d: { id: string }) => d.id);
      };
      const secondPage = await pageIds(cursor);
      expect(secondPage).toHaveLength(2);

      // another tenant uploads meanwhile: nothing about it shows in demo's cursors or pages
      const acmeUp = await acme('/api/v1/stores/kb/documents', {
        method: 'POST',
        body: form([
          ['cursor-a.txt', 'Acme cursor probe one.'],
          ['cursor-b.txt', 'Acme cursor probe two.'],
        ]),
      });
      expect(acmeUp.status).toBe(201);
      const again = await demo('/api/v1/stores/kb/documents?limit=2');
      expect(again.body.nextCursor).toMatch(/^[A-Za-z0-9_-]{50}$/);
      expect(again.body.nextCursor).not.toBe(cursor); // sealed afresh each time
      expect(await pageIds(again.body.nextCursor)).toEqual(secondPage);
      expect(await pageIds(cursor)).toEqual(secondPage);

      const refused = (res: TestResponse) =>
        expect({ status: res.status, body: res.body }).toMatchObject({
          status: 400,
          body: { code: 'VALIDATION_FAILED', details: { fields: { cursor: [expect.any(String)] } } },
        });
      // the same cursor on acme's store of the same name, on another store of demo's, forged or numeric
      refused(await acme(`/api/v1/stores/kb/documents?cursor=${cursor}`));
      expect((await demo('/api/v1/stores', { method: 'POST', json: { name: 'cursor-other' } })).status).toBe(
        201,
      );
      refused(await demo(`/api/v1/stores/cursor-other/documents?cursor=${cursor}`));
      const flipped = Buffer.from(cursor, 'base64url');
      flipped[20] ^= 1;
      refused(await demo(`/api/v1/stores/kb/documents?cursor=${flipped.toString('base64url')}`));
      refused(await demo('/api/v1/stores/kb/documents?cursor=3'));
      expect(JSON.stringify(firstPage.body)).not.toMatch(/"seq"/);
    });

    it('is a 404 for an unknown, malformed or other tenant’s document', async () => {
      const missing = await demo('/api/v1/stores/kb/documents/00000000-0000-4000-8000-000000000000');
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('DOCUMENT_NOT_FOUND');
      expect((await demo('/api/v1/stores/kb/documents/not-a-uuid')).body.code).toBe('DOCUMENT_NOT_FOUND');
      const other = await acme(`/api/v1/stores/kb/documents/${ids['handbook.md']}`);
      expect(other.status).toBe(404);
      expect(
        (await acme(`/api/v1/stores/kb/documents/${ids['handbook.md']}`, { method: 'DELETE' })).status,
      ).toBe(404);
      expect((await demo(`/api/v1/stores/kb/documents/${ids['handbook.md']}`)).status).toBe(200);
      expect((await demo('/api/v1/stores/kb/documents/x?include=everything')).status).toBe(400);
    });

    it('deletes a document with its chunks (204), then 404', async () => {
      const id = ids['notes.txt'];
      expect((await demo(`/api/v1/stores/kb/documents/${id}`, { method: 'DELETE' })).status).toBe(204);
      expect((await demo(`/api/v1/stores/kb/documents/${id}`)).status).toBe(404);
      expect((await demo(`/api/v1/stores/kb/documents/${id}`, { method: 'DELETE' })).status).toBe(404);
      const chunks = await database.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM search_chunks WHERE document_id = $1',
        [id],
      );
      expect(chunks.rows[0].n).toBe(0);
    });
  });

  describe('observability', () => {
    it('exposes the search metrics without tenant labels', async () => {
      const res = await app.request('/metrics');
      const text = res.text;
      expect(text).toMatch(/^file_uploads_total\{status="success"\} [1-9]/m);
      expect(text).toMatch(/^file_uploads_total\{status="rejected"\} [1-9]/m);
      expect(text).toMatch(/^file_uploads_total\{status="failure"\} 0/m);
      expect(text).toMatch(/^file_upload_size_bytes_count [1-9]/m);
      expect(text).toMatch(/^file_upload_duration_seconds_count [1-9]/m);
      expect(text).toMatch(/^search_requests_total\{status="success",cache="hit"\} [1-9]/m);
      expect(text).toMatch(/^search_requests_total\{status="success",cache="miss"\} [1-9]/m);
      expect(text).toMatch(/^search_requests_total\{status="success",cache="bypass"\} [1-9]/m);
      expect(text).toMatch(/^search_requests_total\{status="error",cache="miss"\} [1-9]/m);
      expect(text).toMatch(/^search_duration_seconds_count\{cache="hit"\} [1-9]/m);
      expect(text).toMatch(/^search_results_count_count [1-9]/m);
      expect(text).toMatch(/^search_stores [1-9]/m);
      expect(text).toMatch(/^search_documents [1-9]/m);
      expect(text).toMatch(/^uploads_refused_total\{reason="zip_ratio"\} [1-9]/m);
      expect(text).toMatch(/^uploads_refused_total\{reason="too_large"\} [1-9]/m);
      expect(text).toMatch(/^uploads_refused_total\{reason="unsupported"\} [1-9]/m);
      expect(text).toMatch(/^uploads_refused_total\{reason="zip_size"\} 0$/m);
      expect(text).toMatch(/^extraction_workers\{state="busy"\} 0$/m);
      expect(text).toMatch(/^extraction_workers_killed_total\{reason="crash"\} 0$/m);
      const searchLines = text
        .split('\n')
        .filter((l) =>
          /^(file_upload|uploads_refused|extraction_|search_|search_stores|search_documents)/.test(l),
        );
      expect(searchLines.some((l) => /tenant|demo|acme/.test(l))).toBe(false);
    });

    it('shows the search check in /health, not in readiness', async () => {
      const health = await app.request('/health');
      expect(health.body.info?.search ?? health.body.details?.search).toMatchObject({ status: 'up' });
      const ready = await app.request('/health/ready');
      expect(JSON.stringify(ready.body)).not.toContain('"search"');
    });
  });
});
