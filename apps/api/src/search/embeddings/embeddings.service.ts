import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import { createHash } from 'node:crypto';
import type { Counter, Histogram } from 'prom-client';
import { InjectTieredCache, TieredCache } from '@libs/cache';
import { AppConfig } from '@app/config';
import { counterProvider, gaugeProvider, histogramProvider } from '@app/metrics';
import { normaliseQuery } from '../snippet';
import { EmbeddingProvider, LOCAL_EMBEDDINGS_MODEL } from './embedding-provider';
import { EmbeddingCounts, EmbeddingRepository } from './embedding.repository';
import { LocalEmbeddings } from './local-embeddings';
import { OpenAiEmbeddings } from './openai-embeddings';

export const EMBEDDING_CACHE_NAMESPACE = 'embedding';

/** A store's or document's progress: `off` (no provider), `pending` (some passages wait), `ready`. */
export interface EmbeddingProgress {
  status: 'off' | 'pending' | 'ready';
  embedded: number;
  total: number;
}

/** Pending chunks are counted for the gauge at most this often (a query per scrape per replica otherwise). */
const QUEUE_DEPTH_MAX_AGE_MS = 5000;

/** The embedding metrics of observability.md (contract names). No tenant label. */
export const EMBEDDING_METRICS = [
  counterProvider({
    name: 'embedding_requests_total',
    help: 'Embedding requests (a batch of passages or a query) by provider and outcome',
    labelNames: ['provider', 'status'],
    zeroes: { provider: ['local', 'openai'], status: ['success', 'error'] },
  }),
  histogramProvider({
    name: 'embedding_duration_seconds',
    help: 'Time of one embedding request (a batch of passages or a query), by provider',
    labelNames: ['provider'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  gaugeProvider({
    name: 'embedding_queue_depth',
    help: 'Published passages, all tenants, not yet embedded by the configured model',
    inject: [EmbeddingRepository, AppConfig],
    async collect(repository: EmbeddingRepository, config: AppConfig) {
      const model = modelOf(config);
      if (!model) return this.set(0);
      const now = Date.now();
      let last = depths.get(repository);
      if (!last || now - last.at > QUEUE_DEPTH_MAX_AGE_MS)
        depths.set(
          repository,
          (last = { at: now, value: repository.pendingTotal(model).catch(() => undefined) }),
        );
      const n = await last.value;
      if (n !== undefined) this.set(n);
    },
  }),
];
/** The last count per app (its repository), so two apps in one process never read each other's. */
const depths = new WeakMap<EmbeddingRepository, { at: number; value: Promise<number | undefined> }>();

/** The model name the configuration asks for (what vectors are stored and compared under), if any. */
export function modelOf(config: AppConfig): string | undefined {
  const e = config.embeddings;
  if (e.provider === 'off') return undefined;
  return e.provider === 'local' ? LOCAL_EMBEDDINGS_MODEL : `openai:${e.model}`;
}

/**
 * The configured provider (none with EMBEDDINGS_PROVIDER=off), measured: every call counts in
 * embedding_requests_total / embedding_duration_seconds. Query vectors are cached per tenant, model and
 * normalised query (the tenant is part of every key of the cache).
 */
@Injectable()
export class EmbeddingsService implements OnApplicationShutdown {
  private readonly logger = new Logger('Embeddings');
  readonly provider?: EmbeddingProvider;

  constructor(
    config: AppConfig,
    readonly repository: EmbeddingRepository,
    @InjectMetric('embedding_requests_total') private readonly requests: Counter<'provider' | 'status'>,
    @InjectMetric('embedding_duration_seconds') private readonly duration: Histogram<'provider'>,
    @InjectTieredCache(EMBEDDING_CACHE_NAMESPACE) private readonly cache: TieredCache<number[]>,
  ) {
    const e = config.embeddings;
    if (e.provider === 'local')
      this.provider = new LocalEmbeddings({
        batch: e.batch,
        rssMb: e.workerRssMb,
        timeoutMs: e.timeoutMs,
        onKill: (reason, info) =>
          this.logger.warn(
            { reason, pid: info.pid },
            `The embedding model's child ${info.pid ?? ''} ended (${reason}); the next batch starts a new one`,
          ),
      });
    else if (e.provider === 'openai')
      this.provider = new OpenAiEmbeddings({
        url: e.url ?? '', // required by the config's validation
        model: e.model ?? '',
        apiKey: e.apiKey,
        batch: e.batch,
        timeoutMs: e.timeoutMs,
        retries: e.retries,
        concurrency: e.concurrency,
        onRetry: (err, attempt, delayMs) =>
          this.logger.warn(
            `Embedding request failed (attempt ${attempt}: ${err.message}); retrying in ${delayMs} ms`,
          ),
      });
    if (this.provider) {
      if (modelOf(config) !== this.provider.model) throw new Error('embedding model names disagree');
      this.logger.log(`Embeddings: ${this.provider.model}`);
    }
  }

  get model(): string | undefined {
    return this.provider?.model;
  }

  /** Unit vectors of the texts, measured. */
  async embed(texts: string[], opts: { tenant?: string; background?: boolean } = {}): Promise<number[][]> {
    const provider = this.provider;
    if (!provider) throw new Error('no embedding provider is configured');
    const started = process.hrtime.bigint();
    try {
      const vectors = await provider.embed(texts, opts);
      this.requests.inc({ provider: provider.kind, status: 'success' });
      return vectors;
    } catch (err) {
      this.requests.inc({ provider: provider.kind, status: 'error' });
      throw err;
    } finally {
      this.duration.observe({ provider: provider.kind }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** A query's vector, through the cache (tenant, model, normalised text). */
  async embedQuery(tenantId: string, text: string): Promise<number[]> {
    const digest = createHash('sha256').update(normaliseQuery(text)).digest('base64url');
    const { value } = await this.cache.getOrLoad(tenantId, `${this.model}:${digest}`, async () => {
      const [v] = await this.embed([text], { tenant: tenantId });
      return v;
    });
    if (!value) throw new Error('the query embedding was not loaded');
    return value;
  }

  progress(counts: EmbeddingCounts | undefined, total: number): EmbeddingProgress {
    if (!this.provider) return { status: 'off', embedded: 0, total };
    const embedded = Math.min(counts?.embedded ?? 0, total);
    return { status: embedded >= total ? 'ready' : 'pending', embedded, total };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.provider?.close();
  }
}
