import { reciprocalRankFusion } from '@app/search/query/fusion';
import { keyedClient, KeyedCall, RunningApp, startApp } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { EmbeddingsServer, startEmbeddingsServer } from '../support/embeddings-server';
import { form } from '../fixtures/documents/builders';
import { until } from '../support/wait';

const KEY = 'embeddings-demo-key-0123456789';
const KEY_OTHER = 'embeddings-other-key-0123456789';

/**
 * The test server's vectors are a bag of words; these synonyms put a question's words on the same
 * dimensions as the page's, so meaning can find what the words cannot (as a real model does).
 */
const SYNONYMS = { ratio: 'rational', values: 'numbers', precise: 'exactly', replica: 'duplicate' };

const DOCS: Array<[string, string]> = [
  ['fractions.txt', 'The Fraction class represents rational numbers exactly, such as one third.'],
  [
    'copying.txt',
    'deepcopy builds an independent duplicate of nested containers, recursing into every element.',
  ],
  [
    'sorting.txt',
    'bisect keeps a list in order when inserting new items, using binary search over rational keys.',
  ],
  ['draft.txt', 'Draft notes, unfinished: rational numbers, to be written later.'],
];

type Call = KeyedCall;
const client = (app: RunningApp, key = KEY): Call => keyedClient(app, key);
const search = (call: Call, q: string, extra = '', store = 'kb') =>
  call(`/api/v1/search?store=${store}&q=${encodeURIComponent(q)}${extra}`);

async function ready(call: Call, store: string, ms = 20_000): Promise<void> {
  await until(
    async () => (await call(`/api/v1/stores/${store}`)).body.embedding?.status === 'ready',
    ms,
    `store ${store} embedded`,
  );
}

describe('semantic and hybrid search, EMBEDDINGS_PROVIDER=openai (PGlite, real sockets)', () => {
  let server: EmbeddingsServer;
  let app: RunningApp;
  let call: Call;

  beforeAll(async () => {
    server = await startEmbeddingsServer({ dims: 64, synonyms: SYNONYMS });
    app = await startApp({
      AUTH_API_KEYS: `${KEY}=demo,${KEY_OTHER}=other`,
      EMBEDDINGS_PROVIDER: 'openai',
      EMBEDDINGS_URL: `${server.url}/v1`,
      EMBEDDINGS_MODEL: 'bag-of-words',
      EMBEDDINGS_API_KEY: 'sk-never-logged-0123456789',
      EMBEDDINGS_RETRIES: '0',
      EMBEDDINGS_BATCH: '2',
      EMBEDDINGS_DEFAULT_HYBRID_MAX_PASSAGES: '10',
      SEARCH_CHUNK_CHARS: '200',
      SEARCH_CHUNK_OVERLAP_CHARS: '20',
    });
    call = client(app);
    expect((await call('/api/v1/stores', { method: 'POST', json: { name: 'kb' } })).status).toBe(201);
  });
  afterAll(async () => {
    await app?.close();
    await server?.close();
  });

  it('answers an upload when the text is stored, searchable lexically; embeds in the background', async () => {
    server.delayMs = 200; // the background work is slower than the answer
    const up = await call('/api/v1/stores/kb/documents', { method: 'POST', body: form(DOCS) });
    expect(up.status).toBe(201);
    for (const d of up.body.documents)
      expect(d.embedding).toEqual({ status: 'pending', embedded: 0, total: 1 });
    const lexical = await search(call, 'deepcopy');
    expect(lexical.body).toMatchObject({ mode: 'lexical', total: 1 }); // not every passage is embedded yet
    server.delayMs = 0;
    await ready(call, 'kb');
    expect((await call('/api/v1/stores/kb')).body.embedding).toEqual({
      status: 'ready',
      embedded: 4,
      total: 4,
    });
    const id = up.body.documents[0].id as string;
    expect((await call(`/api/v1/stores/kb/documents/${id}`)).body.embedding).toEqual({
      status: 'ready',
      embedded: 1,
      total: 1,
    });
    const list = await call('/api/v1/stores/kb/documents');
    expect(list.body.documents.map((d: { embedding: { status: string } }) => d.embedding.status)).toEqual(
      Array(4).fill('ready'),
    );
    // passages went in batches of EMBEDDINGS_BATCH with the key, never more
    expect(server.requests.every((r) => r.input.length <= 2)).toBe(true);
    expect(server.requests.every((r) => r.authorization === 'Bearer sk-never-logged-0123456789')).toBe(true);
    expect(app.logs.raw.join('\n')).not.toContain('sk-never-logged');
  });

  it('finds by meaning what the words miss: default hybrid once embedded, similarity on semantic hits', async () => {
    const lexical = await search(call, 'precise ratio values', '&mode=lexical');
    expect(lexical.body).toMatchObject({ mode: 'lexical', total: 0 });
    const hybrid = await search(call, 'precise ratio values');
    expect(hybrid.status).toBe(200);
    expect(hybrid.body.mode).toBe('hybrid');
    expect(hybrid.body.results[0]).toMatchObject({ filename: 'fractions.txt', matchedTerms: [] });
    expect(hybrid.body.results[0].similarity).toBeGreaterThan(0.5);
    expect(hybrid.body.results[0].snippets[0]).toContain('rational numbers');
    // a lexical hit keeps its matchedTerms beside its similarity
    const mixed = await search(call, 'deepcopy replica');
    expect(mixed.body.results[0]).toMatchObject({ filename: 'copying.txt', matchedTerms: ['deepcopy'] });
    expect(mixed.body.results[0].similarity).toBeGreaterThan(0);
    const post = await call('/api/v1/search', {
      method: 'POST',
      json: { store: 'kb', query: 'precise ratio values', mode: 'semantic', group: 'chunks' },
    });
    expect(post.body).toMatchObject({ mode: 'semantic' });
    expect(post.body.results[0]).toMatchObject({ filename: 'fractions.txt', chunkIndex: 0 });
    expect(post.body.results[0].score).toBe(post.body.results[0].similarity);
  });

  it('keeps the query syntax: -term and "phrases" filter semantic hits too', async () => {
    const all = await search(call, 'precise ratio values', '&mode=semantic');
    expect(all.body.results.map((r: { filename: string }) => r.filename)).toContain('draft.txt');
    const excluded = await search(call, 'precise ratio values -draft', '&mode=semantic');
    expect(excluded.body.results.map((r: { filename: string }) => r.filename)).not.toContain('draft.txt');
    expect(excluded.body.results[0].filename).toBe('fractions.txt');
    const phrase = await search(call, 'precise ratio values "binary search"', '&mode=semantic');
    expect(phrase.body.results.map((r: { filename: string }) => r.filename)).toEqual(['sorting.txt']);
  });

  it('a cache hit costs the store key only: embedding progress rides on the store row', async () => {
    const statements = async () =>
      (await app.request('/metrics')).text
        .split('\n')
        .filter((l) => l.startsWith('db_query_duration_seconds_count'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    // the default mode (hybrid, the store embedded): before, each search counted the pending and embedded
    // passages (two statements over the chunks) ahead of its cache lookup
    const first = await search(call, 'precise ratio values');
    expect(first.body.mode).toBe('hybrid');
    const before = await statements();
    for (let i = 0; i < 20; i++) {
      const hit = await search(call, 'precise ratio values');
      expect(hit.headers.get('x-cache')).toBe('HIT');
    }
    // 20 store keys, and a little room for the background (the indexer's poll, the queue-depth gauge)
    expect((await statements()) - before).toBeLessThanOrEqual(24);
  });

  it('caches query vectors per tenant, and keys results by mode', async () => {
    const asked = () => server.requests.filter((r) => r.input.join() === 'nested containers').length;
    await search(call, 'nested containers', '&mode=semantic');
    await search(call, 'nested containers', '&mode=semantic&limit=5'); // another page: a result miss
    expect(asked()).toBe(1);
    const lexical = await search(call, 'nested containers', '&mode=lexical');
    expect(lexical.body.mode).toBe('lexical');
    expect(lexical.headers.get('x-cache')).toBe('MISS');
    // another tenant's same query is embedded again (its store of the same name is its own)
    const other = client(app, KEY_OTHER);
    await other('/api/v1/stores', { method: 'POST', json: { name: 'kb' } });
    expect((await search(other, 'nested containers', '&mode=semantic')).body.total).toBe(0);
    expect(asked()).toBe(2);
  });

  it('answers from the page the mode found: cached per mode, counted under it', async () => {
    const count = async (mode: string) => {
      const line = (await app.request('/metrics')).text
        .split('\n')
        .find((l) =>
          l.startsWith(`search_answers_total{mode="${mode}",kind="extractive",outcome="success"} `),
        );
      return line ? Number(line.split(' ')[1]) : 0;
    };
    const [lexicalBefore, hybridBefore] = [await count('lexical'), await count('hybrid')];
    const lexical = await search(call, 'nested containers copy', '&mode=lexical&answer=extractive');
    const hybrid = await search(call, 'nested containers copy', '&mode=hybrid&answer=extractive');
    expect([lexical.status, hybrid.status]).toEqual([200, 200]);
    expect([lexical.body.mode, hybrid.body.mode]).toEqual(['lexical', 'hybrid']);
    // the hybrid answer was not served from the lexical page's cached answer
    expect(hybrid.headers.get('x-cache')).toBe('MISS');
    if (lexical.body.answer) expect((await count('lexical')) - lexicalBefore).toBe(1);
    if (hybrid.body.answer) expect((await count('hybrid')) - hybridBefore).toBe(1);
    expect(lexical.body.answer ?? hybrid.body.answer).not.toBeNull();
  });

  it('a provider failure is 503 EMBEDDINGS_UNAVAILABLE, a wrong mode 400; the metrics count both ways', async () => {
    server.failNext(1, 500);
    const failed = await search(call, 'an unseen question', '&mode=semantic');
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe('EMBEDDINGS_UNAVAILABLE');
    expect(failed.headers.get('retry-after')).toBe('5');
    expect(failed.text).not.toContain('sk-never-logged');
    const bad = await search(call, 'x', '&mode=vector');
    expect(bad.status).toBe(400);
    expect(bad.body.details.fields.mode).toBeDefined();
    const metrics = (await app.request('/metrics')).text;
    expect(metrics).toMatch(/embedding_requests_total\{provider="openai",status="success"\} [1-9]/);
    expect(metrics).toMatch(/embedding_requests_total\{provider="openai",status="error"\} [1-9]/);
    expect(metrics).toMatch(/embedding_duration_seconds_count\{provider="openai"\} [1-9]/);
    expect(metrics).toMatch(/^embedding_queue_depth 0$/m);
  });

  it('takes stores in turn: a large upload does not hold back another store', async () => {
    await call('/api/v1/stores', { method: 'POST', json: { name: 'big' } });
    await call('/api/v1/stores', { method: 'POST', json: { name: 'small' } });
    server.delayMs = 100;
    const words = Array.from({ length: 600 }, (_, i) => `word${i}`).join(' ');
    expect(
      (await call('/api/v1/stores/big/documents', { method: 'POST', body: form([['big.txt', words]]) }))
        .status,
    ).toBe(201);
    expect(
      (
        await call('/api/v1/stores/small/documents', {
          method: 'POST',
          body: form([['small.txt', 'tiny note']]),
        })
      ).status,
    ).toBe(201);
    const total = (await call('/api/v1/stores/big')).body.embedding.total as number;
    expect(total).toBeGreaterThan(20); // ≥ 10 batches of 2
    await ready(call, 'small');
    const big = (await call('/api/v1/stores/big')).body.embedding;
    expect(big.status).toBe('pending');
    expect(big.embedded).toBeLessThan(total / 2);
    server.delayMs = 0;
    await ready(call, 'big');
    // more embedded passages than EMBEDDINGS_DEFAULT_HYBRID_MAX_PASSAGES: lexical unless asked
    expect((await search(call, 'word1', '', 'big')).body.mode).toBe('lexical');
    expect((await search(call, 'word1', '&mode=hybrid', 'big')).body.mode).toBe('hybrid');
    expect((await search(call, 'tiny', '', 'small')).body.mode).toBe('hybrid');
  });

  it("hybrid keeps lexical's first result first when it holds every query term, where plain RRF would not", async () => {
    await call('/api/v1/stores', { method: 'POST', json: { name: 'fusion' } });
    const docs: Array<[string, string]> = [
      [
        'manual.txt',
        'The scheduler retries a task after a timeout, then releases its lock and writes a report for the operator to read later, unless the queue is paused or the worker was stopped by hand.',
      ],
      // short pages holding one of the words: nearer the query by meaning (a bag of words here) than the
      // long manual, and the first of them second lexically (the word twice)
      ['lock.txt', 'Lock, lock.'],
      ['timeout.txt', 'Timeout, twice.'],
    ];
    const up = await call('/api/v1/stores/fusion/documents', { method: 'POST', body: form(docs) });
    expect(up.status).toBe(201);
    await ready(call, 'fusion');
    const names = (r: { body: { results: Array<{ filename: string }> } }) =>
      r.body.results.map((x) => x.filename);
    const modes = (q: string) =>
      Promise.all(['lexical', 'semantic', 'hybrid'].map((m) => search(call, q, `&mode=${m}`, 'fusion')));

    const [lexical, semantic, hybrid] = await modes('timeout lock');
    // only the manual holds both words; by meaning it is last
    expect(lexical.body.matching).toBe('relaxed');
    expect(names(lexical)).toEqual(['manual.txt', 'lock.txt', 'timeout.txt']);
    expect(names(semantic)).toEqual(['lock.txt', 'timeout.txt', 'manual.txt']);
    // equal-weight RRF of these two lists would put lock.txt first (2nd and 1st beat 1st and 3rd)...
    expect(reciprocalRankFusion([names(lexical), names(semantic)])[0].key).toBe('lock.txt');
    // ...hybrid keeps the page that holds every term first, the rest fused
    expect(hybrid.body.mode).toBe('hybrid');
    expect(names(hybrid)).toEqual(['manual.txt', 'lock.txt', 'timeout.txt']);
    expect(hybrid.body.results[0].score).toBe(1);
    expect([...hybrid.body.results[0].matchedTerms].sort()).toEqual(['lock', 'timeout']);

    // no page holds both words (matching relaxed from the first result on): nothing is kept, RRF's order
    const [lex2, sem2, hyb2] = await modes('lock twice');
    expect(lex2.body.matching).toBe('relaxed');
    expect(names(hyb2)).toEqual(reciprocalRankFusion([names(lex2), names(sem2)]).map((f) => f.key));
  });
});

describe('embedding is durable and follows the model (PostgreSQL, three runs of the app)', () => {
  let server: EmbeddingsServer;
  let db: TestDatabase;
  let app: RunningApp | undefined;
  const env = (over: Record<string, string>) => ({
    AUTH_API_KEYS: `${KEY}=demo`,
    DATABASE_URL: db.url,
    EMBEDDINGS_URL: server.url,
    EMBEDDINGS_RETRIES: '0',
    ...over,
  });

  beforeAll(async () => {
    server = await startEmbeddingsServer({ dims: 32 });
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await app?.close();
    await server?.close();
    await db?.drop();
  });

  it('resumes after a restart, and re-embeds every passage when the model changes', async () => {
    app = await startApp(env({ EMBEDDINGS_PROVIDER: 'off' }));
    let call = client(app);
    await call('/api/v1/stores', { method: 'POST', json: { name: 'kb' } });
    const up = await call('/api/v1/stores/kb/documents', { method: 'POST', body: form(DOCS) });
    expect(up.body.documents[0].embedding).toEqual({ status: 'off', embedded: 0, total: 1 });
    expect((await call('/api/v1/stores/kb')).body.embedding).toEqual({
      status: 'off',
      embedded: 0,
      total: 4,
    });
    expect((await search(call, 'rational')).body.mode).toBe('lexical');
    expect((await search(call, 'rational', '&mode=hybrid')).status).toBe(400);
    await app.close();

    // the next run embeds what the last one left, without a new upload
    app = await startApp(env({ EMBEDDINGS_PROVIDER: 'openai', EMBEDDINGS_MODEL: 'first' }));
    call = client(app);
    await ready(call, 'kb');
    expect(server.requests.every((r) => r.model === 'first')).toBe(true);
    const first = await search(call, 'rational numbers');
    expect(first.body.mode).toBe('hybrid');
    expect(first.body.results[0].similarity).toBeGreaterThan(0);
    await app.close();

    // another model: its vectors are not those of the first; every passage is embedded again
    server.requests.length = 0;
    app = await startApp(env({ EMBEDDINGS_PROVIDER: 'openai', EMBEDDINGS_MODEL: 'second' }));
    call = client(app);
    await ready(call, 'kb');
    const second = server.requests.filter((r) => r.model === 'second').flatMap((r) => r.input);
    expect(second).toHaveLength(4); // the four passages, once each
    expect((await search(call, 'rational numbers')).body.mode).toBe('hybrid');
  });
});

describe('EMBEDDINGS_PROVIDER=local end to end (the product default: USE lite in its own child)', () => {
  let app: RunningApp;
  let call: Call;

  beforeAll(async () => {
    app = await startApp({ AUTH_API_KEYS: `${KEY}=demo`, EMBEDDINGS_PROVIDER: 'local' });
    call = client(app);
  });
  afterAll(() => app?.close());

  it('embeds uploads in the background and answers hybrid queries with similarities', async () => {
    await call('/api/v1/stores', { method: 'POST', json: { name: 'kb' } });
    const up = await call('/api/v1/stores/kb/documents', {
      method: 'POST',
      body: form([
        ['pets.txt', 'Our kitten likes to sleep on the warm rug by the fireplace.'],
        ['markets.txt', 'Share prices fell sharply on the stock exchange this morning.'],
      ]),
    });
    expect(up.status).toBe(201);
    await ready(call, 'kb', 60_000);
    const res = await search(call, 'where does the cat nap');
    expect(res.body.mode).toBe('hybrid');
    expect(res.body.results[0]).toMatchObject({ filename: 'pets.txt', matchedTerms: [] });
    expect(res.body.results[0].similarity).toBeGreaterThan(res.body.results[1].similarity);
    const metrics = (await app.request('/metrics')).text;
    expect(metrics).toMatch(/embedding_requests_total\{provider="local",status="success"\} [1-9]/);
  });
});
