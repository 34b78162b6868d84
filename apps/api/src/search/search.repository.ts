import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Database, Queryable } from '@libs/database';

export interface StoreRow {
  id: string;
  name: string;
  version: string;
  documentCount: number;
  bytes: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface DocumentRow {
  id: string;
  seq: number;
  filename: string;
  contentType: string;
  bytes: number;
  checksum: string;
  chunks: number;
  createdAt: Date;
  text?: string;
}

export interface NewDocument {
  filename: string;
  contentType: string;
  bytes: number;
  checksum: string;
  text: string;
  chunks: string[];
}

export interface SearchHit {
  documentId: string;
  filename: string;
  chunkIndex: number;
  score: number;
  headline: string;
}

/** Thrown inside the insert transaction when the store already holds a file with that checksum. */
export class DuplicateDocument extends Error {
  constructor(readonly existingId: string) {
    super('duplicate document');
  }
}

/** Thrown inside a transaction when the store went away meanwhile (deleted concurrently). */
export class StoreGone extends Error {}

// pg returns bigint/count as strings and PGlite as numbers: normalise with ::int / ::text in SQL.
const STORE_COLUMNS = `s.id, s.name, s.version::text AS version, s.created_at AS "createdAt", s.updated_at AS "updatedAt",
  (SELECT count(*)::int FROM search_documents d WHERE d.store_id = s.id) AS "documentCount",
  (SELECT coalesce(sum(d.bytes), 0)::float8 FROM search_documents d WHERE d.store_id = s.id) AS bytes`;

const DOCUMENT_COLUMNS = `d.id, d.seq::float8 AS seq, d.filename, d.content_type AS "contentType", d.bytes::float8 AS bytes,
  trim(d.checksum) AS checksum, d.chunk_count AS chunks, d.created_at AS "createdAt"`;

/** Chunks go in with one statement per batch of this many rows (arrays through unnest). */
const CHUNK_BATCH = 500;

/** Every SQL statement of the search feature, tenant-scoped at the seam. */
@Injectable()
export class SearchRepository {
  constructor(private readonly db: Database) {}

  async createStore(tenantId: string, name: string): Promise<StoreRow | undefined> {
    const id = randomUUID();
    const r = await this.db.query<{ id: string }>(
      `INSERT INTO search_stores (id, tenant_id, name) VALUES ($1, $2, $3)
       ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id`,
      [id, tenantId, name],
    );
    return r.rows.length ? this.findStore(tenantId, name) : undefined;
  }

  async listStores(tenantId: string): Promise<StoreRow[]> {
    const r = await this.db.query<StoreRow>(
      `SELECT ${STORE_COLUMNS} FROM search_stores s WHERE s.tenant_id = $1 ORDER BY s.name`,
      [tenantId],
    );
    return r.rows;
  }

  async findStore(tenantId: string, name: string): Promise<StoreRow | undefined> {
    const r = await this.db.query<StoreRow>(
      `SELECT ${STORE_COLUMNS} FROM search_stores s WHERE s.tenant_id = $1 AND s.name = $2`,
      [tenantId, name],
    );
    return r.rows[0];
  }

  /** The id and version only: what a search needs for its cache key, one index lookup. */
  async storeKey(tenantId: string, name: string): Promise<{ id: string; version: string } | undefined> {
    const r = await this.db.query<{ id: string; version: string }>(
      'SELECT id, version::text AS version FROM search_stores WHERE tenant_id = $1 AND name = $2',
      [tenantId, name],
    );
    return r.rows[0];
  }

  async deleteStore(tenantId: string, name: string): Promise<boolean> {
    const r = await this.db.query('DELETE FROM search_stores WHERE tenant_id = $1 AND name = $2', [
      tenantId,
      name,
    ]);
    return r.rowCount > 0;
  }

  /**
   * Stores one document and its chunks in one transaction with the store's version bump, so a failure
   * part-way leaves nothing of the file and readers never see a new version without its chunks.
   */
  async insertDocument(tenantId: string, storeId: string, doc: NewDocument): Promise<string> {
    return this.db.transaction(async (tx) => {
      // Locks the store row: uploads and deletes in one store serialise, and a deleted store is noticed.
      const bumped = await tx.query(
        'UPDATE search_stores SET version = version + 1, updated_at = now() WHERE id = $1',
        [storeId],
      );
      if (bumped.rowCount === 0) throw new StoreGone();
      const id = randomUUID();
      const inserted = await tx.query<{ id: string }>(
        `INSERT INTO search_documents (id, tenant_id, store_id, filename, content_type, bytes, checksum, text, chunk_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant_id, store_id, checksum) DO NOTHING RETURNING id`,
        [
          id,
          tenantId,
          storeId,
          doc.filename,
          doc.contentType,
          doc.bytes,
          doc.checksum,
          doc.text,
          doc.chunks.length,
        ],
      );
      if (inserted.rows.length === 0) {
        const existing = await tx.query<{ id: string }>(
          'SELECT id FROM search_documents WHERE tenant_id = $1 AND store_id = $2 AND checksum = $3',
          [tenantId, storeId, doc.checksum],
        );
        throw new DuplicateDocument(existing.rows[0]?.id ?? '');
      }
      await insertChunks(tx, id, tenantId, storeId, doc.chunks);
      return id;
    });
  }

  async listDocuments(storeId: string, afterSeq: number, limit: number): Promise<DocumentRow[]> {
    const r = await this.db.query<DocumentRow>(
      `SELECT ${DOCUMENT_COLUMNS} FROM search_documents d WHERE d.store_id = $1 AND d.seq > $2 ORDER BY d.seq LIMIT $3`,
      [storeId, afterSeq, limit],
    );
    return r.rows;
  }

  async findDocument(storeId: string, id: string, withText: boolean): Promise<DocumentRow | undefined> {
    const r = await this.db.query<DocumentRow>(
      `SELECT ${DOCUMENT_COLUMNS}${withText ? ', d.text' : ''} FROM search_documents d WHERE d.store_id = $1 AND d.id = $2`,
      [storeId, id],
    );
    return r.rows[0];
  }

  /** Deletes a document (its chunks cascade) and bumps the store's version in the same transaction. */
  async deleteDocument(storeId: string, id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const r = await tx.query('DELETE FROM search_documents WHERE store_id = $1 AND id = $2', [storeId, id]);
      if (r.rowCount === 0) return false;
      await tx.query('UPDATE search_stores SET version = version + 1, updated_at = now() WHERE id = $1', [
        storeId,
      ]);
      return true;
    });
  }

  /**
   * Ranked full-text search in one store: web-search syntax, cover-density rank (normalised to 0..1),
   * the total number of matching chunks, and a headline per hit with hits wrapped in the given markers.
   */
  async search(
    storeId: string,
    query: string,
    limit: number,
    offset: number,
    headlineOptions: string,
  ): Promise<{ total: number; hits: SearchHit[] }> {
    const r = await this.db.query<{
      total: number;
      documentId: string | null;
      filename: string;
      chunkIndex: number;
      score: number;
      headline: string;
    }>(
      `WITH q AS (SELECT websearch_to_tsquery('english', $2) AS query),
       hits AS MATERIALIZED (
         SELECT c.document_id, c.chunk_index, c.content, ts_rank_cd(c.tsv, q.query, 32) AS score
         FROM search_chunks c, q WHERE c.store_id = $1 AND c.tsv @@ q.query
       ),
       page AS (
         SELECT * FROM hits ORDER BY score DESC, document_id, chunk_index LIMIT $3 OFFSET $4
       )
       SELECT t.total, p.document_id AS "documentId", d.filename, p.chunk_index AS "chunkIndex",
         p.score::float8 AS score, ts_headline('english', p.content, q.query, $5) AS headline
       FROM (SELECT count(*)::int AS total FROM hits) t
       CROSS JOIN q
       LEFT JOIN page p ON true
       LEFT JOIN search_documents d ON d.id = p.document_id
       ORDER BY p.score DESC NULLS LAST, p.document_id, p.chunk_index`,
      [storeId, query, limit, offset, headlineOptions],
    );
    const total = r.rows[0]?.total ?? 0;
    const hits = r.rows
      .filter((row) => row.documentId !== null)
      .map((row) => ({
        documentId: row.documentId as string,
        filename: row.filename,
        chunkIndex: row.chunkIndex,
        score: row.score,
        headline: row.headline,
      }));
    return { total, hits };
  }

  async counts(): Promise<{ stores: number; documents: number }> {
    const r = await this.db.query<{ stores: number; documents: number }>(
      `SELECT (SELECT count(*)::int FROM search_stores) AS stores, (SELECT count(*)::int FROM search_documents) AS documents`,
    );
    return r.rows[0] ?? { stores: 0, documents: 0 };
  }

  /** A real full-text round trip: the english configuration exists and the tables answer. */
  async ping(): Promise<{ stores: number; documents: number }> {
    const r = await this.db.query<{ ok: boolean }>(
      `SELECT to_tsvector('english', 'searching stores') @@ websearch_to_tsquery('english', 'search') AS ok`,
    );
    if (!r.rows[0]?.ok) throw new Error('full-text search configuration "english" does not match');
    return this.counts();
  }
}

async function insertChunks(
  tx: Queryable,
  documentId: string,
  tenantId: string,
  storeId: string,
  chunks: string[],
): Promise<void> {
  for (let from = 0; from < chunks.length; from += CHUNK_BATCH) {
    const batch = chunks.slice(from, from + CHUNK_BATCH);
    await tx.query(
      `INSERT INTO search_chunks (document_id, chunk_index, tenant_id, store_id, content)
       SELECT $1, i, $2, $3, c FROM unnest($4::int[], $5::text[]) AS u(i, c)`,
      [documentId, tenantId, storeId, batch.map((_, i) => from + i), batch],
    );
  }
}
