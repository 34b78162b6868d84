import { once } from 'node:events';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { form } from '../fixtures/documents/builders';
import { keyedClient, RunningApp, startApp, TestResponse } from '../support/app';
import { until } from '../support/wait';

const KEY_A = 'answers-tenant-a-key-0123456789';
const KEY_B = 'answers-tenant-b-key-0123456789';
const KEY_C = 'answers-tenant-c-key-0123456789';
const WAIT_MS = 1000;

/**
 * A local server that speaks OpenAI's chat-completions protocol (whole and `stream: true`, as in
 * search-answers.e2e-spec.ts) and holds every request until the test lets it go: what is in flight upstream
 * at any moment is what Atrium let through its answer slots. Each request is named by the file its prompt's
 * first passage comes from, so the test knows whose it is (each tenant has its own file).
 */
function gatedChatServer() {
  const held: Array<{ from: string; finish: () => void; closed: boolean }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(raw) as { stream?: boolean; messages: Array<{ content: string }> };
      const from = /\[1\] \(([^)]+)\)/.exec(body.messages[1].content)?.[1] ?? '?';
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const entry = { from, closed: false, finish: () => {} };
      res.on('close', () => {
        if (!entry.closed) inFlight--;
        entry.closed = true;
      });
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = (delta: Record<string, string>) =>
          `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta }] })}\n\n`;
        res.write(chunk({ role: 'assistant' }));
        res.write(chunk({ content: 'Partly' }));
        entry.finish = () => res.end(`${chunk({ content: ' done [1].' })}data: [DONE]\n\n`);
      } else
        entry.finish = () =>
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              id: 'c1',
              object: 'chat.completion',
              choices: [{ index: 0, message: { role: 'assistant', content: `From ${from} [1].` } }],
            }),
          );
      held.push(entry);
    });
  });
  return {
    server,
    /** Requests upstream now, by file. */
    open: () => held.filter((h) => !h.closed).map((h) => h.from),
    /** Lets every held request finish. */
    finishAll: () => held.filter((h) => !h.closed).forEach((h) => h.finish()),
    maxInFlight: () => maxInFlight,
  };
}

/**
 * answer=generate's concurrency cap (issue 22): ANSWER_CONCURRENCY chat requests per process, fair between
 * tenants (POOL_TENANT_SHARE), a bounded wait (ANSWER_QUEUE_WAIT_MS), then 503 CAPACITY_EXCEEDED with
 * Retry-After. Real app on PGlite, three tenants, a chat-completions server on a real socket.
 */
describe('answer=generate: bounded, fair between tenants (real sockets)', () => {
  const chat = gatedChatServer();
  let app: RunningApp;
  const clients: Record<'a' | 'b' | 'c', ReturnType<typeof keyedClient>> = {} as never;

  beforeAll(async () => {
    chat.server.listen(0, '127.0.0.1');
    await once(chat.server, 'listening');
    const port = (chat.server.address() as AddressInfo).port;
    app = await startApp({
      AUTH_API_KEYS: `${KEY_A}=tenant-a,${KEY_B}=tenant-b,${KEY_C}=tenant-c`,
      ANSWER_URL: `http://127.0.0.1:${port}/v1`,
      ANSWER_MODEL: 'tiny-test-model',
      ANSWER_TIMEOUT_MS: '60000',
      ANSWER_CONCURRENCY: '2',
      ANSWER_QUEUE_WAIT_MS: String(WAIT_MS),
      POOL_TENANT_SHARE: '0.5', // the default: a tenant holds at most one of the two slots
    });
    clients.a = keyedClient(app, KEY_A);
    clients.b = keyedClient(app, KEY_B);
    clients.c = keyedClient(app, KEY_C);
    for (const t of ['a', 'b', 'c'] as const) {
      const call = clients[t];
      expect((await call('/api/v1/stores', { method: 'POST', json: { name: 'docs' } })).status).toBe(201);
      const text = `Tenant ${t} keeps a sorted list with bisect and exact fractions with the fractions module.`;
      const up = await call('/api/v1/stores/docs/documents', {
        method: 'POST',
        body: form([[`${t}.txt`, text]]),
      });
      expect(up.status).toBe(201);
    }
  });
  afterAll(async () => {
    chat.finishAll();
    await app?.close();
    chat.server.closeAllConnections();
    chat.server.close();
  });

  // distinct questions (no answer cache in the way): every word is in each tenant's document
  const ask = (t: 'a' | 'b' | 'c', words: string): Promise<TestResponse> =>
    clients[t](`/api/v1/search?store=docs&q=${encodeURIComponent(words)}&answer=generate`);

  it('holds the cap, serves another tenant before the first one’s backlog, and refuses past the wait with 503 + Retry-After', async () => {
    // tenant A asks three questions at once: one reaches the model, two wait (A's share is one slot)
    const a = [ask('a', 'sorted list'), ask('a', 'exact fractions'), ask('a', 'bisect module')];
    await until(() => chat.open().length === 1, WAIT_MS * 5, 'chat.open().length === 1');
    expect(chat.open()).toEqual(['a.txt']);
    // tenant B, asking after A's backlog, gets the free slot at once
    const b = ask('b', 'sorted list');
    await until(() => chat.open().length === 2, WAIT_MS * 5, 'chat.open().length === 2');
    expect(chat.open().sort()).toEqual(['a.txt', 'b.txt']);
    // both slots held: tenant C waits too; every waiter is refused once ANSWER_QUEUE_WAIT_MS has passed
    const c = ask('c', 'sorted list');
    const refused = await Promise.all([a[1], a[2], c]);
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('2');
      expect(r.body).toMatchObject({
        code: 'CAPACITY_EXCEEDED',
        details: { pool: 'answer', reason: 'wait_timeout', limit: 2 },
      });
      expect(r.body.details.waitedMs).toBeGreaterThanOrEqual(WAIT_MS * 0.9);
      expect(r.text).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    }
    expect(chat.maxInFlight()).toBe(2);
    // the model answers: the two that held slots succeed
    chat.finishAll();
    const [a0, b0] = await Promise.all([a[0], b]);
    expect([a0.status, b0.status]).toEqual([200, 200]);
    expect(a0.body.answer.text).toBe('From a.txt [1].');
    expect(b0.body.answer.text).toBe('From b.txt [1].');
    // and the slots are free again: a refused question asked again is answered
    const again = ask('a', 'bisect module');
    await until(() => chat.open().length === 1, WAIT_MS * 5, 'chat.open().length === 1');
    chat.finishAll();
    expect((await again).status).toBe(200);
    const metrics = (await app.request('/metrics')).text;
    expect(metrics).toMatch(/^pool_in_use\{pool="answer"\} 0$/m);
    expect(metrics).toMatch(/^pool_wait_seconds_count\{pool="answer"\} [1-9]/m);
  });

  it('a stream holds its slot until its last token, and gives it back when the client leaves', async () => {
    const controller = new AbortController();
    const stream = await fetch(
      `${app.url}/api/v1/search?store=docs&q=${encodeURIComponent('exact list')}&answer=generate`,
      { headers: { 'X-API-Key': KEY_A, Accept: 'text/event-stream' }, signal: controller.signal },
    );
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    let seen = '';
    while (!seen.includes('event: delta')) seen += new TextDecoder().decode((await reader.read()).value);
    // tenant A's one slot is the stream's: A's next question waits, and is refused after the wait
    const refused = await ask('a', 'fractions module');
    expect(refused.status).toBe(503);
    expect(refused.body.details).toMatchObject({ pool: 'answer', reason: 'wait_timeout' });
    // the client leaves: the upstream request is aborted and the slot is A's again
    controller.abort();
    await until(() => chat.open().length === 0, WAIT_MS * 5, 'chat.open().length === 0');
    const next = ask('a', 'fractions module');
    await until(() => chat.open().length === 1, WAIT_MS * 5, 'chat.open().length === 1');
    chat.finishAll();
    expect((await next).status).toBe(200);
  });
});
