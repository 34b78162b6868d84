import { once } from 'node:events';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Database } from '@libs/database';
import { RunningApp, startApp, TestResponse } from '../support/app';
import { form } from '../fixtures/documents/builders';
import { createTestDatabase, TestDatabase } from '../support/databases';

const KEY = 'answers-demo-key-0123456789';
const API_KEY = 'sk-answer-secret-0123456789';
const TIMEOUT_MS = 1500;

const SORTING = [
  'The bisect module keeps a list in sorted order without sorting it again after each insertion.',
  'Its insort function inserts a new item at the position that keeps the list sorted.',
  'Searching a sorted list with bisect takes logarithmic time.',
  'Unrelated: the weather in the tropics is warm all year.',
].join(' ');
const FRACTIONS =
  'The fractions module supports exact rational number arithmetic. A Fraction can be built from a pair of integers, such as one third. Floating point numbers are approximations.';

/** What the local chat server does with the next requests, and what it was sent. */
interface ChatBehaviour {
  mode: 'whole' | 'stream' | 'hang' | 'fail' | 'slow-stream';
}

/** A local server that speaks OpenAI's chat-completions protocol, whole and `stream: true`. */
function chatServer(behaviour: ChatBehaviour) {
  const requests: Array<{ headers: IncomingMessage['headers']; body: Record<string, any> }> = []; // eslint-disable-line @typescript-eslint/no-explicit-any -- the protocol's JSON
  const closed: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(raw);
      requests.push({ headers: req.headers, body });
      res.on('close', () => closed.push(res.writableFinished ? 'finished' : 'aborted'));
      if (req.url !== '/v1/chat/completions') {
        res.writeHead(404).end();
        return;
      }
      const mode = behaviour.mode;
      if (mode === 'fail') {
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end('{"error":{"message":"secret upstream detail"}}');
        return;
      }
      if (mode === 'hang') return; // no answer at all, not even headers
      if (mode === 'whole') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: 'c1',
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content: 'Use bisect.insort [1].' } }],
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: Record<string, string>) =>
        `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta }] })}\n\n`;
      res.write(chunk({ role: 'assistant' }));
      res.write(chunk({ content: 'Use bisect' }));
      if (mode === 'slow-stream') return; // the rest never comes
      res.write(chunk({ content: '.insort [1]; see also [2].' }));
      res.end('data: [DONE]\n\n');
    });
  });
  return { server, requests, closed };
}

/** Server-sent events of a response body, in order. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- event payloads are whatever JSON the event holds
function parseEvents(text: string): Array<{ event: string; data: any }> {
  return text
    .split('\n\n')
    .filter((block) => block.trim())
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? 'null';
      return { event, data: JSON.parse(data) };
    });
}

describe('search answers (real app on PGlite, a chat-completions server on a real socket)', () => {
  const behaviour: ChatBehaviour = { mode: 'whole' };
  const chat = chatServer(behaviour);
  let app: RunningApp;
  let db: Database;
  const ids: Record<string, string> = {};
  const call = (path: string, init: RequestInit = {}): Promise<TestResponse> =>
    app.request(path, {
      ...init,
      headers: { 'X-API-Key': KEY, ...(init.headers as Record<string, string>) },
    });
  const chunkText = async (documentId: string, chunkIndex: number): Promise<string> =>
    (
      await db.query<{ content: string }>(
        'SELECT content FROM search_chunks WHERE document_id = $1 AND chunk_index = $2',
        [documentId, chunkIndex],
      )
    ).rows[0].content;

  beforeAll(async () => {
    chat.server.listen(0, '127.0.0.1');
    await once(chat.server, 'listening');
    const port = (chat.server.address() as AddressInfo).port;
    app = await startApp({
      AUTH_API_KEYS: `${KEY}=demo`,
      ANSWER_URL: `http://127.0.0.1:${port}/v1`,
      ANSWER_MODEL: 'tiny-test-model',
      ANSWER_API_KEY: API_KEY,
      ANSWER_TIMEOUT_MS: String(TIMEOUT_MS),
      ANSWER_MAX_TOKENS: '64',
      ANSWER_MAX_PASSAGES: '2',
    });
    db = app.atrium.app.get(Database);
    expect(db.kind).toBe('pglite');
    expect(
      (
        await call('/api/v1/stores', {
          method: 'POST',
          body: JSON.stringify({ name: 'py' }),
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(201);
    const up = await call('/api/v1/stores/py/documents', {
      method: 'POST',
      body: form([
        ['sorting.txt', SORTING],
        ['fractions.txt', FRACTIONS],
      ]),
    });
    expect(up.status).toBe(201);
    for (const d of up.body.documents) ids[d.filename] = d.id;
  });
  afterAll(async () => {
    await app?.close();
    chat.server.closeAllConnections();
    chat.server.close();
  });

  it('extractive: the sentences holding the query’s terms (stems, a typo), each cited by offsets into its chunk', async () => {
    const q = encodeURIComponent('inserting new items into a sortd list');
    const res = await call(`/api/v1/search?store=py&q=${q}&answer=extractive`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('MISS');
    expect(res.body.results[0].filename).toBe('sorting.txt');
    const { text, citations } = res.body.answer;
    expect(citations.length).toBeGreaterThanOrEqual(1);
    expect(citations.length).toBeLessThanOrEqual(3);
    const sentences: string[] = [];
    for (const c of citations) {
      expect(c).toEqual({
        documentId: ids['sorting.txt'],
        filename: 'sorting.txt',
        chunkIndex: expect.any(Number),
        start: expect.any(Number),
        end: expect.any(Number),
      });
      sentences.push((await chunkText(c.documentId, c.chunkIndex)).slice(c.start, c.end));
    }
    // inserts (a stem of inserting), new, item(s), list and sorted (the typo sortd): the sentence holding all five first
    expect(sentences[0]).toBe(
      'Its insort function inserts a new item at the position that keeps the list sorted.',
    );
    expect(sentences).not.toContain('Unrelated: the weather in the tropics is warm all year.');
    expect(text).toBe(sentences.map((s, i) => `${s} [${i + 1}]`).join(' '));

    // cached like results: same answer, X-Cache HIT; POST {answer} is the same answer
    const again = await call(`/api/v1/search?store=py&q=${q}&answer=extractive`);
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(again.body.answer).toEqual(res.body.answer);
    const posted = await call('/api/v1/search', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        store: 'py',
        query: 'inserting new items into a sortd list',
        answer: 'extractive',
      }),
    });
    expect(posted.status).toBe(200);
    expect(posted.body.answer).toEqual(res.body.answer);

    // nothing found: answer null
    const none = await call('/api/v1/search?store=py&q=zeppelin&answer=extractive');
    expect(none.status).toBe(200);
    expect(none.body).toMatchObject({ total: 0, results: [], answer: null });
  });

  it('generate, whole: a prompt of the numbered top passages only, bounded, with the key; citations map numbers back', async () => {
    behaviour.mode = 'whole';
    const before = chat.requests.length;
    const res = await call(
      `/api/v1/search?store=py&q=${encodeURIComponent('sorted list insert')}&answer=generate`,
    );
    expect(res.status).toBe(200);
    expect(res.body.answer.text).toBe('Use bisect.insort [1].');
    expect(chat.requests).toHaveLength(before + 1);
    const sent = chat.requests[before];
    expect(sent.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(sent.body).toMatchObject({ model: 'tiny-test-model', max_tokens: 64, stream: false });
    const user: string = sent.body.messages[1].content;
    expect(sent.body.messages[0].content).toMatch(/Cite the passage of every claim/);
    expect(user).toMatch(/^Passages:\n\n\[1\] \(sorting\.txt\)\n/);
    expect(user).toMatch(/Question: sorted list insert$/);
    expect(user).not.toMatch(/\[3\]/); // ANSWER_MAX_PASSAGES=2
    const [first] = res.body.answer.citations;
    expect(first).toMatchObject({ documentId: ids['sorting.txt'], filename: 'sorting.txt', start: 0 });
    expect(user).toContain(
      (await chunkText(first.documentId, first.chunkIndex)).slice(first.start, first.end),
    );
    // cached: no second upstream call
    expect(
      (await call(`/api/v1/search?store=py&q=${encodeURIComponent('sorted list insert')}&answer=generate`))
        .body.answer,
    ).toEqual(res.body.answer);
    expect(chat.requests).toHaveLength(before + 1);
    expect(app.logs.raw.join('\n')).not.toContain(API_KEY);
    expect(app.logs.raw.join('\n')).toContain('answer=generate through');
  });

  it('generate, streamed: server-sent deltas, then the answer with its citations', async () => {
    behaviour.mode = 'stream';
    const res = await fetch(
      `${app.url}/api/v1/search?store=py&q=${encodeURIComponent('fractions exact numbers')}&answer=generate`,
      {
        headers: { 'X-API-Key': KEY, Accept: 'text/event-stream' },
      },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseEvents(await res.text());
    expect(events.map((e) => e.event)).toEqual(['search', 'delta', 'delta', 'answer']);
    expect(events[0].data.results[0].filename).toBe('fractions.txt');
    expect(
      events
        .slice(1, 3)
        .map((e) => e.data.text)
        .join(''),
    ).toBe('Use bisect.insort [1]; see also [2].');
    expect(events[3].data.answer.text).toBe('Use bisect.insort [1]; see also [2].');
    expect(events[3].data.answer.citations[0]).toMatchObject({
      documentId: ids['fractions.txt'],
      chunkIndex: 0,
      start: 0,
    });
    expect(chat.requests[chat.requests.length - 1].body).toMatchObject({ stream: true });
  });

  it('a client leaving a stream aborts the upstream request', async () => {
    behaviour.mode = 'slow-stream';
    const closedBefore = chat.closed.length;
    const controller = new AbortController();
    const res = await fetch(`${app.url}/api/v1/search?store=py&q=bisect&answer=generate`, {
      headers: { 'X-API-Key': KEY, Accept: 'text/event-stream' },
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('event: delta')) seen += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const deadline = Date.now() + TIMEOUT_MS * 5;
    while (chat.closed.length === closedBefore && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(chat.closed.slice(closedBefore)).toEqual(['aborted']);
    // closed by the client's leaving, not by ANSWER_TIMEOUT_MS running out
    const metrics = (await app.request('/metrics')).text;
    expect(metrics).toMatch(/^search_answers_total\{mode="lexical",kind="generate",outcome="aborted"\} 1$/m);
    expect(metrics).toMatch(/^search_answers_total\{mode="lexical",kind="generate",outcome="timeout"\} 0$/m);
  });

  it('upstream failure is 502 UPSTREAM_ERROR without its body; a stalled upstream is 504 UPSTREAM_TIMEOUT', async () => {
    behaviour.mode = 'fail';
    const failed = await call('/api/v1/search?store=py&q=fraction&answer=generate');
    expect(failed.status).toBe(502);
    expect(failed.body).toMatchObject({ code: 'UPSTREAM_ERROR', details: { upstreamStatus: 500 } });
    expect(failed.text).not.toContain('secret upstream detail');
    behaviour.mode = 'hang';
    const stalled = await call('/api/v1/search?store=py&q=third&answer=generate', {
      headers: { 'Cache-Control': 'no-cache' },
    });
    expect(stalled.status).toBe(504);
    expect(stalled.body.code).toBe('UPSTREAM_TIMEOUT');
    const streamed = await call('/api/v1/search?store=py&q=integers&answer=generate', {
      headers: { Accept: 'text/event-stream' },
    });
    expect(streamed.status).toBe(504);
    expect(streamed.body.code).toBe('UPSTREAM_TIMEOUT');
    // stalled mid-stream, after the 200 went out: an error event ends the stream
    behaviour.mode = 'slow-stream';
    const cut = await call('/api/v1/search?store=py&q=rational&answer=generate', {
      headers: { Accept: 'text/event-stream' },
    });
    expect(cut.status).toBe(200);
    const events = parseEvents(cut.text);
    expect(events.map((e) => e.event)).toEqual(['search', 'delta', 'error']);
    expect(events[2].data).toEqual({
      code: 'UPSTREAM_TIMEOUT',
      message: expect.stringContaining('ANSWER_TIMEOUT_MS'),
    });
  });

  it('counts answers in search_answers_total{mode,kind,outcome}', async () => {
    const metrics = (await app.request('/metrics')).text;
    const value = (labels: string) =>
      Number(new RegExp(`^search_answers_total\\{${labels}\\} (\\d+)`, 'm').exec(metrics)?.[1]);
    expect(value('mode="lexical",kind="extractive",outcome="success"')).toBeGreaterThanOrEqual(3);
    expect(value('mode="lexical",kind="extractive",outcome="empty"')).toBe(1);
    expect(value('mode="lexical",kind="generate",outcome="error"')).toBe(1);
    expect(value('mode="lexical",kind="generate",outcome="timeout"')).toBe(3);
    expect(value('mode="lexical",kind="generate",outcome="success"')).toBe(3);
    expect(value('mode="lexical",kind="generate",outcome="aborted"')).toBe(1);
  });
});

describe('search answers without a configured model', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp({ AUTH_DISABLED: 'true' });
  });
  afterAll(() => app?.close());

  it('answer=generate is 503 ANSWER_UNAVAILABLE, streamed or not; the store is not even looked up', async () => {
    for (const accept of ['application/json', 'text/event-stream']) {
      const res = await app.request('/api/v1/search?store=nowhere&q=x&answer=generate', {
        headers: { Accept: accept },
      });
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('ANSWER_UNAVAILABLE');
    }
  });
});

describe('extractive answers on PostgreSQL', () => {
  let pg: TestDatabase;
  let app: RunningApp;
  beforeAll(async () => {
    pg = await createTestDatabase();
    app = await startApp({ AUTH_DISABLED: 'true', DATABASE_URL: pg.url });
  });
  afterAll(async () => {
    await app?.close();
    await pg?.drop();
  });

  it('cites the same sentences by offsets into the stored chunk; an upload makes the cached answer unreachable', async () => {
    const db = app.atrium.app.get(Database);
    expect(db.kind).toBe('postgres');
    const json = { 'content-type': 'application/json' };
    expect(
      (
        await app.request('/api/v1/stores', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ name: 'py' }),
        })
      ).status,
    ).toBe(201);
    const upload = (name: string, text: string) =>
      app.request('/api/v1/stores/py/documents', { method: 'POST', body: form([[name, text]]) });
    expect((await upload('fractions.txt', FRACTIONS)).status).toBe(201);
    const ask = () =>
      app.request(
        `/api/v1/search?store=py&q=${encodeURIComponent('exact rational numbers')}&answer=extractive`,
      );
    const res = await ask();
    expect(res.status).toBe(200);
    const [c] = res.body.answer.citations;
    const chunk = (
      await db.query<{ content: string }>(
        'SELECT content FROM search_chunks WHERE document_id = $1 AND chunk_index = $2',
        [c.documentId, c.chunkIndex],
      )
    ).rows[0].content;
    expect(chunk.slice(c.start, c.end)).toBe(
      'The fractions module supports exact rational number arithmetic.',
    );
    expect((await ask()).headers.get('x-cache')).toBe('HIT');
    expect((await upload('more.txt', 'Exact rational numbers are fractions of integers.')).status).toBe(201);
    const after = await ask();
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.body.answer.citations.map((x: { filename: string }) => x.filename)).toContain('more.txt');
  });
});
