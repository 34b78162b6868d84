// The store row's document counters (migration 11): BM25's document count and total length, and the store's
// documentCount and bytes, kept by the transaction that publishes, replaces or deletes — equal to the real
// aggregates over the published documents after each of those, after concurrent uploads to one store, and after
// uploads, replacements and deletes that fail or roll back. On both databases, through the real app and socket
// and through the repository's own storage path.
import { Database } from '@libs/database';
import { NewDocument, SearchRepository } from '@app/search/search.repository';
import { keyedClient, KeyedCall, RunningApp, startApp } from '../support/app';
import { createTestDatabase, DATABASE_ADAPTERS, TestDatabase } from '../support/databases';
import { form } from '../fixtures/documents/builders';
import { holdAt } from '../support/held-database';

const KEY = 'counters-demo-key-0123456789';
const NO_CACHE = { 'Cache-Control': 'no-cache' };

interface Totals {
  documents: number;
  terms: number;
  bytes: number;
}

/** A document of `chunks` passages (over 200: stored in several batches, outside one transaction). */
function document(name: string, chunks: number, word = name): NewDocument {
  const texts = Array.from({ length: chunks }, (_, i) => `${word} counter probe passage ${i} of ${name}`);
  return {
    filename: `${name}.txt`,
    contentType: 'text/plain',
    bytes: 1000 + chunks,
    checksum: Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64),
    text: texts.join('\n'),
    chunks: texts,
  };
}

describe.each(DATABASE_ADAPTERS)('store document counters on %s', (adapter) => {
  let db: TestDatabase | undefined;
  let app: RunningApp;
  let call: KeyedCall;
  let database: Database;
  let storeId: string;

  /** The row's counters, and the same three added up over the store's published documents. */
  const totals = async (id = storeId): Promise<{ counters: Totals; real: Totals }> => {
    const r = await database.query<{ [k: string]: number }>(
      `SELECT s.document_count::float8 AS "cDocuments", s.document_terms::float8 AS "cTerms",
         s.document_bytes::float8 AS "cBytes",
         (SELECT count(*)::float8 FROM search_documents d WHERE d.store_id = s.id AND d.ready) AS "rDocuments",
         (SELECT coalesce(sum(d.terms), 0)::float8 FROM search_documents d WHERE d.store_id = s.id AND d.ready) AS "rTerms",
         (SELECT coalesce(sum(d.bytes), 0)::float8 FROM search_documents d WHERE d.store_id = s.id AND d.ready) AS "rBytes"
       FROM search_stores s WHERE s.id = $1`,
      [id],
    );
    const row = r.rows[0];
    return {
      counters: { documents: Number(row.cDocuments), terms: Number(row.cTerms), bytes: Number(row.cBytes) },
      real: { documents: Number(row.rDocuments), terms: Number(row.rTerms), bytes: Number(row.rBytes) },
    };
  };
  /** Asserts the counters equal the real aggregates, and returns them. */
  const exact = async (id = storeId): Promise<Totals> => {
    const { counters, real } = await totals(id);
    expect(counters).toEqual(real);
    return counters;
  };
  const upload = (files: Array<[string, string]>, store = 'kb') =>
    call(`/api/v1/stores/${store}/documents`, { method: 'POST', body: form(files) });

  beforeAll(async () => {
    db = adapter === 'postgres' ? await createTestDatabase() : undefined;
    app = await startApp({
      AUTH_API_KEYS: `${KEY}=demo`,
      SEARCH_CHUNK_CHARS: '400',
      SEARCH_CHUNK_OVERLAP_CHARS: '80',
      ...(db ? { DATABASE_URL: db.url } : {}),
    });
    call = keyedClient(app, KEY);
    database = app.atrium.app.get(Database);
    expect(database.kind).toBe(adapter);
    expect((await call('/api/v1/stores', { method: 'POST', json: { name: 'kb' } })).status).toBe(201);
    storeId = (await new SearchRepository(database).storeKey('demo', 'kb'))!.id;
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('start at zero, count uploads (a re-upload of the same bytes is not counted twice), shown by the store', async () => {
    expect(await exact()).toEqual({ documents: 0, terms: 0, bytes: 0 });
    const up = await upload([
      ['one.txt', 'The lynx guideline covers travel expenses and hotel stays for every team.'],
      ['two.txt', 'A lynx may appear twice: lynx lynx. Receipts are kept for seven years.'],
      ['three.txt', 'Nothing about that animal here, only the quarterly budget review of the finance team.'],
    ]);
    expect(up.status).toBe(201);
    const after = await exact();
    expect(after.documents).toBe(3);
    expect(after.terms).toBeGreaterThan(10);
    const again = await upload([
      ['copy.txt', 'The lynx guideline covers travel expenses and hotel stays for every team.'],
    ]);
    expect(again.body.documents[0].outcome).toBe('unchanged');
    expect(await exact()).toEqual(after);
    const store = await call('/api/v1/stores/kb');
    expect(store.body).toMatchObject({ documentCount: after.documents, bytes: after.bytes });
    const listed = await call('/api/v1/stores');
    expect(listed.body.stores[0]).toMatchObject({ name: 'kb', documentCount: 3, bytes: after.bytes });
  });

  it('follow a replacement (PUT) and an upsert by externalId: the old document off, the new one on', async () => {
    const before = await exact();
    const up = await upload([['short.txt', 'A short caracal note.']]);
    const id = up.body.documents[0].id;
    const added = await exact();
    expect(added.documents).toBe(before.documents + 1);
    const longer =
      'The caracal note, replaced by a much longer text about caracals, deserts and the night sky above.';
    const put = await call(`/api/v1/stores/kb/documents/${id}`, {
      method: 'PUT',
      body: form([['short.txt', longer]]),
    });
    expect(put.status).toBe(200);
    const replaced = await exact();
    expect(replaced.documents).toBe(added.documents);
    expect(replaced.terms).toBeGreaterThan(added.terms);
    expect(replaced.bytes - added.bytes).toBe(
      Buffer.byteLength(longer) - Buffer.byteLength('A short caracal note.'),
    );

    const keyed = (text: string) => {
      const f = new FormData();
      f.append('externalId', 'hr/caracal');
      f.append('files', new Blob([text]), 'keyed.txt');
      return call('/api/v1/stores/kb/documents', { method: 'POST', body: f });
    };
    expect((await keyed('First keyed caracal text.')).body.documents[0].outcome).toBe('created');
    const keyedOnce = await exact();
    expect(keyedOnce.documents).toBe(replaced.documents + 1);
    expect(
      (await keyed('Second keyed caracal text, somewhat longer than the first one.')).body.documents[0]
        .outcome,
    ).toBe('replaced');
    const keyedTwice = await exact();
    expect(keyedTwice.documents).toBe(keyedOnce.documents);
    expect(keyedTwice.terms).toBeGreaterThan(keyedOnce.terms);
  });

  it('follow deletes, and a store deleted and created again starts from zero', async () => {
    const before = await exact();
    const up = await upload([['gone.txt', 'An ocelot passage that is deleted again.']]);
    const id = up.body.documents[0].id;
    expect((await exact()).documents).toBe(before.documents + 1);
    expect((await call(`/api/v1/stores/kb/documents/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await exact()).toEqual(before);
    // a second delete of the same document deletes nothing and counts nothing
    expect((await call(`/api/v1/stores/kb/documents/${id}`, { method: 'DELETE' })).status).toBe(404);
    expect(await exact()).toEqual(before);

    expect((await call('/api/v1/stores', { method: 'POST', json: { name: 'tmp' } })).status).toBe(201);
    expect((await upload([['t.txt', 'A temporary store document.']], 'tmp')).status).toBe(201);
    const tmp = (await new SearchRepository(database).storeKey('demo', 'tmp'))!;
    expect(tmp.documents).toBe(1);
    expect((await call('/api/v1/stores/tmp', { method: 'DELETE' })).status).toBe(204);
    expect((await call('/api/v1/stores', { method: 'POST', json: { name: 'tmp' } })).status).toBe(201);
    const again = (await new SearchRepository(database).storeKey('demo', 'tmp'))!;
    expect(again).toMatchObject({ documents: 0, totalTerms: 0 });
    expect(await exact(again.id)).toEqual({ documents: 0, terms: 0, bytes: 0 });
  });

  it('lose no update when uploads to one store publish at once', async () => {
    const before = await exact();
    // eight requests at once through the app
    const texts = Array.from(
      { length: 8 },
      (_, i) => `Concurrent upload ${i} about the serval ${'and more '.repeat(i)}`,
    );
    const responses = await Promise.all(texts.map((t, i) => upload([[`c${i}.txt`, t]])));
    expect(responses.map((r) => r.status)).toEqual(texts.map(() => 201));
    const afterHttp = await exact();
    expect(afterHttp.documents).toBe(before.documents + 8);

    // two multi-batch uploads held before their postings, then let go together: their publications overlap
    const real = database;
    const holds = [holdAt(real, 'INSERT INTO search_postings'), holdAt(real, 'INSERT INTO search_postings')];
    const stored = holds.map((h, i) =>
      new SearchRepository(h.db).storeDocument('demo', storeId, document(`race${i}`, 300)),
    );
    await Promise.all(holds.map((h) => h.reached));
    for (const h of holds) h.resume();
    await Promise.all(stored);
    const afterRace = await exact();
    expect(afterRace.documents).toBe(afterHttp.documents + 2);
    expect(afterRace.bytes).toBe(afterHttp.bytes + 2 * 1300);

    // and a burst through the repository: multi-batch and one-batch documents mixed
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        new SearchRepository(real).storeDocument('demo', storeId, document(`burst${i}`, i % 2 ? 250 : 3)),
      ),
    );
    expect((await exact()).documents).toBe(afterRace.documents + 6);
  });

  it('are left as they were by an upload that fails part-way or whose publication rolls back', async () => {
    const real = database;
    const before = await exact();
    // a multi-batch upload whose second chunk batch fails (nothing was published yet)
    let chunkStatements = 0;
    const failingChunks = {
      query: async (sql: string, params?: unknown[]) => {
        if (sql.includes('INSERT INTO search_chunks') && ++chunkStatements === 2)
          throw new Error('injected chunk failure');
        return real.query(sql, params);
      },
      transaction: real.transaction.bind(real),
    } as unknown as Database;
    await expect(
      new SearchRepository(failingChunks).storeDocument('demo', storeId, document('partway', 500)),
    ).rejects.toThrow('injected chunk failure');
    expect(chunkStatements).toBe(2);
    expect(await exact()).toEqual(before);

    // the publishing transaction fails after its last statement (the counters already incremented in it)
    const afterPublish = {
      query: real.query.bind(real),
      transaction: <T>(fn: (tx: unknown) => Promise<T>) =>
        real.transaction(async (tx) => {
          await fn(tx);
          throw new Error('injected failure after publishing');
        }),
    } as unknown as Database;
    const rolledBack = new SearchRepository(afterPublish);
    for (const chunks of [3, 300])
      // one transaction for everything, and the multi-batch path's publication
      await expect(
        rolledBack.storeDocument('demo', storeId, document(`rolled${chunks}`, chunks)),
      ).rejects.toThrow('injected failure after publishing');
    expect(await exact()).toEqual(before);

    // a replacement and a delete rolled back the same way
    const victim = await new SearchRepository(real).storeDocument('demo', storeId, document('victim', 3));
    const withVictim = await exact();
    await expect(
      rolledBack.storeDocument('demo', storeId, { ...document('victim-v2', 40), replaces: victim.id }),
    ).rejects.toThrow('injected failure after publishing');
    expect(await exact()).toEqual(withVictim);
    await expect(rolledBack.deleteDocument(storeId, victim.id)).rejects.toThrow(
      'injected failure after publishing',
    );
    expect(await exact()).toEqual(withVictim);
    expect(await new SearchRepository(real).deleteDocument(storeId, victim.id)).toBe(true);
    expect(await exact()).toEqual(before);
    const left = await real.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM search_documents WHERE filename IN ('partway.txt', 'rolled3.txt', 'rolled300.txt', 'victim-v2.txt')`,
    );
    expect(Number(left.rows[0].n)).toBe(0);
  });

  it('are what a search ranks by: BM25 reads N and the average length from the store row', async () => {
    const repository = new SearchRepository(database);
    const key = (await repository.storeKey('demo', 'kb'))!;
    const real = (await totals()).real;
    expect({ documents: key.documents, totalTerms: key.totalTerms }).toEqual({
      documents: real.documents,
      totalTerms: real.terms,
    });
    const score = async () => {
      const res = await call(`/api/v1/search?store=kb&q=lynx`, { headers: NO_CACHE });
      expect(res.status).toBe(200);
      return (res.body.results as Array<{ filename: string; score: number }>).map((r) => [
        r.filename,
        r.score,
      ]);
    };
    const counted = await score();
    expect(counted.length).toBe(2);
    // only the row's counters move (nothing is stored or deleted): fifty times the documents of the same average
    // length — the word rarer, its idf higher, and so the scores
    const scale = (op: '*' | '/') =>
      database.query(
        `UPDATE search_stores SET document_count = document_count ${op} 50, document_terms = document_terms ${op} 50
         WHERE id = $1`,
        [storeId],
      );
    await scale('*');
    try {
      const inflated = await score();
      expect(inflated.map(([f]) => f)).toEqual(counted.map(([f]) => f));
      expect(inflated[0][1]).toBeGreaterThan(counted[0][1] as number);
    } finally {
      await scale('/');
    }
    expect(await score()).toEqual(counted);
    await exact();
  });
});
