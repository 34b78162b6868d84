import { withRetries } from '@app/resilience';
import {
  EmbeddingFailedError,
  EmbeddingProvider,
  Semaphore,
  embeddingInput,
  unitVector,
} from './embedding-provider';

export interface OpenAiEmbeddingsOptions {
  /** Base URL (without `/v1`): requests go to `${url}/v1/embeddings`. */
  url: string;
  model: string;
  /** Sent as `Authorization: Bearer …`; never logged, never part of an error message. */
  apiKey?: string;
  /** Texts per request. */
  batch: number;
  timeoutMs: number;
  retries: number;
  /** Requests in flight at most. */
  concurrency: number;
  /** The first retry waits between this and twice this (default 500 ms). */
  firstDelayMs?: number;
  /** Told of each retry (logs): never given the key. */
  onRetry?: (error: Error, attempt: number, delayMs: number) => void;
}

/** Longest text sent (whitespace collapsed): a passage is at most SEARCH_CHUNK_CHARS (1200 by default). */
const MAX_INPUT_CHARS = 8000;

/** Longest answer read from the server: 256 texts × 4096 dimensions as JSON fit well under it. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * Any OpenAI-compatible embeddings endpoint (OpenAI, Ollama, vLLM, Text Embeddings Inference):
 * `POST {url}/v1/embeddings {model, input: [texts]}` → `{data: [{index, embedding}]}`. Texts go in batches
 * of `batch`, at most `concurrency` requests at once, each bounded by `timeoutMs`, retried with the
 * project's backoff (resilience/retry.ts) on network errors, timeouts, 429 and 5xx (Retry-After honoured).
 * The dimensions are read from the first answer; an answer of other dimensions later is an error (the
 * server's model changed under the same name). The URL is the operator's: the downloader's URL policy does
 * not apply.
 */
export class OpenAiEmbeddings implements EmbeddingProvider {
  readonly kind = 'openai' as const;
  readonly model: string;
  /** Known after the first answer. */
  dims?: number;
  private readonly slots: Semaphore;

  constructor(private readonly opts: OpenAiEmbeddingsOptions) {
    this.model = `openai:${opts.model}`;
    this.slots = new Semaphore(opts.concurrency);
  }

  async embed(texts: string[]): Promise<number[][]> {
    const batches: string[][] = [];
    const inputs = texts.map((t) => embeddingInput(t, MAX_INPUT_CHARS));
    for (let i = 0; i < inputs.length; i += this.opts.batch)
      batches.push(inputs.slice(i, i + this.opts.batch));
    const answers = await Promise.all(batches.map((b) => this.slots.use(() => this.withRetries(b))));
    return answers.flat();
  }

  async close(): Promise<void> {}

  private withRetries(input: string[]): Promise<number[][]> {
    const first = this.opts.firstDelayMs ?? 500;
    return withRetries(
      { retries: this.opts.retries, firstDelayMs: first, maxDelayMs: first * 20 },
      () => this.request(input),
      {
        retryable: (err) => err instanceof EmbeddingFailedError && err.retryable,
        retryAfterMs: (err) => (err instanceof EmbeddingFailedError ? err.retryAfterMs : undefined),
        onRetry: this.opts.onRetry,
      },
    );
  }

  private async request(input: string[]): Promise<number[][]> {
    const endpoint = `${this.opts.url}/v1/embeddings`;
    let res: Response;
    const signal = AbortSignal.timeout(this.opts.timeoutMs);
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(this.opts.apiKey && { authorization: `Bearer ${this.opts.apiKey}` }),
        },
        body: JSON.stringify({ model: this.opts.model, input }),
        signal,
      });
    } catch (err) {
      const timedOut = signal.aborted;
      throw new EmbeddingFailedError(
        timedOut
          ? `${endpoint} did not answer within ${this.opts.timeoutMs} ms`
          : `${endpoint} could not be reached: ${describe(err)}`,
      );
    }
    const text = await readBounded(res).catch((err: unknown) => {
      throw new EmbeddingFailedError(`${endpoint}: the answer could not be read: ${describe(err)}`);
    });
    if (!res.ok) {
      const retryable = res.status === 429 || res.status === 408 || res.status >= 500;
      throw new EmbeddingFailedError(
        `${endpoint} answered ${res.status}: ${text.slice(0, 200)}`,
        retryable,
        retryAfter(res.headers.get('retry-after')),
      );
    }
    return this.vectors(endpoint, text, input.length);
  }

  /** The answer's vectors in input order, unit length; a malformed answer is not retried. */
  private vectors(endpoint: string, text: string, expected: number): number[][] {
    const bad = (why: string) =>
      new EmbeddingFailedError(`${endpoint} answered something that is not embeddings: ${why}`, false);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw bad('not JSON');
    }
    const data = (body as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length !== expected)
      throw bad(`expected data with ${expected} embeddings`);
    const out = new Array<number[]>(expected);
    data.forEach((item: { index?: unknown; embedding?: unknown }, i) => {
      const at = typeof item?.index === 'number' ? item.index : i;
      const v = item?.embedding;
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x)))
        throw bad(`data[${i}].embedding is not an array of numbers`);
      if (!Number.isInteger(at) || at < 0 || at >= expected || out[at]) throw bad(`data[${i}].index`);
      this.dims ??= v.length;
      if (v.length !== this.dims)
        throw bad(`data[${i}] has ${v.length} dimensions, earlier answers ${this.dims}`);
      out[at] = unitVector(v as number[]);
    });
    return out;
  }
}

async function readBounded(res: Response): Promise<string> {
  const body = res.body as ReadableStream<Uint8Array> | null;
  if (!body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  // the request's timeout signal bounds reading the body too
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) throw new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

function retryAfter(header: string | null): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.min(Math.max(seconds, 0), 60) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(at - Date.now(), 0), 60_000);
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
