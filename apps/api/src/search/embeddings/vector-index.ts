import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Database } from '@libs/database';
import { AppConfig, VECTOR_INDEX_OVERHEAD_MB } from '@app/config';
import {
  childCommand,
  ExtractionPool,
  JobFailedError,
  PoolBusyError,
  PoolClosedError,
  WorkerKilledError,
} from '@app/extraction';
import { EmbeddingFailedError } from './embedding-provider';
import { EmbeddingRepository, SemanticFilter, SemanticHit } from './embedding.repository';
import {
  detectVectorExtension,
  VectorBackend,
  vectorBackend,
  VectorExtensionState,
} from './vector-extension';
import type { DocumentFilter, VectorHit, VectorJob, VectorReply } from './vector-index.protocol';

/** Rows per page from the database to the child (512 dimensions: 4 MB of float32 in transit at most). */
export const VECTOR_PAGE_ROWS = 2048;

/** Wall-clock and CPU bound of one job in the child (a page of 2048 rows quantises in a few ms). */
const JOB_TIMEOUT_MS = 30_000;

/** What a search knows of the store it ranks: the key of its vectors in the child. */
export interface VectorStoreRef {
  id: string;
  version: string;
  /** Passages `model` embedded at this version (the store row's embedding_counts). */
  embedded: number;
}

/**
 * Semantic ranking off the API's event loop, on both databases: a store's vectors (float32 bytes, migration
 * 0010) are loaded once per (store, version, model, dimensions, embedded count) into one child process of its
 * own, held there as int8 under EMBEDDINGS_INDEX_MB (least recently used store dropped first), and every
 * query is a dot product per passage in that child — ~5 M multiply-adds at 10k passages of 512 dimensions,
 * instead of a database tuple per component. A store larger than the budget is ranked page by page (nothing
 * held, time grows with the store). Vectors of another model or dimensions are never loaded with the query's.
 * The quoted phrases and exclusions of the query are resolved to documents in SQL and applied in the child.
 */
@Injectable()
export class VectorIndex implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('VectorIndex');
  private pool?: ExtractionPool;
  private readonly budgetBytes: number;
  /** Loads in flight by key: concurrent searches of one store wait for one load. */
  private readonly loads = new Map<string, Promise<boolean>>();

  /** What the database offers (pgvector on PostgreSQL), read at start-up; and the ranking chosen from it. */
  extension: VectorExtensionState = { available: false, installed: null };
  backend: VectorBackend = 'index-child';

  constructor(
    config: AppConfig,
    private readonly repository: EmbeddingRepository,
    private readonly db: Database,
  ) {
    this.budgetBytes = config.embeddings.indexMb * 1024 * 1024;
    const rssMb = config.embeddings.indexMb + VECTOR_INDEX_OVERHEAD_MB;
    if (config.embeddings.provider !== 'off')
      this.pool = new ExtractionPool({
        ...childCommand(__filename, 'vector-index.worker'),
        size: 1,
        heapMb: 128, // the vectors are typed arrays outside the V8 heap
        rssMb,
        recycleRssMb: rssMb - 16, // holding its budget is the child's steady state
        maxJobsPerWorker: Number.MAX_SAFE_INTEGER,
        timeoutMs: JOB_TIMEOUT_MS,
        cpuMs: JOB_TIMEOUT_MS,
        queueMax: 256,
        idleMs: 30 * 60_000, // an idle index gives its memory back after half an hour
        onKill: (reason, info) =>
          this.logger.warn(
            `The vector index's child ${info.pid ?? ''} ended (${reason}); it is loaded again on use`,
          ),
      });
  }

  /**
   * The documents a query's phrases and exclusions leave to the semantic side (a statement for the phrases,
   * one for the exclusions; none without them): resolved apart from `nearest`, so that the caller can run it while the query is being embedded.
   */
  async documents(storeId: string, filter: SemanticFilter): Promise<DocumentFilter> {
    const hasFilter = !!(filter.requiredPhrases || filter.excludedPhrases || filter.excludedLexemes?.length);
    return hasFilter ? this.repository.semanticDocuments(storeId, filter) : {};
  }

  /**
   * The store's `limit` passages most similar to `query` among those `model` embedded with its dimensions,
   * of published documents passing the query's phrases and exclusions (`documents`, from `documents()`);
   * most similar first (ties: document id, then chunk index).
   */
  async nearest(
    tenantId: string,
    store: VectorStoreRef,
    model: string,
    query: number[],
    limit: number,
    documents: DocumentFilter = {},
  ): Promise<SemanticHit[]> {
    if (documents.only && !documents.only.length) return [];
    const key = `${store.id}:${store.version}:${model}:${query.length}:${store.embedded}`;
    const rank: VectorJob = { kind: 'rank', key, query, limit, ...documents };
    let reply = await this.run(tenantId, rank);
    if (reply.kind === 'hits') return reply.hits;
    if (await this.load(tenantId, key, store.id, model, query.length)) {
      reply = await this.run(tenantId, rank);
      if (reply.kind === 'hits') return reply.hits;
    }
    return this.scan(tenantId, store.id, model, query, limit, documents);
  }

  /** Sends the store's vectors to the child page by page; false when it refused them (over the budget). */
  private load(
    tenantId: string,
    key: string,
    storeId: string,
    model: string,
    dims: number,
  ): Promise<boolean> {
    let pending = this.loads.get(key);
    if (!pending) {
      pending = (async () => {
        const rows = await this.repository.vectorCount(storeId, model, dims);
        const begun = await this.run(tenantId, {
          kind: 'begin',
          key,
          store: storeId,
          rows,
          dims,
          budgetBytes: this.budgetBytes,
        });
        if (begun.kind !== 'ok') return false;
        let after: { documentId: string; chunkIndex: number } | undefined;
        for (let sent = 0; sent < rows;) {
          const page = await this.repository.vectorPage(
            storeId,
            model,
            dims,
            after,
            Math.min(VECTOR_PAGE_ROWS, rows - sent),
          );
          if (!page.documentIds.length) break;
          const { last, ...rowsOfPage } = page;
          const r = await this.run(tenantId, { kind: 'append', key, page: rowsOfPage });
          if (r.kind !== 'ok') return false;
          sent += page.documentIds.length;
          after = last;
        }
        return (await this.run(tenantId, { kind: 'end', key })).kind === 'ok';
      })().finally(() => this.loads.delete(key));
      this.loads.set(key, pending);
    }
    return pending;
  }

  /** A store the child does not hold: ranked page by page, the pages' best merged here (limit per page). */
  private async scan(
    tenantId: string,
    storeId: string,
    model: string,
    query: number[],
    limit: number,
    documents: DocumentFilter,
  ): Promise<SemanticHit[]> {
    let best: VectorHit[] = [];
    let after: { documentId: string; chunkIndex: number } | undefined;
    for (;;) {
      const page = await this.repository.vectorPage(storeId, model, query.length, after, VECTOR_PAGE_ROWS);
      if (!page.documentIds.length) break;
      after = page.last;
      const { last: _last, ...rows } = page;
      const r = await this.run(tenantId, { kind: 'scan', query, limit, page: rows, ...documents });
      if (r.kind !== 'hits') throw new EmbeddingFailedError('the vector index did not rank a page', false);
      best = [...best, ...r.hits].sort(byRank).slice(0, limit);
      if (page.documentIds.length < VECTOR_PAGE_ROWS) break;
    }
    return best;
  }

  private async run(tenantId: string, job: VectorJob): Promise<VectorReply> {
    const pool = this.pool;
    if (!pool) throw new EmbeddingFailedError('no embedding provider is configured', false);
    return pool.run<VectorReply>(job, { tenant: tenantId }).catch((err: unknown) => {
      if (err instanceof PoolBusyError) throw new EmbeddingFailedError('the vector index is busy');
      if (err instanceof PoolClosedError) throw new EmbeddingFailedError('shutting down', false);
      if (err instanceof WorkerKilledError)
        throw new EmbeddingFailedError(`the vector index's child was killed (${err.reason})`);
      if (err instanceof JobFailedError)
        throw new EmbeddingFailedError(`the vector index failed: ${err.error.message}`, false);
      throw err;
    });
  }

  /** On PostgreSQL, whether `vector` (pgvector) is there; logged with the ranking that follows from it. */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.pool || this.db.kind !== 'postgres') return;
    try {
      this.extension = await detectVectorExtension(this.db);
    } catch (err) {
      this.logger.warn(`Could not ask PostgreSQL for the vector extension: ${(err as Error).message}`);
    }
    this.backend = vectorBackend(this.extension);
    this.logger.log(
      `PostgreSQL vector extension: ${
        this.extension.installed
          ? `installed (${this.extension.installed})`
          : this.extension.available
            ? 'available, not created'
            : 'absent'
      }; semantic ranking: ${this.backend}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.close();
  }
}

/** Most similar first; ties by document id, then chunk index (as the SQL ranking ordered them). */
function byRank(a: VectorHit, b: VectorHit): number {
  if (a.similarity !== b.similarity) return b.similarity - a.similarity;
  if (a.documentId !== b.documentId) return a.documentId < b.documentId ? -1 : 1;
  return a.chunkIndex - b.chunkIndex;
}
