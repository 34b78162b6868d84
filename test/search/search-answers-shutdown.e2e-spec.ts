import { once } from 'node:events';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { form } from '../fixtures/documents/builders';
import { RunningApp, startApp } from '../support/app';
import { ChildApp } from '../support/child-app';
import { until, within } from '../support/wait';

const KEY = 'answers-shutdown-key-0123456789';
/** Closing an idle app takes a second or two here; ten times that means it is not going to return. */
const CLOSE_BOUND_MS = 20_000;

/**
 * A chat-completions server whose streamed answers send their first delta and then nothing more (a model
 * still generating): whether Atrium's request to it is open or closed is what `open` tells.
 */
function stallingChatServer() {
  let open = 0;
  let requests = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      requests++;
      open++;
      res.on('close', () => open--);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: Record<string, string>) =>
        `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta }] })}\n\n`;
      res.write(chunk({ role: 'assistant' }));
      res.write(chunk({ content: 'Use bisect' }));
    });
  });
  return { server, open: () => open, requests: () => requests };
}

/** Opens a streamed answer, reads until its first delta, and leaves (aborts the request). */
async function leaveStream(url: string): Promise<void> {
  const controller = new AbortController();
  const res = await fetch(`${url}/api/v1/search?store=py&q=bisect&answer=generate`, {
    headers: { 'X-API-Key': KEY, Accept: 'text/event-stream' },
    signal: controller.signal,
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let seen = '';
  while (!seen.includes('event: delta')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before its first delta: ${seen}`);
    seen += new TextDecoder().decode(value);
  }
  controller.abort();
}

const SORTING =
  'The bisect module keeps a list in sorted order without sorting it again after each insertion.';

/**
 * A client that leaves a streamed answer (answer=generate, server-sent events) and then nothing else:
 * closing the app — app.close() in process, SIGTERM to the built app's process — still returns, with no
 * other request needed to get it there.
 */
describe('answer=generate: shutdown after a client left a stream (real sockets)', () => {
  const chat = stallingChatServer();
  let chatUrl: string;

  beforeAll(async () => {
    chat.server.listen(0, '127.0.0.1');
    await once(chat.server, 'listening');
    chatUrl = `http://127.0.0.1:${(chat.server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => {
    chat.server.closeAllConnections();
    chat.server.close();
  });

  const answerEnv = () => ({
    AUTH_API_KEYS: `${KEY}=demo`,
    ANSWER_URL: chatUrl,
    ANSWER_MODEL: 'tiny-test-model',
    // far past the test: only the client's leaving can end the upstream request
    ANSWER_TIMEOUT_MS: '600000',
  });

  const seed = async (request: (path: string, init?: RequestInit) => Promise<{ status: number }>) => {
    const headers = { 'X-API-Key': KEY };
    const store = await request('/api/v1/stores', {
      method: 'POST',
      body: JSON.stringify({ name: 'py' }),
      headers: { ...headers, 'content-type': 'application/json' },
    });
    expect(store.status).toBe(201);
    const up = await request('/api/v1/stores/py/documents', {
      method: 'POST',
      body: form([['sorting.txt', SORTING]]),
      headers,
    });
    expect(up.status).toBe(201);
  };

  describe('in process', () => {
    let app: RunningApp | undefined;
    afterAll(async () => {
      // after a failure above: let a stuck close finish rather than leak the app into the next spec
      chat.server.closeAllConnections();
      await app?.close();
    });

    it('app.close() returns after a client aborted a streamed answer, with no request after', async () => {
      app = await startApp(answerEnv());
      await seed(app.request);
      const before = chat.requests();
      await leaveStream(app.url);
      // the client's leaving reached the model: Atrium's request to it is closed
      await until(() => chat.open() === 0, 10_000, 'the upstream request closed');
      expect(chat.requests()).toBe(before + 1);
      await within(app.close(), CLOSE_BOUND_MS, 'app.close() returning');
    });
  });

  describe('the service as its own process', () => {
    let child: ChildApp | undefined;
    afterAll(async () => {
      await child?.kill('SIGKILL');
      child?.cleanup();
    });

    it('SIGTERM after a client aborted a streamed answer: shutdown completes and the process exits 0', async () => {
      child = await ChildApp.start({
        ...answerEnv(),
        // past the bound below: a hang shows as the bound failing, not as the hard stop's exit 1
        SHUTDOWN_TIMEOUT_MS: String(CLOSE_BOUND_MS * 2),
        ACCESS_LOG_ENABLED: 'false',
      });
      await seed((path, init) => child!.request(path, init));
      await leaveStream(child.url);
      await until(() => chat.open() === 0, 10_000, 'the upstream request closed');
      child.child.kill('SIGTERM');
      const exit = await within(child.waitExit(), CLOSE_BOUND_MS, 'the process exiting after SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
      // 0 is shutdown() completing: SHUTDOWN_TIMEOUT_MS's hard stop would exit 1
    });
  });
});
