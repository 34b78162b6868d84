import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A server speaking the OpenAI embeddings protocol (`POST /v1/embeddings {model, input}` →
 * `{object: 'list', data: [{object: 'embedding', index, embedding}], model, usage}`) over a real socket,
 * for the provider's and the app's specs. Its vectors are a hashed bag of words (each lower-cased word adds 1
 * to one of `dims` dimensions, a crude but deterministic meaning): texts sharing words are near.
 * `synonyms` maps words onto the same dimension, so a spec can show a query finding a passage that does
 * not hold its words.
 */
export interface EmbeddingsServer {
  url: string;
  /** Every request body seen, and its Authorization header. */
  requests: Array<{ model: string; input: string[]; authorization?: string }>;
  /** Most requests in flight at once. */
  maxInFlight: number;
  /** Answers the next n requests with this status (and Retry-After seconds, when given). */
  failNext(n: number, status: number, retryAfterSeconds?: number): void;
  /** Delays every answer by this long. */
  delayMs: number;
  /** Answers with this many dimensions from now on. */
  dims: number;
  close(): Promise<void>;
}

export function bagOfWords(text: string, dims: number, synonyms: Record<string, string> = {}): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const raw of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    // own keys only: a word such as `constructor` is not a synonym because every object inherits one
    const word = Object.hasOwn(synonyms, raw) ? synonyms[raw] : raw;
    let h = 2166136261;
    for (const ch of word) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    v[h % dims] += 1;
  }
  return v;
}

export async function startEmbeddingsServer(
  opts: { dims?: number; synonyms?: Record<string, string> } = {},
): Promise<EmbeddingsServer> {
  let failures: Array<{ status: number; retryAfter?: number }> = [];
  let inFlight = 0;
  const state = {
    requests: [] as EmbeddingsServer['requests'],
    maxInFlight: 0,
    delayMs: 0,
    dims: opts.dims ?? 64,
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    try {
      if (state.delayMs) await new Promise((r) => setTimeout(r, state.delayMs));
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        model: string;
        input: string | string[];
      };
      const input = Array.isArray(body.input) ? body.input : [body.input];
      state.requests.push({ model: body.model, input, authorization: req.headers.authorization });
      const failure = failures.shift();
      if (failure) {
        res
          .writeHead(failure.status, {
            'content-type': 'application/json',
            ...(failure.retryAfter !== undefined && { 'retry-after': String(failure.retryAfter) }),
          })
          .end(JSON.stringify({ error: { message: 'try again later' } }));
        return;
      }
      // answered in reverse order, with their index: a client must sort by index
      const data = input
        .map((text, index) => ({
          object: 'embedding',
          index,
          embedding: bagOfWords(text, state.dims, opts.synonyms),
        }))
        .reverse();
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          object: 'list',
          data,
          model: body.model,
          usage: { prompt_tokens: 0, total_tokens: 0 },
        }),
      );
    } finally {
      inFlight--;
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    failNext(n: number, status: number, retryAfter?: number) {
      failures = [...failures, ...Array.from({ length: n }, () => ({ status, retryAfter }))];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
