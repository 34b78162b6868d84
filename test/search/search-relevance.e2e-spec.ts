import { RunningApp, startApp, TestResponse } from '../support/app';
import { createTestDatabase, DATABASE_ADAPTERS, TestDatabase } from '../support/databases';
import { form } from '../fixtures/documents/builders';

const KEY = 'relevance-key-0123456789';

interface Hit {
  documentId: string;
  filename: string;
  score: number;
  matchedTerms: string[];
  snippets: string[];
  chunkIndex: number;
}

// Small documents, each standing for what a person would search for in it.
const DOCS: Array<[string, string]> = [
  ['widgets.txt', 'To get started, see https://github.com/acme/tools for details on configuring widgets.'],
  ['runtime.md', 'Install node.js 20 first, then set foo_bar in config.yaml and send an e-mail to ops.'],
  ['leave-policy.txt', 'Parental leave is sixteen weeks. A sabbatical can be requested after five years.'],
  ['leave-drafts.txt', 'Drafts: parental leave might become twenty weeks; nothing is decided.'],
  ['sabbatical.txt', 'The sabbatical programme lets staff take three months of paid leave.'],
  [
    'editor.txt',
    'Never paste <script>alert("pwned")</script> into the intranet editor; report phishing instead.',
  ],
  ['conf.txt', 'The conf directory holds every setting.'],
  ['configuration.txt', 'Configuration reference: every option the service reads at startup.'],
  [
    'long.txt',
    Array.from(
      { length: 12 },
      (_, i) => `Section ${i}: the heliograph signals the ${i % 2 ? 'northern' : 'southern'} ridge at dawn.`,
    ).join('\n\n'),
  ],
];

describe.each(DATABASE_ADAPTERS)('search relevance on %s', (adapter) => {
  let db: TestDatabase | undefined;
  let app: RunningApp;
  const ids: Record<string, string> = {};

  const call = (path: string, init: RequestInit = {}): Promise<TestResponse> =>
    app.request(path, {
      ...init,
      headers: { 'X-API-Key': KEY, ...(init.headers as Record<string, string>) },
    });
  const search = (q: string, extra = ''): Promise<TestResponse> =>
    call(`/api/v1/search?store=kb&q=${encodeURIComponent(q)}${extra}`);
  const files = (res: TestResponse): string[] => res.body.results.map((r: Hit) => r.filename);

  beforeAll(async () => {
    db = adapter === 'postgres' ? await createTestDatabase() : undefined;
    app = await startApp({
      AUTH_API_KEYS: `${KEY}=demo`,
      // small passages, so one document spans several chunks
      SEARCH_CHUNK_CHARS: '200',
      SEARCH_CHUNK_OVERLAP_CHARS: '40',
      ...(db ? { DATABASE_URL: db.url } : {}),
    });
    await call('/api/v1/stores', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'kb' }),
    });
    const up = await call('/api/v1/stores/kb/documents', { method: 'POST', body: form(DOCS) });
    expect(up.status).toBe(201);
    for (const d of up.body.documents) ids[d.filename] = d.id;
    expect(Object.keys(ids)).toHaveLength(DOCS.length);
  }, 120_000); // PGlite's start alone takes 10–20 s on a busy two-core machine
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it("finds a URL's, a host's and an identifier's parts, and the whole as typed", async () => {
    const res = await search('github details widgets');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ matching: 'all', total: 1 });
    expect(res.body.results[0]).toMatchObject({
      filename: 'widgets.txt',
      matchedTerms: ['github', 'details', 'widgets'],
    });
    expect(res.body.results[0].snippets[0]).toContain('https://<mark>github</mark>.com/acme/tools');
    for (const q of [
      'github.com',
      'node.js',
      'nodejs',
      'foo_bar',
      'foo bar',
      'e-mail',
      'email',
      'config.yaml',
    ])
      expect([q, files(await search(q))[0]]).toEqual([q, q === 'github.com' ? 'widgets.txt' : 'runtime.md']);
  });

  it('finds a misspelled word and a prefix, exact matches first', async () => {
    const typo = await search('configurng widgets');
    expect(files(typo)[0]).toBe('widgets.txt');
    expect(typo.body.results[0].matchedTerms).toEqual(['configurng', 'widgets']);
    expect(typo.body.results[0].snippets[0]).toContain('<mark>configuring</mark> <mark>widgets</mark>');
    expect(files(await search('heliograf'))[0]).toBe('long.txt'); // 9 letters: two typos allowed
    expect(files(await search('configuring widg'))[0]).toBe('widgets.txt');
    // `conf` is a word of one document and the start of words of others: the exact one ranks first
    const prefix = await search('conf');
    expect(files(prefix)[0]).toBe('conf.txt');
    expect(files(prefix)).toEqual(expect.arrayContaining(['configuration.txt', 'widgets.txt', 'runtime.md']));
    const completed = (prefix.body.results as Hit[]).find((r) => r.filename === 'configuration.txt');
    expect(completed?.snippets[0]).toContain('<mark>Configuration</mark>');
    // short words get no typo: "wdgets" is 6 letters (one typo), "wdgt" 4 (none)
    expect(files(await search('wdgets'))).toEqual(['widgets.txt']);
    expect((await search('wdgt')).body.total).toBe(0);
  });

  it('the README example excludes every document saying "draft", Drafts included', async () => {
    const res = await search('"parental leave" OR sabbatical -draft');
    expect(res.status).toBe(200);
    expect(files(res).sort()).toEqual(['leave-policy.txt', 'sabbatical.txt']);
    expect(JSON.stringify(res.body.results)).not.toMatch(/draft/i);
    const matched = Object.fromEntries(res.body.results.map((r: Hit) => [r.filename, r.matchedTerms]));
    expect(matched['leave-policy.txt']).toEqual(['parental leave', 'sabbatical']);
    expect(matched['sabbatical.txt']).toEqual(['sabbatical']);
    // without the exclusion the draft is there
    expect(files(await search('"parental leave" OR sabbatical'))).toContain('leave-drafts.txt');
  });

  it('relaxes a query no document fully matches, and says which terms each result holds', async () => {
    const res = await search('sabbatical zeppelin');
    expect(res.body.matching).toBe('relaxed');
    expect(files(res).sort()).toEqual(['leave-policy.txt', 'sabbatical.txt']);
    for (const r of res.body.results as Hit[]) expect(r.matchedTerms).toEqual(['sabbatical']);
    // documents holding more of the terms rank first
    const more = await search('sabbatical months zeppelin');
    expect(more.body.matching).toBe('relaxed');
    expect(more.body.results.map((r: Hit) => [r.filename, r.matchedTerms])).toEqual([
      ['sabbatical.txt', ['sabbatical', 'months']],
      ['leave-policy.txt', ['sabbatical']],
    ]);
  });

  it('returns <script> text of a plain-text document escaped, never dropped', async () => {
    const res = await search('alert editor');
    expect(files(res)).toEqual(['editor.txt']);
    const snippet: string = res.body.results[0].snippets[0];
    expect(snippet).toContain('&lt;script&gt;<mark>alert</mark>(&quot;pwned&quot;)&lt;/script&gt;');
    expect(snippet).toContain('intranet <mark>editor</mark>');
    expect(snippet).not.toMatch(/<(?!\/?mark>)/);
  });

  it('lists each document once in document mode, every matching chunk with group=chunks', async () => {
    const docs = await search('heliograph ridge', '&limit=5');
    expect(docs.body).toMatchObject({ total: 1, matching: 'all' });
    const [hit] = docs.body.results as Hit[];
    expect(hit.filename).toBe('long.txt');
    expect(hit.snippets.length).toBeGreaterThanOrEqual(1);
    expect(hit.snippets.length).toBeLessThanOrEqual(2);
    expect(hit.snippets[0]).toContain('<mark>heliograph</mark>');

    const chunks = await search('heliograph ridge', '&group=chunks&limit=100');
    expect(chunks.body.total).toBeGreaterThan(3);
    expect(chunks.body.results).toHaveLength(chunks.body.total);
    expect(new Set(chunks.body.results.map((r: Hit) => r.documentId))).toEqual(new Set([ids['long.txt']]));
    const indexes = chunks.body.results.map((r: Hit) => r.chunkIndex);
    expect(new Set(indexes).size).toBe(indexes.length);
    for (const r of chunks.body.results as Hit[]) expect(r.snippets).toHaveLength(1);
    const scores = chunks.body.results.map((r: Hit) => r.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));

    const post = await call('/api/v1/search', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ store: 'kb', query: 'heliograph ridge', group: 'chunks', limit: 100 }),
    });
    expect({ ...post.body, tookMs: 0 }).toEqual({ ...chunks.body, tookMs: 0 });

    // a query matching many documents: no document twice on any page
    const seen: string[] = [];
    for (let offset = 0; offset < 12; offset += 3) {
      const page = await search(
        'the OR every OR leave OR sabbatical OR widgets',
        `&limit=3&offset=${offset}`,
      );
      seen.push(...page.body.results.map((r: Hit) => r.documentId));
    }
    expect(new Set(seen).size).toBe(seen.length);
  });

  it.each([
    ['an OR with nothing after it', 'widgets OR'],
    ['an OR first', 'OR widgets'],
    ['an empty phrase', 'widgets ""'],
    ['only exclusions', '-draft'],
  ])('answers %s with 400 INVALID_QUERY and a message', async (_label, q) => {
    for (const res of [
      await search(q),
      await call('/api/v1/search', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ store: 'kb', query: q }),
      }),
    ]) {
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        statusCode: 400,
        code: 'INVALID_QUERY',
        requestId: expect.any(String),
      });
      expect(res.body.message).toMatch(/OR|phrase|exclude/);
    }
  });
});
