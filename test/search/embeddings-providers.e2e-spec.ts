import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmbeddingFailedError } from '@app/search/embeddings/embedding-provider';
import { LocalEmbeddings } from '@app/search/embeddings/local-embeddings';
import { OpenAiEmbeddings } from '@app/search/embeddings/openai-embeddings';
import { EmbeddingsServer, startEmbeddingsServer } from '../support/embeddings-server';

const KEY = 'sk-secret-embeddings-key-123';

function dot(a: number[], b: number[]): number {
  return a.reduce((s, x, i) => s + x * b[i], 0);
}

describe('EMBEDDINGS_PROVIDER=openai over a real socket', () => {
  let server: EmbeddingsServer;
  const provider = (over: Partial<ConstructorParameters<typeof OpenAiEmbeddings>[0]> = {}) =>
    new OpenAiEmbeddings({
      url: server.url,
      model: 'bag-of-words',
      apiKey: KEY,
      batch: 3,
      timeoutMs: 2000,
      retries: 2,
      concurrency: 2,
      firstDelayMs: 10,
      ...over,
    });

  beforeEach(async () => {
    server = await startEmbeddingsServer({ dims: 32 });
  });
  afterEach(() => server.close());

  it('sends batches of EMBEDDINGS_BATCH with the key and model, answers unit vectors in input order', async () => {
    const p = provider();
    const texts = ['alpha beta', 'gamma', 'alpha beta', 'delta epsilon', 'zeta', 'eta theta', 'iota'];
    const vectors = await p.embed(texts);
    expect(vectors).toHaveLength(7);
    expect(p.dims).toBe(32);
    expect(p.model).toBe('openai:bag-of-words');
    for (const v of vectors) expect(dot(v, v)).toBeCloseTo(1, 6);
    // the server answers in reverse order: the index is what places a vector
    expect(dot(vectors[0], vectors[2])).toBeCloseTo(1, 6);
    expect(dot(vectors[0], vectors[1])).toBeLessThan(0.99);
    expect(server.requests.map((r) => r.input.length)).toEqual([3, 3, 1]);
    expect(
      server.requests.every((r) => r.authorization === `Bearer ${KEY}` && r.model === 'bag-of-words'),
    ).toBe(true);
  });

  it('embeds a word every object inherits a property of (constructor): the protocol server is not confused', async () => {
    // the python3-doc corpus holds `constructor`; the server once took the inherited property for a synonym,
    // dropped the connection, and the app retried the batch forever
    const [a, b] = await provider().embed(['constructor of a class', 'constructor of a class']);
    expect(dot(a, a)).toBeCloseTo(1, 6);
    expect(dot(a, b)).toBeCloseTo(1, 6);
  });

  it('keeps at most EMBEDDINGS_CONCURRENCY requests in flight', async () => {
    server.delayMs = 50;
    await provider({ batch: 1, concurrency: 2 }).embed(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(server.requests).toHaveLength(6);
    expect(server.maxInFlight).toBe(2);
  });

  it('retries 503 and 429 (Retry-After honoured) with backoff, then answers', async () => {
    server.failNext(1, 503);
    server.failNext(1, 429, 0);
    const vectors = await provider().embed(['one two']);
    expect(vectors).toHaveLength(1);
    expect(server.requests).toHaveLength(3);
  });

  it('gives up after EMBEDDINGS_RETRIES, never retries a 400, and never puts the key in an error', async () => {
    server.failNext(3, 502);
    const err = await provider()
      .embed(['x'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddingFailedError);
    expect(server.requests).toHaveLength(3);
    expect(String((err as Error).message)).toContain('502');
    expect(String((err as Error).message)).not.toContain(KEY);

    server.requests.length = 0;
    server.failNext(1, 400);
    const bad = await provider()
      .embed(['x'])
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(EmbeddingFailedError);
    expect((bad as EmbeddingFailedError).retryable).toBe(false);
    expect(server.requests).toHaveLength(1);
  });

  it('times a request out after EMBEDDINGS_TIMEOUT_MS and refuses an answer of other dimensions', async () => {
    const p = provider({ retries: 0, timeoutMs: 200 });
    await p.embed(['first']);
    server.delayMs = 2000;
    const slow = await p.embed(['late']).catch((e: unknown) => e);
    expect(slow).toBeInstanceOf(EmbeddingFailedError);
    expect((slow as Error).message).toMatch(/did not answer within 200 ms/);
    server.delayMs = 0;
    server.dims = 16;
    const other = await p.embed(['changed']).catch((e: unknown) => e);
    expect((other as Error).message).toMatch(/16 dimensions, earlier answers 32/);
  });

  it('refuses an answer that is not embeddings (wrong count, not JSON) without retrying', async () => {
    const liar = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end(req.url === '/v1/embeddings' ? '{"data":[]}' : 'nope'));
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
      const err = await provider({ url })
        .embed(['a'])
        .catch((e: unknown) => e);
      expect((err as EmbeddingFailedError).retryable).toBe(false);
      expect((err as Error).message).toMatch(/expected data with 1 embeddings/);
    } finally {
      liar.close();
    }
  });
});

describe('EMBEDDINGS_PROVIDER=local: USE lite in a child process', () => {
  const local = new LocalEmbeddings({ batch: 4, rssMb: 768, timeoutMs: 60_000, idleMs: 5_000 });
  afterAll(() => local.close());

  it('embeds in its own child (not this process), 512 unit dimensions, closer for closer meanings', async () => {
    expect(local.pool.pids()).toEqual([]); // started only when there is something to embed
    const [cat, kitten, market] = await local.embed([
      'The cat sat on the mat.',
      'A kitten is sitting on a rug.',
      'Stock prices fell sharply on the exchange today.',
    ]);
    expect(local.pool.pids()).toHaveLength(1);
    expect(local.pool.pids()).not.toContain(process.pid);
    expect(cat).toHaveLength(512);
    expect(dot(cat, cat)).toBeCloseTo(1, 4);
    expect(dot(cat, kitten)).toBeGreaterThan(dot(cat, market) + 0.1);
  });
});
