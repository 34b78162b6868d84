// Issue 23, items 3, 4 and 6: replace in place (PUT …/documents/:id), caller ids (externalId upserts),
// idempotent re-uploads, per-store synonyms and stop words, and store statistics — on both databases, through
// the real app and socket.
import { Database } from '@libs/database';
import { ReplacedDocumentGone, SearchRepository } from '@app/search/search.repository';
import { keyedClient, KeyedCall, RunningApp, startApp, TestResponse } from '../support/app';
import { createTestDatabase, DATABASE_ADAPTERS, TestDatabase } from '../support/databases';
import { buildElf, form } from '../fixtures/documents/builders';
import { holdAt } from '../support/held-database';

const KEY_DEMO = 'replace-demo-key-0123456789';
const KEY_ACME = 'replace-acme-key-0123456789';

type Call = KeyedCall;

const client = keyedClient;

/** A multipart body of [externalId?, filename, content] entries, each key field just before its file. */
function keyed(files: Array<[string | undefined, string, string | Buffer]>): FormData {
  const f = new FormData();
  for (const [key, name, data] of files) {
    if (key !== undefined) f.append('externalId', key);
    f.append('files', new Blob([data]), name);
  }
  return f;
}

const NO_CACHE = { 'Cache-Control': 'no-cache' };

describe.each(DATABASE_ADAPTERS)('replace, settings and stats on %s (real app, real socket)', (adapter) => {
  let db: TestDatabase | undefined;
  let app: RunningApp;
  let demo: Call;
  let acme: Call;
  let database: Database;

  const search = (store: string, q: string, headers: Record<string, string> = {}) =>
    demo(`/api/v1/search?store=${store}&q=${encodeURIComponent(q)}`, { headers });
  const ids = (res: TestResponse): string[] =>
    (res.body.results as Array<{ documentId: string }>).map((r) => r.documentId);

  beforeAll(async () => {
    db = adapter === 'postgres' ? await createTestDatabase() : undefined;
    app = await startApp({
      AUTH_API_KEYS: `${KEY_DEMO}=demo,${KEY_ACME}=acme`,
      SEARCH_CHUNK_CHARS: '400',
      SEARCH_CHUNK_OVERLAP_CHARS: '80',
      ...(db ? { DATABASE_URL: db.url } : {}),
    });
    demo = client(app, KEY_DEMO);
    acme = client(app, KEY_ACME);
    database = app.atrium.app.get(Database);
    expect(database.kind).toBe(adapter);
    for (const name of ['rp', 'syn', 'st'])
      expect((await demo('/api/v1/stores', { method: 'POST', json: { name } })).status).toBe(201);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  describe('replace in place (PUT …/documents/:id)', () => {
    let id: string;

    it('replaces the file keeping the id: the old words stop matching, the new ones match at once', async () => {
      const up = await demo('/api/v1/stores/rp/documents', {
        method: 'POST',
        body: form([['policy.txt', 'The marmoset travel policy allows economy class only.']]),
      });
      expect(up.status).toBe(201);
      id = up.body.documents[0].id;
      expect(up.body.documents[0].outcome).toBe('created');
      expect(ids(await search('rp', 'marmoset'))).toEqual([id]); // cached from here on
      const before = await demo(`/api/v1/stores/rp/documents/${id}`);

      const put = await demo(`/api/v1/stores/rp/documents/${id}`, {
        method: 'PUT',
        body: form([
          ['policy-v2.txt', 'The ocelot travel policy now allows business class on long flights.'],
        ]),
      });
      expect(put.status).toBe(200);
      expect(put.body).toEqual({
        id,
        filename: 'policy-v2.txt',
        contentType: 'text/plain',
        bytes: expect.any(Number),
        chunks: 1,
        // the new file's metadata (Atrium's keys; the PUT sent no user metadata)
        metadata: expect.objectContaining({ contentType: 'text/plain', type: 'text' }),
        embedding: { status: 'off', embedded: 0, total: 1 },
        outcome: 'replaced',
      });
      // no Cache-Control: the version moved on, so the cached page of the old file is not served
      const old = await search('rp', 'marmoset');
      expect(old.headers.get('x-cache')).toBe('MISS');
      expect(old.body.total).toBe(0);
      expect(ids(await search('rp', 'ocelot'))).toEqual([id]);
      const after = await demo(`/api/v1/stores/rp/documents/${id}?include=text`);
      expect(after.body).toMatchObject({ id, filename: 'policy-v2.txt', createdAt: before.body.createdAt });
      expect(after.body.text).toContain('ocelot');
      expect(Date.parse(after.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.body.updatedAt));
      const store = (await demo('/api/v1/stores/rp')).body;
      expect(store.documentCount).toBe(1);
      // nothing of the old version is left in the tables: chunks, postings, vocabulary
      const left = await database.query<{ chunks: number; postings: number; words: number }>(
        `SELECT (SELECT count(*)::int FROM search_chunks WHERE content LIKE '%marmoset%') AS chunks,
                (SELECT count(*)::int FROM search_postings WHERE lexeme = 'marmoset') AS postings,
                (SELECT count(*)::int FROM search_words WHERE word = 'marmoset') AS words`,
      );
      expect(left.rows[0]).toEqual({ chunks: 0, postings: 0, words: 0 });
    });

    it('answers identical bytes with 200 and the document unchanged (version and cache untouched)', async () => {
      const version = (await new SearchRepository(database).storeKey('demo', 'rp'))!.version;
      const same = 'The ocelot travel policy now allows business class on long flights.';
      const put = await demo(`/api/v1/stores/rp/documents/${id}`, {
        method: 'PUT',
        body: form([['whatever.txt', same]]),
      });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ id, filename: 'policy-v2.txt', outcome: 'unchanged' });
      const post = await demo('/api/v1/stores/rp/documents', {
        method: 'POST',
        body: form([['copy.txt', same]]),
      });
      expect(post.status).toBe(200);
      expect(post.body).toEqual({
        documents: [expect.objectContaining({ id, filename: 'policy-v2.txt', outcome: 'unchanged' })],
        rejected: [],
      });
      expect((await new SearchRepository(database).storeKey('demo', 'rp'))!.version).toBe(version);
    });

    it('refuses bytes another document holds (409), a bad file (415), an unknown or other tenant’s id (404)', async () => {
      const other = await demo('/api/v1/stores/rp/documents', {
        method: 'POST',
        body: form([['other.txt', 'A capybara handbook about something else.']]),
      });
      const otherId = other.body.documents[0].id;
      const dup = await demo(`/api/v1/stores/rp/documents/${id}`, {
        method: 'PUT',
        body: form([['x.txt', 'A capybara handbook about something else.']]),
      });
      expect(dup.status).toBe(409);
      expect(dup.body).toMatchObject({
        code: 'DUPLICATE_DOCUMENT',
        details: { existingDocumentId: otherId },
      });
      const bad = await demo(`/api/v1/stores/rp/documents/${id}`, {
        method: 'PUT',
        body: form([['x.txt', buildElf()]]),
      });
      expect(bad.status).toBe(415);
      expect(bad.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(ids(await search('rp', 'ocelot', NO_CACHE))).toEqual([id]); // a refused file changed nothing
      for (const missing of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
        const res = await demo(`/api/v1/stores/rp/documents/${missing}`, {
          method: 'PUT',
          body: form([['x.txt', 'hello']]),
        });
        expect([res.status, res.body.code]).toEqual([404, 'DOCUMENT_NOT_FOUND']);
      }
      expect((await acme('/api/v1/stores', { method: 'POST', json: { name: 'rp' } })).status).toBe(201);
      const foreign = await acme(`/api/v1/stores/rp/documents/${id}`, {
        method: 'PUT',
        body: form([['x.txt', 'acme tries to overwrite demo']]),
      });
      expect([foreign.status, foreign.body.code]).toEqual([404, 'DOCUMENT_NOT_FOUND']);
      const noStore = await acme(`/api/v1/stores/nope/documents/${id}`, {
        method: 'PUT',
        body: form([['x.txt', 'hello']]),
      });
      expect([noStore.status, noStore.body.code]).toEqual([404, 'STORE_NOT_FOUND']);
      const two = await demo(`/api/v1/stores/rp/documents/${otherId}`, {
        method: 'PUT',
        body: form([
          ['a.txt', 'first of two replacements'],
          ['b.txt', 'second of two replacements'],
        ]),
      });
      expect([two.status, two.body.code, two.body.details]).toEqual([413, 'TOO_MANY_FILES', { limit: 1 }]);
      // the first file was taken before the second was seen, and the answer says so
      expect(two.body.documents).toEqual([
        expect.objectContaining({ id: otherId, filename: 'a.txt', outcome: 'replaced' }),
      ]);
    });

    it('keeps the old passages searchable while the new version is being stored, then switches at once', async () => {
      const real = database;
      // the real database, holding the replacement before its postings: new chunks stored, nothing published
      const { db: held, reached, resume } = holdAt(real, 'INSERT INTO search_postings');
      const store = (await new SearchRepository(real).storeKey('demo', 'rp'))!;
      // 300 chunks: more than one batch, so the steps run as separate statements (migration 5)
      const chunks = Array.from({ length: 300 }, (_, i) => `quetzalcoatl replacement probe ${i}`);
      const replacing = new SearchRepository(held).storeDocument('demo', store.id, {
        filename: 'policy-v3.txt',
        contentType: 'text/plain',
        bytes: 10,
        checksum: 'd'.repeat(64),
        text: chunks.join('\n'),
        chunks,
        replaces: id,
      });
      await reached;
      expect(ids(await search('rp', 'ocelot', NO_CACHE))).toEqual([id]);
      expect((await search('rp', 'quetzalcoatl', NO_CACHE)).body.total).toBe(0);
      expect((await demo(`/api/v1/stores/rp/documents/${id}`)).body.filename).toBe('policy-v2.txt');
      expect((await demo('/api/v1/stores/rp')).body.documentCount).toBe(2);
      resume();
      expect(await replacing).toEqual({ id, replaced: true });
      expect((await search('rp', 'ocelot')).body.total).toBe(0);
      expect(ids(await search('rp', 'quetzalcoatl'))).toEqual([id]);
      const grouped = await demo(`/api/v1/search?store=rp&q=quetzalcoatl&group=chunks&limit=3`);
      expect(grouped.body.results.map((r: { documentId: string }) => r.documentId)).toEqual([id, id, id]);
      expect((await demo('/api/v1/stores/rp')).body.documentCount).toBe(2);
      // deleting it by its (kept) id removes the new version
      expect((await demo(`/api/v1/stores/rp/documents/${id}`, { method: 'DELETE' })).status).toBe(204);
      expect((await search('rp', 'quetzalcoatl')).body.total).toBe(0);
      expect((await demo(`/api/v1/stores/rp/documents/${id}`)).status).toBe(404);
      // a replacement of a document deleted meanwhile publishes nothing and leaves nothing (both paths:
      // one transaction for a small document, bounded steps for a large one)
      for (const n of [3, 300]) {
        const version = (await new SearchRepository(real).storeKey('demo', 'rp'))!.version;
        const probe = Array.from({ length: n }, (_, i) => `jackalope orphan probe ${i}`);
        await expect(
          new SearchRepository(real).storeDocument('demo', store.id, {
            filename: 'orphan.txt',
            contentType: 'text/plain',
            bytes: 10,
            checksum: String(n % 10).repeat(64),
            text: probe.join('\n'),
            chunks: probe,
            replaces: id,
          }),
        ).rejects.toThrow(ReplacedDocumentGone);
        const left = await real.query<{ docs: number; chunks: number }>(
          `SELECT (SELECT count(*)::int FROM search_documents WHERE filename = 'orphan.txt') AS docs,
                  (SELECT count(*)::int FROM search_chunks WHERE content LIKE 'jackalope orphan%') AS chunks`,
        );
        expect(left.rows[0]).toEqual({ docs: 0, chunks: 0 });
        expect((await new SearchRepository(real).storeKey('demo', 'rp'))!.version).toBe(version);
      }
    });
  });

  describe('externalId (upsert by the caller’s key)', () => {
    it('maps one key to one document: a second upload with the key replaces it, same id', async () => {
      const first = await demo('/api/v1/stores/rp/documents', {
        method: 'POST',
        body: keyed([
          ['hr/leave-policy', 'leave.txt', 'Parental leave lasts sixteen weeks at the axolotl company.'],
          [undefined, 'plain.txt', 'A document without a key mentions the axolotl too.'],
        ]),
      });
      expect(first.status).toBe(201);
      const [keyedDoc, plain] = first.body.documents;
      expect(keyedDoc).toMatchObject({ externalId: 'hr/leave-policy', outcome: 'created' });
      expect(plain.externalId).toBeUndefined();

      const again = await demo('/api/v1/stores/rp/documents', {
        method: 'POST',
        body: keyed([
          ['hr/leave-policy', 'leave.txt', 'Parental leave now lasts twenty weeks (narwhal edition).'],
        ]),
      });
      expect(again.status).toBe(200); // nothing created: replaced
      expect(again.body.documents).toEqual([
        expect.objectContaining({ id: keyedDoc.id, externalId: 'hr/leave-policy', outcome: 'replaced' }),
      ]);
      expect(ids(await search('rp', 'narwhal'))).toEqual([keyedDoc.id]);
      expect(ids(await search('rp', 'sixteen'))).toEqual([]);
      const got = await demo(`/api/v1/stores/rp/documents/${keyedDoc.id}`);
      expect(got.body.externalId).toBe('hr/leave-policy');

      // a PUT keeps the key; the same key in another store or tenant is another document
      const put = await demo(`/api/v1/stores/rp/documents/${keyedDoc.id}`, {
        method: 'PUT',
        body: form([['leave.txt', 'Parental leave: see the intranet (okapi).']]),
      });
      expect(put.body).toMatchObject({ id: keyedDoc.id, externalId: 'hr/leave-policy', outcome: 'replaced' });
      const elsewhere = await acme('/api/v1/stores/rp/documents', {
        method: 'POST',
        body: keyed([['hr/leave-policy', 'leave.txt', 'Acme leave policy.']]),
      });
      expect(elsewhere.status).toBe(201);
      expect(elsewhere.body.documents[0].id).not.toBe(keyedDoc.id);
      expect(ids(await search('rp', 'okapi'))).toEqual([keyedDoc.id]);

      // identical bytes under the same key: unchanged; under another key: the content is another document's
      const same = await demo('/api/v1/stores/rp/documents', {
        method: 'POST',
        body: keyed([['hr/leave-policy', 'x.txt', 'Parental leave: see the intranet (okapi).']]),
      });
      expect([same.status, same.body.documents[0]?.outcome]).toEqual([200, 'unchanged']);
      const otherKey = await demo('/api/v1/stores/rp/documents', {
        method: 'POST',
        body: keyed([['hr/other', 'x.txt', 'Parental leave: see the intranet (okapi).']]),
      });
      expect(otherKey.status).toBe(409);
      expect(otherKey.body.rejected[0]).toMatchObject({
        code: 'DUPLICATE_DOCUMENT',
        existingDocumentId: keyedDoc.id,
      });
    });

    it('serialises concurrent uploads of one new key: one document, created then replaced, the last one wins', async () => {
      const send = (n: number) =>
        demo('/api/v1/stores/rp/documents', {
          method: 'POST',
          body: keyed([['race/key', `race-${n}.txt`, `Concurrent upsert number ${n} of the wombat race.`]]),
        });
      const answers = await Promise.all([1, 2, 3].map(send));
      const outcomes = answers.map((a) => a.body.documents[0].outcome as string).sort();
      expect(outcomes).toEqual(['created', 'replaced', 'replaced']);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 201]);
      const [docId] = new Set(answers.map((a) => a.body.documents[0].id as string));
      expect(new Set(answers.map((a) => a.body.documents[0].id)).size).toBe(1);
      const rows = await database.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM search_documents WHERE external_id = 'race/key'",
      );
      expect(rows.rows[0].n).toBe(1);
      expect(ids(await search('rp', 'wombat'))).toEqual([docId]);
    });

    it('answers a mixed upload (one created, one unchanged, one rejected) 201 with each file’s outcome', async () => {
      const res = await demo('/api/v1/stores/rp/documents', {
        method: 'POST',
        body: keyed([
          [undefined, 'new.txt', 'A brand new tapir document.'],
          [undefined, 'again.txt', 'Parental leave: see the intranet (okapi).'],
          [undefined, 'bad.txt', buildElf()],
        ]),
      });
      expect(res.status).toBe(201);
      expect(res.body.documents.map((d: { outcome: string }) => d.outcome)).toEqual(['created', 'unchanged']);
      expect(res.body.rejected.map((r: { code: string }) => r.code)).toEqual(['UNSUPPORTED_MEDIA_TYPE']);
    });

    it.each([
      ['a NUL', 'a\u0000b'],
      ['10,000 characters', 'k'.repeat(10_000)],
      ['a newline', 'line\nbreak'],
      ['an empty key', ''],
      ['surrounding spaces', ' key '],
    ])(
      'refuses an externalId with %s: 400 VALIDATION_FAILED naming the field, nothing stored',
      async (_l, key) => {
        const before = (await demo('/api/v1/stores/rp')).body.documentCount;
        const res = await demo('/api/v1/stores/rp/documents', {
          method: 'POST',
          body: keyed([[key, 'k.txt', 'never stored: a key problem']]),
        });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
        expect(Object.keys(res.body.details.fields)).toEqual(['externalId']);
        expect((await demo('/api/v1/stores/rp')).body.documentCount).toBe(before);
      },
    );

    it('refuses an externalId with no file after it, and one sent to a PUT', async () => {
      const f = new FormData();
      f.append('files', new Blob(['a file before its key']), 'late.txt');
      f.append('externalId', 'late');
      const late = await demo('/api/v1/stores/rp/documents', { method: 'POST', body: f });
      expect([late.status, late.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(late.body.message).toContain('externalId must come before the file');
      expect(late.body.documents).toHaveLength(1); // the file before it was stored, and says so
      const docs = (await demo('/api/v1/stores/rp/documents?limit=100')).body.documents;
      const target = docs[0].id as string;
      const put = await demo(`/api/v1/stores/rp/documents/${target}`, {
        method: 'PUT',
        body: keyed([['k', 'x.txt', 'keyed replacement']]),
      });
      expect([put.status, put.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    });
  });

  describe('synonyms and stop words (PUT/GET …/settings)', () => {
    it('starts empty, and is 404 for another tenant’s store', async () => {
      const res = await demo('/api/v1/stores/syn/settings');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ synonyms: {}, synonymGroups: [], stopWords: [] });
      expect((await acme('/api/v1/stores/syn/settings')).status).toBe(404);
      const put = await acme('/api/v1/stores/syn/settings', { method: 'PUT', json: { stopWords: ['x'] } });
      expect([put.status, put.body.code]).toEqual([404, 'STORE_NOT_FOUND']);
    });

    it('a one-way synonym finds a document without the query word; the store version moves on', async () => {
      const up = await demo('/api/v1/stores/syn/documents', {
        method: 'POST',
        body: form([
          ['k.txt', 'Deploying services on Kubernetes clusters with rolling updates.'],
          ['car.txt', 'The automobile needs new tyres before winter.'],
          ['acme.txt', 'Acme gizmo manual: acme widgets and acme parts.'],
        ]),
      });
      expect(up.status).toBe(201);
      const [k8s, car, acmeDoc] = up.body.documents.map((d: { id: string }) => d.id);
      expect((await search('syn', 'k8s')).body.total).toBe(0); // cached
      const put = await demo('/api/v1/stores/syn/settings', {
        method: 'PUT',
        json: {
          synonyms: { K8s: ['Kubernetes'] },
          synonymGroups: [['car', 'automobile', 'auto']],
          stopWords: ['Acme'],
        },
      });
      expect(put.status).toBe(200);
      expect(put.body).toEqual({
        synonyms: { k8s: ['kubernetes'] },
        synonymGroups: [['car', 'automobile', 'auto']],
        stopWords: ['acme'],
      });
      expect((await demo('/api/v1/stores/syn/settings')).body).toEqual(put.body);
      const found = await search('syn', 'k8s');
      expect(found.headers.get('x-cache')).toBe('MISS'); // the version moved on: the cached empty page is gone
      expect(ids(found)).toEqual([k8s]);
      // one-way: the right-hand word does not bring the key back (nothing says k8s, so only itself)
      expect(ids(await search('syn', 'kubernetes'))).toEqual([k8s]);
      // multi-way: every member of the group finds the document saying another
      expect(ids(await search('syn', 'car'))).toEqual([car]);
      expect(ids(await search('syn', 'auto'))).toEqual([car]);
      // stop words stop matching: alone nothing, with another word only that word counts
      expect((await search('syn', 'acme')).body.total).toBe(0);
      expect(ids(await search('syn', 'acme gizmo'))).toEqual([acmeDoc]);
      expect(ids(await search('syn', 'acme tyres'))).toEqual([car]);
      // emptied again: back to plain matching, no re-index needed
      expect((await demo('/api/v1/stores/syn/settings', { method: 'PUT', json: {} })).status).toBe(200);
      expect((await search('syn', 'k8s')).body.total).toBe(0);
      expect(ids(await search('syn', 'acme'))).toEqual([acmeDoc]);
    });

    it.each([
      ['not an object', [1, 2], 'body'],
      ['an unknown field', { synonym: {} }, 'synonym'],
      ['a synonym list that is not a list', { synonyms: { a: 'b' } }, 'synonyms.a'],
      [
        'too many alternatives',
        { synonyms: { a: Array.from({ length: 17 }, (_, i) => `w${i}`) } },
        'synonyms.a',
      ],
      ['a five-word synonym', { synonyms: { a: ['one two three four five'] } }, 'synonyms.a[0]'],
      // the app's JSON guard refuses a NUL anywhere in a body first (parseSettings would too: unit spec)
      ['a NUL in a stop word', { stopWords: ['a\u0000b'] }, 'stopWords.0'],
      ['a two-word stop word', { stopWords: ['two words'] }, 'stopWords[0]'],
      ['a 10,000-character word', { stopWords: ['w'.repeat(10_000)] }, 'stopWords[0]'],
      ['punctuation only', { synonyms: { '!!!': ['x'] } }, 'synonyms.!!!'],
      ['a one-member group', { synonymGroups: [['solo']] }, 'synonymGroups[0]'],
      ['1,001 stop words', { stopWords: Array.from({ length: 1001 }, (_, i) => `s${i}`) }, 'stopWords'],
      [
        '1,001 synonym entries',
        { synonyms: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, ['v']])) },
        'synonyms',
      ],
    ])('refuses %s: 400 VALIDATION_FAILED naming the field, settings unchanged', async (_l, body, field) => {
      const before = (await demo('/api/v1/stores/syn/settings')).body;
      const res = await demo('/api/v1/stores/syn/settings', { method: 'PUT', json: body });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(Object.keys(res.body.details.fields)).toContain(field);
      expect((await demo('/api/v1/stores/syn/settings')).body).toEqual(before);
    });

    it('answers a huge body of bad entries with a short 400 (the first fields only)', async () => {
      const stopWords = Array.from({ length: 1000 }, () => 'two words');
      const res = await demo('/api/v1/stores/syn/settings', { method: 'PUT', json: { stopWords } });
      expect(res.status).toBe(400);
      expect(Object.keys(res.body.details.fields)).toHaveLength(20);
      expect(JSON.stringify(res.body).length).toBeLessThan(10_000);
    });
  });

  describe('stats (GET …/stats)', () => {
    it('counts documents, passages and bytes per content type, and the last update', async () => {
      const empty = await demo('/api/v1/stores/st/stats');
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({
        store: 'st',
        documents: 0,
        passages: 0,
        bytes: 0,
        words: 0,
        pendingUploads: 0,
        byContentType: {},
        createdAt: expect.any(String),
        lastUpdate: expect.any(String),
        metadataKeys: {},
        embedding: { status: 'off', embedded: 0, total: 0 },
      });
      const md = '# Title\n\nSome markdown about lemurs.\n';
      const txt = 'Plain text about lemurs and lorises.';
      const csv = 'a,b\n1,2\n';
      const up = await demo('/api/v1/stores/st/documents', {
        method: 'POST',
        body: form([
          ['a.md', md],
          ['b.txt', txt],
          ['c.txt', `${txt} Another one.`],
          ['d.csv', csv],
        ]),
      });
      expect(up.status).toBe(201);
      const chunks = (name: string) =>
        up.body.documents.find((d: { filename: string }) => d.filename === name).chunks as number;
      const res = await demo('/api/v1/stores/st/stats');
      expect(res.body).toMatchObject({
        documents: 4,
        passages: chunks('a.md') + chunks('b.txt') + chunks('c.txt') + chunks('d.csv'),
        bytes: Buffer.byteLength(md) + Buffer.byteLength(txt) * 2 + ' Another one.'.length + csv.length,
        pendingUploads: 0,
        byContentType: {
          'text/markdown': { documents: 1, passages: chunks('a.md'), bytes: Buffer.byteLength(md) },
          'text/plain': {
            documents: 2,
            passages: chunks('b.txt') + chunks('c.txt'),
            bytes: Buffer.byteLength(txt) * 2 + ' Another one.'.length,
          },
          'text/csv': { documents: 1, passages: chunks('d.csv'), bytes: csv.length },
        },
        // Atrium's own keys on every document, a title on the markdown one (documents per key)
        metadataKeys: { contentType: 4, type: 4, bytes: 4, uploadedAt: 4, title: 1 },
        embedding: { status: 'off', embedded: 0 },
      });
      expect(res.body.embedding.total).toBe(res.body.passages);
      expect(res.body.words).toBeGreaterThan(5);
      expect(Date.parse(res.body.lastUpdate)).toBeGreaterThanOrEqual(Date.parse(empty.body.lastUpdate));
      // another tenant's store of that name is a 404, its own store its own numbers
      expect((await acme('/api/v1/stores/st/stats')).status).toBe(404);
      expect((await demo('/api/v1/stores/missing/stats')).body.code).toBe('STORE_NOT_FOUND');
    });
  });
});
