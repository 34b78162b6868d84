import { Injectable } from '@nestjs/common';
import { Database } from '@libs/database';

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

  /** Stores the vectors (one statement; a chunk deleted meanwhile is simply not there). */
  async store(chunks: PendingChunk[], vectors: number[][], model: string): Promise<void> {
    if (!chunks.length) return;
    const dims = vectors[0].length;
    await this.db.query(
      `UPDATE search_chunks c
       SET embedding = ($3::real[])[(u.o - 1) * $4 + 1 : u.o * $4], embedding_model = $5, embedding_dims = $4
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
   * The store's `limit` chunks most similar to the query vector (cosine: both have unit length), among those
   * `model` embedded with the query's dimensions, of published documents passing the filter. The arithmetic
   * runs in the database (PostgreSQL, or PGlite's worker thread), never on the API's event loop.
   */
  async nearest(
    storeId: string,
    model: string,
    query: number[],
    limit: number,
    filter: SemanticFilter = {},
  ): Promise<SemanticHit[]> {
    const params: unknown[] = [storeId, model, query, query.length, limit];
    const param = (v: unknown) => `$${params.push(v)}`;
    const where: string[] = [];
    if (filter.excludedLexemes?.length)
      where.push(`c.document_id NOT IN (SELECT p.document_id FROM search_postings p
        WHERE p.store_id = $1 AND p.lexeme = ANY(${param(filter.excludedLexemes)}::text[] COLLATE "C"))`);
    if (filter.excludedPhrases)
      where.push(`c.document_id NOT IN (SELECT x.document_id FROM search_chunks x
        WHERE x.store_id = $1 AND x.tsv @@ ${param(filter.excludedPhrases)}::tsquery)`);
    if (filter.requiredPhrases)
      where.push(`c.document_id IN (SELECT x.document_id FROM search_chunks x
        WHERE x.store_id = $1 AND x.tsv @@ ${param(filter.requiredPhrases)}::tsquery)`);
    const r = await this.db.query<{ documentId: string; chunkIndex: number; similarity: number }>(
      `SELECT c.document_id AS "documentId", c.chunk_index AS "chunkIndex",
         (SELECT sum(a * b) FROM unnest(c.embedding, $3::real[]) AS v(a, b))::float8 AS similarity
       FROM search_chunks c JOIN search_documents d ON d.id = c.document_id AND d.ready
       WHERE c.store_id = $1 AND c.embedding_model = $2 AND c.embedding_dims = $4
         ${where.map((w) => `AND ${w}`).join(' ')}
       ORDER BY similarity DESC, c.document_id, c.chunk_index LIMIT $5`,
      params,
    );
    return r.rows.map((row) => ({ ...row, similarity: Number(row.similarity) }));
  }
}
