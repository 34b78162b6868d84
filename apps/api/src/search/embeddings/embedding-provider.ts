/**
 * Who turns text into vectors (EMBEDDINGS_PROVIDER): `local` (USE lite in its own child process) or `openai`
 * (any OpenAI-compatible `POST /v1/embeddings`). Every vector a provider returns has unit length, so a dot
 * product is the cosine; `model` is stored with each vector, and vectors of another model are never compared.
 */
export interface EmbeddingProvider {
  readonly kind: 'local' | 'openai';
  /** What is stored with every vector: `local:use-lite-512`, `openai:<EMBEDDINGS_MODEL>`. */
  readonly model: string;
  /**
   * One unit vector per text, in order. `tenant`: whose share of a shared pool the work takes; `background`:
   * the indexer's work, which waits for room instead of being refused.
   */
  embed(texts: string[], opts?: { tenant?: string; background?: boolean }): Promise<number[][]>;
  close(): Promise<void>;
}

/** The local model's name as stored with its vectors (Universal Sentence Encoder lite, 512 dimensions). */
export const LOCAL_EMBEDDINGS_MODEL = 'local:use-lite-512';

/** The provider failed (after its retries) or refused the work: searches needing it answer 503. */
export class EmbeddingFailedError extends Error {
  constructor(
    message: string,
    /** Worth another attempt (network, timeout, 429, 5xx, a busy pool). */
    readonly retryable = true,
    /** What the server asked (Retry-After), when it did. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'EmbeddingFailedError';
  }
}

/** The vector scaled to unit length (a zero vector stays zero). */
export function unitVector(v: ArrayLike<number>): number[] {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  n = Math.sqrt(n);
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = n > 0 ? v[i] / n : 0;
  return out;
}

/**
 * The text a model is given for a passage: whitespace runs collapsed (each space of an indentation run would
 * be a token), at most `maxChars` characters (USE lite reads its first ~128 tokens anyway).
 */
export function embeddingInput(text: string, maxChars = 2000): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, maxChars);
}

/** Concurrency limit: at most `limit` holders at once, the others wait in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
