import { Injectable } from '@nestjs/common';
import { Database } from '@libs/database';
import type { DocumentFilter, VectorPage } from './vector-index.protocol';

/** A chunk's embedding is pending when it was not made by `$model` (null, or below / above it: three index ranges). */
const PENDING = (model: string) =>
  `(c.embedding_model IS NULL OR c.embedding_model < ${model} OR c.embedding_model > ${model})`;

export interface PendingChunk {
  documentId: string;
  chunkIndex: number;
  content: string;
}

export interface EmbeddingCounts {
  embedded: number;
  total: number;
}

/** What the semantic side of a search may be filtered by (the query's phrases and exclusions). */
export interface SemanticFilter {
  /** tsquery a document must match in some chunk (the query's quoted phrases, AND-ed). */
  requiredPhrases?: string | null;
  /** Lexemes and phrases (tsquery) excluding every document holding them. */
  excludedLexemes?: string[];
  excludedPhrases?: string | null;
}

/** A store's passages pending and embedded for `model` under the store's `version` (search_stores.embedding_counts). */
export interface StoreEmbeddingCounts {
  version: string;
  model: string;
  pending: number;
  embedded: number;
}

export interface SemanticHit {
  documentId: string;
  chunkIndex: number;
  similarity: number;
}

/** The SQL of embeddings: pending work, storing vectors, progress, and cosine ranking (in the database). */
@Injectable()
export class EmbeddingRepository {
  constructor(private readonly db: Database) {}

  /**
   * The next store after `afterStoreId` (by id, wrapping around is the caller's) with a published chunk not
   * embedded by `model`: stores take turns, so one tenant's large upload never holds the others back.
   */
  async nextStore(
    model: string,
    afterStoreId: string,
  ): Promise<{ id: string; tenantId: string } | undefined> {
    const r = await this.db.query<{ id: string; tenantId: string }>(
      `SELECT s.id, s.tenant_id AS "tenantId" FROM search_stores s
       WHERE s.id::text > $2 AND EXISTS (
         SELECT 1 FROM search_chunks c JOIN search_documents d ON d.id = c.document_id AND d.ready
         WHERE c.store_id = s.id AND ${PENDING('$1')})
       ORDER BY s.id::text LIMIT 1`,
      [model, afterStoreId],
    );
    return r.rows[0];
  }

  /** Up to `limit` published chunks of the store not embedded by `model`, oldest document first. */
  async pendingChunks(storeId: string, model: string, limit: number): Promise<PendingChunk[]> {
    const r = await this.db.query<PendingChunk>(
      `SELECT c.document_id AS "documentId", c.chunk_index AS "chunkIndex", c.content
       FROM search_chunks c JOIN search_documents d ON d.id = c.document_id AND d.ready
       WHERE c.store_id = $1 AND ${PENDING('$2')}
       ORDER BY d.seq, c.chunk_index LIMIT $3`,
      [storeId, model, limit],
    );
    return r.rows;
  }

  /**
   * Stores the vectors (one statement; a chunk deleted meanwhile is simply not there) as float32 big-endian
   * `bytea` (PostgreSQL's float4send, 4 bytes a component: what the vector index loads, migration 0010).
   */
  async store(chunks: PendingChunk[], vectors: number[][], model: string): Promise<void> {
    if (!chunks.length) return;
    const dims = vectors[0].length;
    await this.db.query(
      `UPDATE search_chunks c
       SET embedding_f32 = (SELECT string_agg(float4send(x.v), ''::bytea ORDER BY x.o)
                            FROM unnest(($3::real[])[(u.o - 1) * $4 + 1 : u.o * $4]) WITH ORDINALITY AS x(v, o)),
           embedding_model = $5, embedding_dims = $4
       FROM unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS u(document_id, chunk_index, o)
       WHERE c.document_id = u.document_id AND c.chunk_index = u.chunk_index`,
      [chunks.map((c) => c.documentId), chunks.map((c) => c.chunkIndex), vectors.flat(), dims, model],
    );
  }

  /** Published chunks of every store not embedded by `model` (embedding_queue_depth). */
  async pendingTotal(model: string): Promise<number> {
    const r = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM search_chunks c JOIN search_documents d ON d.id = c.document_id AND d.ready
       WHERE ${PENDING('$1')}`,
      [model],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /** Per store: its published chunks, and how many of them `model` embedded. */
  async storeCounts(storeIds: string[], model: string): Promise<Map<string, EmbeddingCounts>> {
    const r = await this.db.query<{ id: string; embedded: number; total: number }>(
      `SELECT s.id,
         (SELECT coalesce(sum(d.chunk_count), 0)::int FROM search_documents d WHERE d.store_id = s.id AND d.ready) AS total,
         (SELECT count(*)::int FROM search_chunks c JOIN search_documents d ON d.id = c.document_id AND d.ready
          WHERE c.store_id = s.id AND c.embedding_model = $2) AS embedded
       FROM unnest($1::uuid[]) AS s(id)`,
      [storeIds, model],
    );
    return new Map(
      r.rows.map((row) => [row.id, { embedded: Number(row.embedded), total: Number(row.total) }]),
    );
  }

  /** Per document: its chunks, and how many of them `model` embedded. */
  async documentCounts(documentIds: string[], model: string): Promise<Map<string, EmbeddingCounts>> {
    const r = await this.db.query<{ id: string; embedded: number; total: number }>(
      `SELECT d.id, d.chunk_count AS total,
         (SELECT count(*)::int FROM search_chunks c WHERE c.document_id = d.id AND c.embedding_model = $2) AS embedded
       FROM search_documents d WHERE d.id = ANY($1::uuid[])`,
      [documentIds, model],
    );
    return new Map(
      r.rows.map((row) => [row.id, { embedded: Number(row.embedded), total: Number(row.total) }]),
    );
  }

  /** Chunks of the store not yet embedded by `model` (a search's cache key changes as this falls). */
  async storePending(storeId: string, model: string): Promise<number> {
    const r = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM search_chunks c JOIN search_documents d ON d.id = c.document_id AND d.ready
       WHERE c.store_id = $1 AND ${PENDING('$2')}`,
      [storeId, model],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * The store's published pending / embedded passage counts for `model`, recorded on the store row under
   * the store's version (read in the same snapshot), so a search reads them with the store's key instead of
   * counting: the embedder refreshes them after each batch, a search after a version change. The row is not
   * written when the version moved meanwhile (its counts would belong to the older document set).
   */
  async refreshCounts(storeId: string, model: string): Promise<StoreEmbeddingCounts | undefined> {
    const r = await this.db.query<StoreEmbeddingCounts>(
      `WITH v AS (SELECT version FROM search_stores WHERE id = $1),
       n AS (
         SELECT v.version::text AS version, $2::text AS model,
           (SELECT count(*)::int FROM search_chunks c JOIN search_documents d ON d.id = c.document_id AND d.ready
            WHERE c.store_id = $1 AND ${PENDING('$2')}) AS pending,
           (SELECT count(*)::int FROM search_chunks c JOIN search_documents d ON d.id = c.document_id AND d.ready
            WHERE c.store_id = $1 AND c.embedding_model = $2) AS embedded
         FROM v),
       w AS (
         UPDATE search_stores s SET embedding_counts = to_jsonb(n) FROM n
         WHERE s.id = $1 AND s.version::text = n.version RETURNING 1)
       SELECT version, model, pending, embedded FROM n`,
      [storeId, model],
    );
    const row = r.rows[0];
    return row && { ...row, pending: Number(row.pending), embedded: Number(row.embedded) };
  }

  /** How many vectors `vectorPage` would page through. */
  async vectorCount(storeId: string, model: string, dims: number): Promise<number> {
    const r = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n
       FROM search_chunks c JOIN search_documents d ON d.id = c.document_id AND d.ready
       WHERE c.store_id = $1 AND c.embedding_model = $2 AND c.embedding_dims = $3
         AND c.embedding_f32 IS NOT NULL AND length(c.embedding_f32) = $3 * 4`,
      [storeId, model, dims],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * One page of the store's vectors that `model` made with `dims` components, of published documents, after
   * (`documentId`, `chunkIndex`) in that order: what the vector index loads (float32 big-endian bytes).
   */
  async vectorPage(
    storeId: string,
    model: string,
    dims: number,
    after: { documentId: string; chunkIndex: number } | undefined,
    limit: number,
  ): Promise<VectorPage & { last?: { documentId: string; chunkIndex: number } }> {
    const r = await this.db.query<{ documentId: string; chunkIndex: number; v: Uint8Array }>(
      `SELECT c.document_id AS "documentId", c.chunk_index AS "chunkIndex", c.embedding_f32 AS v
       FROM search_chunks c JOIN search_documents d ON d.id = c.document_id AND d.ready
       WHERE c.store_id = $1 AND c.embedding_model = $2 AND c.embedding_dims = $3
         AND c.embedding_f32 IS NOT NULL AND length(c.embedding_f32) = $3 * 4
         AND (c.document_id, c.chunk_index) > ($4::uuid, $5::int)
       ORDER BY c.document_id, c.chunk_index LIMIT $6`,
      [
        storeId,
        model,
        dims,
        after?.documentId ?? '00000000-0000-0000-0000-000000000000',
        after?.chunkIndex ?? -1,
        limit,
      ],
    );
    const vectors = new Uint8Array(r.rows.length * dims * 4);
    r.rows.forEach((row, i) => vectors.set(row.v, i * dims * 4));
    const lastRow = r.rows[r.rows.length - 1];
    return {
      documentIds: r.rows.map((row) => row.documentId),
      chunkIndexes: r.rows.map((row) => Number(row.chunkIndex)),
      vectors,
      last: lastRow && { documentId: lastRow.documentId, chunkIndex: Number(lastRow.chunkIndex) },
    };
  }

  /**
   * What the query's phrases and exclusions make of the store's documents: `only` the ones holding every
   * quoted phrase (null: no phrase), and the ones to `exclude` (holding an excluded term or phrase).
   */
  async semanticDocuments(storeId: string, filter: SemanticFilter): Promise<DocumentFilter> {
    const out: DocumentFilter = {};
    if (filter.requiredPhrases) {
      const r = await this.db.query<{ id: string }>(
        `SELECT DISTINCT x.document_id AS id FROM search_chunks x WHERE x.store_id = $1 AND x.tsv @@ $2::tsquery`,
        [storeId, filter.requiredPhrases],
      );
      out.only = r.rows.map((row) => row.id);
    }
    const parts: string[] = [];
    const params: unknown[] = [storeId];
    if (filter.excludedLexemes?.length) {
      params.push(filter.excludedLexemes);
      parts.push(`SELECT p.document_id FROM search_postings p
        WHERE p.store_id = $1 AND p.lexeme = ANY($${params.length}::text[] COLLATE "C")`);
    }
    if (filter.excludedPhrases) {
      params.push(filter.excludedPhrases);
      parts.push(
        `SELECT x.document_id FROM search_chunks x WHERE x.store_id = $1 AND x.tsv @@ $${params.length}::tsquery`,
      );
    }
    if (parts.length) {
      const r = await this.db.query<{ id: string }>(
        `SELECT DISTINCT document_id AS id FROM (${parts.join(' UNION ALL ')}) e`,
        params,
      );
      out.exclude = r.rows.map((row) => row.id);
    }
    return out;
  }
}
