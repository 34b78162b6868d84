import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { Database, Queryable } from '@libs/database';
import {
  AnalysisRequest,
  AnalysisResult,
  MAX_PREFIX_EXPANSIONS,
  MAX_TYPO_CANDIDATES,
  QueryPlan,
  groupOperands,
  unitOperands,
} from './query/query-plan';
import { ChunkRow, MatchRows } from './query/ranking';
import { FilterNode } from './filter/filter-parser';
import { filterSql } from './filter/filter-sql';
import { Metadata } from './metadata/metadata';
import type { StoreEmbeddingCounts } from './embeddings/embedding.repository';
import {
  WORD_LEXEMES_SQL,
  WordLexemeCache,
  WordLexemeRow,
  WordLexemes,
  assembleTsvector,
  indexWords,
  isPlainText,
  parseWordLexemes,
} from './index-text';

/** A page document's passages holding the query's terms (SearchRepository.passages). */
export interface DocumentPassages {
  publicId: string;
  filename: string;
  metadata: Metadata;
  passages: Array<{ chunkIndex: number; content: string }>;
}

/** One chunk's text and its document's public face (SearchRepository.chunks), keyed `documentId:chunkIndex`. */
export interface ChunkContent {
  publicId: string;
  filename: string;
  metadata: Metadata;
  content: string;
}

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
  /** The document's public id (`public_id`: kept when its file is replaced). */
  id: string;
  seq: number;
  filename: string;
  contentType: string;
  bytes: number;
  checksum: string;
  chunks: number;
  createdAt: Date;
  updatedAt: Date;
  externalId: string | null;
  /** The row's own id (chunks and vectors hang off it); `id` is the public one, kept across replacements. */
  rowId: string;
  metadata: Metadata;
  text?: string;
}

export interface NewDocument {
  filename: string;
  contentType: string;
  bytes: number;
  checksum: string;
  text: string;
  chunks: string[];
  /** The caller's key (upload field `externalId`): a published document with it is replaced (upsert). */
  externalId?: string;
  /** The public id of the document this one replaces (PUT …/documents/:id). */
  replaces?: string;
  /** The user's keys and Atrium's own (metadata/metadata.ts), as stored ({} when absent). */
  metadata?: Metadata;
}

/** What storing a document did: its public id, and whether it replaced a published one. */
export interface StoredDocument {
  id: string;
  replaced: boolean;
}

/** A published document holding given content (an upload's identical bytes). */
export interface ChecksumMatch {
  id: string;
  ready: boolean;
  externalId: string | null;
}

/** The analysis statement's answer: per request its lexemes and candidates, and words to highlight. */
export interface AnalysisOutcome {
  results: AnalysisResult[];
  /** Every surface form in the store of the query's own lexemes (`policies` for `policy`). */
  surfaceWords: string[];
}

/** Thrown inside the insert transaction when the store already holds a file with that checksum. */
export class DuplicateDocument extends Error {
  constructor(readonly existingId: string) {
    super('duplicate document');
  }
}

/** Thrown inside a transaction when the store went away meanwhile (deleted concurrently). */
export class StoreGone extends Error {}

/** Thrown when publishing a replacement whose document was deleted meanwhile (nothing is published). */
export class ReplacedDocumentGone extends Error {}

/** Rolls a delete transaction back when the document was not there (the version must not move). */
class NothingDeleted extends Error {}

// pg returns bigint/count as strings and PGlite as numbers: normalise with ::int / ::text in SQL.
// The published documents' count and bytes are the store row's counters (migration 11), not a scan.
const STORE_COLUMNS = `s.id, s.name, s.version::text AS version, s.created_at AS "createdAt", s.updated_at AS "updatedAt",
  s.document_count::float8 AS "documentCount", s.document_bytes::float8 AS bytes`;

// `id` is the public id (migration 8): a replaced document keeps it while its row changes.
const DOCUMENT_COLUMNS = `d.public_id AS id, d.id AS "rowId", d.seq::float8 AS seq, d.filename, d.content_type AS "contentType", d.bytes::float8 AS bytes,
  trim(d.checksum) AS checksum, d.chunk_count AS chunks, d.created_at AS "createdAt", d.updated_at AS "updatedAt",
  d.external_id AS "externalId", d.metadata`;

/**
 * Chunks go in with one statement per batch of at most this many rows (arrays through unnest) and this many
 * characters (chunkBatches), which also stages their words; postings are indexed per batch too: at most about
 * 240 KB of text a statement, under a second on PGlite — the longest another tenant's statement waits behind
 * an upload's. (discardPending deletes in CHUNK_BATCH ranges.)
 */
const CHUNK_BATCH = 200;
const BATCH_CHARS = 240_000;

/**
 * An upload still unfinished this long after it began was left by a process that stopped (each of its steps is
 * bounded by the statement timeout; a 20 MiB text takes minutes at most): it is swept.
 */
const PENDING_STALE_MS = 3600_000;
const PENDING_SWEEP_MS = 600_000;

/**
 * Words whose lexemes the process keeps (index-text.ts), shared by all uploads: words of at most 64
 * characters, so at most about 24 MB of heap whatever is uploaded (measured: 100,000 words of 64 characters
 * with distinct stems; about 9 MB for words of ordinary length).
 */
const WORD_CACHE_ENTRIES = 100_000;

/** Trigram similarity from which a vocabulary word is a typo candidate (then checked by edit distance). */
const TYPO_SIMILARITY = 0.2;

/** Documents changed before the search tables' statistics are refreshed (the first time, and then). */
const ANALYSE_FIRST_AFTER = 10;
const ANALYSE_EVERY = 100;

/** Every SQL statement of the search feature, tenant-scoped at the seam. */

/**
 * What BM25 reads of the whole store: its published documents and their length in tokens summed (the average
 * document length), the counters of its row (migration 11) — kept by each publication and delete.
 */
export interface StoreTotals {
  documents: number;
  totalTerms: number;
}

/**
 * A store as a search keys its cache — id, version, and the embedding progress recorded on its row (0010) —
 * with the totals ranking reads (0011): one index lookup, all a cached search reads.
 */
export interface StoreKey extends StoreTotals {
  id: string;
  version: string;
  embeddingCounts: StoreEmbeddingCounts | null;
}
@Injectable()
export class SearchRepository implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SearchRepository.name);
  private sweeper?: NodeJS.Timeout;
  private changedSinceAnalyse = 0;
  private analysed = false;
  private analysing?: Promise<void>;
  /** Words' lexemes for the tsvectors built in the app (index-text.ts), bounded: see WORD_CACHE_ENTRIES. */
  private readonly lexemes = new WordLexemeCache(WORD_CACHE_ENTRIES);
  private plainText?: Promise<boolean>;

  constructor(private readonly db: Database) {}

  /**
   * Whether the database lower-cases and classifies plain text as index-text.ts assumes (PLAIN_TEXT_CHECK_SQL),
   * asked once: a database whose locale lower-cases `I` otherwise (tr, az) gets every chunk's tsvector and
   * words from the database, as before migration 12. A failed check is asked again on the next upload.
   */
  private plainTextChecked(): Promise<boolean> {
    this.plainText ??= this.db.query<{ ok: boolean }>(PLAIN_TEXT_CHECK_SQL).then(
      (r) => {
        const ok = r.rows[0]?.ok === true;
        if (!ok)
          this.logger.warn(
            "The database's locale does not lower-case plain ASCII text as ASCII does: every passage's tsvector is computed by the database",
          );
        return ok;
      },
      (err: unknown) => {
        this.plainText = undefined;
        throw err;
      },
    );
    return this.plainText;
  }

  /**
   * Counts stored or deleted documents and refreshes the search tables now and then, in the background.
   * PGlite has no autovacuum, and a PostgreSQL server may run without it (or reach a freshly filled table
   * only minutes later): without statistics the planner never learns how selective a trigram or a store is
   * (and scans the whole vocabulary for every typo instead of using its trigram index); without VACUUM
   * the postings' and vocabulary's index-only scans read the table row of every entry, since nothing marks
   * their pages all-visible. VACUUM only visits pages written since the last one (the tables are mostly
   * appended to); on PostgreSQL it does not block searches. (It also merges the GIN indexes' small pending
   * lists, migration 9, which an inserting statement otherwise merges once past their limit.) Embedding writes
   * (every chunk row written again with its vector) are not counted: measured side by side, a store left as the
   * embedding leaves it searches lexically as fast as one never embedded (test/load/reports/lexical-pair-embedding.md).
   */
  noteChanges(documents: number): void {
    this.changedSinceAnalyse += documents;
    if (this.analysing || this.changedSinceAnalyse < (this.analysed ? ANALYSE_EVERY : ANALYSE_FIRST_AFTER))
      return;
    this.changedSinceAnalyse = 0;
    this.analysing = (async () => {
      // One table per statement: PGlite has one session, and searches wait behind each statement.
      // (VACUUM cannot run in a transaction block: each is a statement of its own on PostgreSQL too.)
      for (const table of ['search_documents', 'search_chunks', 'search_words', 'search_postings'])
        await this.db.exec(`VACUUM (ANALYZE) ${table}`);
      this.analysed = true;
    })()
      .catch((err: unknown) => this.logger.warn({ err }, 'Refreshing the search statistics failed'))
      .finally(() => {
        this.analysing = undefined;
      });
  }

  /** Uploads a stopped process left unfinished are removed after start-up, then every PENDING_SWEEP_MS. */
  onApplicationBootstrap(): void {
    const sweep = () =>
      void this.sweepPending(PENDING_STALE_MS).catch((err: unknown) =>
        this.logger.warn({ err }, 'Sweeping unfinished uploads failed; the next sweep tries again'),
      );
    this.sweeper = setInterval(sweep, PENDING_SWEEP_MS);
    this.sweeper.unref();
    setTimeout(sweep, 0).unref();
  }

  /** A refresh still running finishes before the database closes (onApplicationShutdown comes later). */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.sweeper);
    await this.analysing;
  }

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

  /**
   * What a search reads of the store's row, one index lookup: its cache key (id, version, embedding progress)
   * and BM25's store totals (read with the version the page is cached under).
   */
  async storeKey(tenantId: string, name: string): Promise<StoreKey | undefined> {
    const r = await this.db.query<StoreKey>(
      `SELECT id, version::text AS version, embedding_counts AS "embeddingCounts",
         document_count::float8 AS documents, document_terms::float8 AS "totalTerms"
       FROM search_stores WHERE tenant_id = $1 AND name = $2`,
      [tenantId, name],
    );
    const row = r.rows[0];
    return row && { ...row, documents: Number(row.documents), totalTerms: Number(row.totalTerms) };
  }

  /**
   * The store's query-time settings (store-settings.ts), read by a search on a cache miss only (a cache hit
   * never pays for them). Read after the version the page is cached under: settings changed in between are
   * cached under a version no later search asks for.
   */
  async storeSettings(storeId: string): Promise<unknown> {
    const r = await this.db.query<{ settings: unknown }>('SELECT settings FROM search_stores WHERE id = $1', [
      storeId,
    ]);
    return r.rows[0]?.settings;
  }

  async deleteStore(tenantId: string, name: string): Promise<boolean> {
    const r = await this.db.query('DELETE FROM search_stores WHERE tenant_id = $1 AND name = $2', [
      tenantId,
      name,
    ]);
    return r.rowCount > 0;
  }

  /**
   * Stores one document in bounded steps (migration 5), so that no step grows with the document and, on
   * PGlite's one session, every other tenant's statement gets its turn between two of them (a document of
   * one batch of chunks runs the same steps in one short transaction):
   * 1. the document row, `ready = false` (a duplicate checksum in the store: DuplicateDocument);
   * 2. its chunks, one statement per batch (chunkBatches: CHUNK_BATCH chunks, BATCH_CHARS characters at
   *    most), which also stages the batch's distinct words (the tsvectors are computed here: the costly part);
   * 3. its postings, one statement per batch;
   * 4. one short transaction that publishes it: the store's version bump (which also serialises uploads and
   *    deletes of one store), its words into the vocabulary, `ready = true` and the store's counters (migration 11).
   * Until step 4 commits, lists, counts and searches leave the document out, and a search cache keyed by the
   * store's version stays valid. When a step fails, what was written is removed (discardPending); rows left by
   * a process that died mid-upload are swept later (sweepPending). StoreGone when the store went away.
   */
  async insertDocument(tenantId: string, storeId: string, doc: NewDocument): Promise<string> {
    return (await this.storeDocument(tenantId, storeId, doc)).id;
  }

  /**
   * insertDocument, answering also whether a published document was replaced: `doc.replaces` (its public
   * id) or the published document with `doc.externalId`. The replacement is staged like any upload (a row of
   * its own, not ready); the publishing transaction then takes the old document out (its postings, its share
   * of the vocabulary, its row and chunks — what a delete does) and publishes the new one under the old
   * public id, so a search sees either the old passages or the new ones. ReplacedDocumentGone when
   * `doc.replaces` was deleted meanwhile.
   */
  async storeDocument(tenantId: string, storeId: string, doc: NewDocument): Promise<StoredDocument> {
    // plain chunks' tsvectors built here only where the database's case rules are ASCII's (plainTextChecked)
    const lexemes = (await this.plainTextChecked()) ? this.lexemes : undefined;
    // A document of one batch: the same steps in one short transaction — one turn of the session, and a
    // failure leaves nothing without a clean-up.
    if (chunkBatches(doc.chunks).length <= 1)
      return this.db.transaction(async (tx) => {
        const id = await insertPending(tx, tenantId, storeId, doc);
        const terms = await insertChunks(tx, lexemes, id, tenantId, storeId, doc.chunks);
        await stageIndex(tx, storeId, id, chunkBatches(doc.chunks), terms);
        return publish(tx, storeId, id, terms, doc);
      });
    const id = await insertPending(this.db, tenantId, storeId, doc);
    try {
      const terms = await insertChunks(this.db, lexemes, id, tenantId, storeId, doc.chunks).catch(
        storeGoneOnForeignKey,
      );
      await stageIndex(this.db, storeId, id, chunkBatches(doc.chunks), terms).catch(storeGoneOnForeignKey);
      return await this.db.transaction((tx) => publish(tx, storeId, id, terms, doc));
    } catch (err) {
      await this.discardPending(storeId, id, doc.chunks.length).catch((e: unknown) =>
        this.logger.warn({ err: e }, `Removing the unfinished upload ${id} failed; it is swept later`),
      );
      throw err;
    }
  }

  /**
   * The document of this store holding content with `checksum` (published or still being stored), if any:
   * an upload's duplicate is answered from this before the file is extracted (insertDocument still
   * refuses one that raced in meanwhile).
   */
  async findByChecksum(
    tenantId: string,
    storeId: string,
    checksum: string,
  ): Promise<ChecksumMatch | undefined> {
    const r = await this.db.query<ChecksumMatch>(
      `SELECT public_id AS id, ready, external_id AS "externalId" FROM search_documents
       WHERE tenant_id = $1 AND store_id = $2 AND checksum = $3`,
      [tenantId, storeId, checksum],
    );
    return r.rows[0];
  }

  /** The public id of the published document of this store with the caller's key, if any. */
  async findByExternalId(storeId: string, externalId: string): Promise<string | undefined> {
    const r = await this.db.query<{ id: string }>(
      'SELECT public_id AS id FROM search_documents WHERE store_id = $1 AND external_id = $2 AND ready',
      [storeId, externalId],
    );
    return r.rows[0]?.id;
  }

  /**
   * Removes what an unfinished upload wrote — postings, chunks (in CHUNK_BATCH steps, like they came), its
   * staged words and the pending row — and never touches a published document.
   */
  async discardPending(storeId: string, documentId: string, chunkCount: number): Promise<void> {
    const pending = await this.db.query(
      'SELECT 1 FROM search_documents WHERE id = $1 AND store_id = $2 AND NOT ready',
      [documentId, storeId],
    );
    if (pending.rowCount === 0) return;
    for (let from = 0; from < chunkCount; from += CHUNK_BATCH) {
      const range = [storeId, documentId, from, from + CHUNK_BATCH];
      await this.db.query(
        `DELETE FROM search_postings p USING (
           SELECT DISTINCT u.lexeme FROM search_chunks c, unnest(c.tsv) u
           WHERE c.document_id = $2 AND c.chunk_index >= $3 AND c.chunk_index < $4) l
         WHERE p.store_id = $1 AND p.lexeme = l.lexeme AND p.document_id = $2`,
        range,
      );
      await this.db.query(
        'DELETE FROM search_chunks WHERE document_id = $2 AND chunk_index >= $3 AND chunk_index < $4 AND store_id = $1',
        range,
      );
    }
    // postings of chunks that were never inserted cannot exist; staged words go with the row (cascade)
    await this.db.query('DELETE FROM search_documents WHERE id = $1 AND NOT ready', [documentId]);
  }

  /**
   * Removes uploads left unfinished longer than `olderThanMs` ago (their process died mid-upload), one
   * document at a time. Returns how many were removed.
   */
  async sweepPending(olderThanMs: number): Promise<number> {
    const r = await this.db.query<{ id: string; storeId: string; chunks: number }>(
      `SELECT id, store_id AS "storeId", chunk_count AS chunks FROM search_documents
       WHERE NOT ready AND created_at < now() - make_interval(secs => $1::float8 / 1000) LIMIT 100`,
      [olderThanMs],
    );
    for (const row of r.rows) await this.discardPending(row.storeId, row.id, row.chunks);
    if (r.rows.length)
      this.logger.warn(`Removed ${r.rows.length} upload(s) left unfinished by a stopped process`);
    return r.rows.length;
  }

  /**
   * The named server secret (hex), created on first use: the first replica to ask inserts a random one,
   * every later call (any replica, any restart) reads the same value.
   */
  async secret(name: string): Promise<Buffer> {
    await this.db.query(
      'INSERT INTO search_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
      [name, randomBytes(32).toString('hex')],
    );
    const r = await this.db.query<{ value: string }>('SELECT value FROM search_secrets WHERE name = $1', [
      name,
    ]);
    return Buffer.from(r.rows[0].value, 'hex');
  }

  async listDocuments(
    storeId: string,
    afterSeq: number,
    limit: number,
    filter?: FilterNode,
  ): Promise<DocumentRow[]> {
    const params: unknown[] = [storeId, afterSeq, limit];
    const where = filter ? `AND ${filterSql(filter, 'd.metadata', (v) => `$${params.push(v)}`)}` : '';
    const r = await this.db.query<DocumentRow>(
      `SELECT ${DOCUMENT_COLUMNS} FROM search_documents d WHERE d.store_id = $1 AND d.seq > $2 AND d.ready ${where} ORDER BY d.seq LIMIT $3`,
      params,
    );
    return r.rows;
  }

  /** Of the given documents (row ids), those the metadata filter keeps (semantic hits under a filter). */
  async keepMatching(storeId: string, filter: FilterNode, ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const params: unknown[] = [storeId, ids];
    const where = filterSql(filter, 'd.metadata', (v) => `$${params.push(v)}`);
    const r = await this.db.query<{ id: string }>(
      `SELECT d.id FROM search_documents d WHERE d.store_id = $1 AND d.id = ANY($2::uuid[]) AND d.ready AND ${where}`,
      params,
    );
    return new Set(r.rows.map((row) => row.id));
  }

  /**
   * Changes a published document's user metadata (`merge` computes the new object from the stored one and
   * may throw to refuse it) and bumps the store's version, in one transaction: cached results of the store
   * become unreachable with the change. Nothing is re-extracted. Undefined when the document is not there
   * (the version stays).
   */
  async updateMetadata(
    storeId: string,
    id: string,
    merge: (stored: Metadata) => Metadata,
  ): Promise<DocumentRow | undefined> {
    return this.db
      .transaction(async (tx) => {
        // the store row first, like uploads and deletes
        const bumped = await tx.query(
          'UPDATE search_stores SET version = version + 1, updated_at = now() WHERE id = $1',
          [storeId],
        );
        if (bumped.rowCount === 0) throw new NothingDeleted();
        const current = await tx.query<{ id: string; metadata: Metadata }>(
          'SELECT id, metadata FROM search_documents WHERE store_id = $1 AND public_id = $2 AND ready FOR UPDATE',
          [storeId, id],
        );
        if (!current.rows[0]) throw new NothingDeleted();
        const r = await tx.query<DocumentRow>(
          `UPDATE search_documents d SET metadata = $3::jsonb WHERE d.store_id = $1 AND d.id = $2
           RETURNING ${DOCUMENT_COLUMNS}`,
          [storeId, current.rows[0].id, JSON.stringify(merge(current.rows[0].metadata))],
        );
        return r.rows[0];
      })
      .catch((err: unknown) => {
        if (err instanceof NothingDeleted) return undefined; // rolled back: the version stays as it was
        throw err;
      });
  }

  async findDocument(storeId: string, id: string, withText: boolean): Promise<DocumentRow | undefined> {
    const r = await this.db.query<DocumentRow>(
      `SELECT ${DOCUMENT_COLUMNS}${withText ? ', d.text' : ''} FROM search_documents d WHERE d.store_id = $1 AND d.public_id = $2 AND d.ready`,
      [storeId, id],
    );
    return r.rows[0];
  }

  /**
   * Deletes a document (its chunks cascade) with its postings and its share of the store's vocabulary,
   * and bumps the store's version, in one transaction.
   */
  async deleteDocument(storeId: string, id: string): Promise<boolean> {
    return this.db
      .transaction(async (tx) => {
        // Locks the store row first, like an upload, so vocabulary counts never interleave.
        const bumped = await tx.query(
          'UPDATE search_stores SET version = version + 1, updated_at = now() WHERE id = $1',
          [storeId],
        );
        if (bumped.rowCount === 0) return false;
        // a document still being stored is not there yet (its words are not in the vocabulary); `id` is
        // the public id, the row's own id may differ (a replaced document)
        const published = await tx.query<{ id: string }>(
          'SELECT id FROM search_documents WHERE store_id = $1 AND public_id = $2 AND ready',
          [storeId, id],
        );
        if (published.rows.length === 0) throw new NothingDeleted();
        const rowId = published.rows[0].id;
        await unindexDocument(tx, storeId, rowId);
        if (!(await deletePublished(tx, storeId, rowId))) throw new NothingDeleted();
        return true;
      })
      .catch((err: unknown) => {
        if (err instanceof NothingDeleted) return false; // rolled back: the version stays as it was
        throw err;
      });
  }

  /**
   * What the query's words are to this store, in one statement: each text's lexemes (positions kept, so
   * phrases keep their gaps) and whether the text is a word of the store's vocabulary; for an unknown word, the store's words
   * sharing enough trigrams with it (pg_trgm's `%`, nearest first; the caller keeps those within the allowed
   * typos); for the last word (unless
   * it is a stop word), the store's most frequent words starting with it; and the surface forms of every
   * lexeme, to highlight.
   */
  async analyse(storeId: string, requests: AnalysisRequest[]): Promise<AnalysisOutcome> {
    const params: unknown[] = [storeId, requests.map((q) => q.text)];
    const param = (value: unknown): string => `$${params.push(value)}`;
    // One branch per word that may need corrections or completions, the word as a plain parameter: the
    // planner then sees the value, and takes the (store, trigram) GIN index / the primary key's range.
    const branches: string[] = [];
    requests.forEach((q, n) => {
      const i = n + 1;
      if (q.typos) {
        const word = param(q.text);
        // The store is filtered outside a fence (OFFSET 0), so the planner can only take the trigram index,
        // statistics or not (PGlite has no autovacuum to gather them).
        branches.push(`SELECT 'typo', ${i}, s.word, s.lexeme, NULL::int[], s.docs FROM (
           SELECT w.word, w.lexeme, w.docs FROM (
             SELECT * FROM search_words WHERE word % ${word} OFFSET 0
           ) w
           WHERE w.store_id = $1 ORDER BY w.word <-> ${word} LIMIT ${MAX_TYPO_CANDIDATES}
         ) s
         WHERE EXISTS (SELECT 1 FROM lx WHERE lx.i = ${i}) AND NOT EXISTS (SELECT 1 FROM lx WHERE lx.i = ${i} AND lx.known)`);
      }
      if (q.prefix) {
        const from = param(q.text);
        const to = param(`${q.text}\u{10FFFF}`);
        branches.push(`SELECT 'prefix', ${i}, s.word, s.lexeme, NULL::int[], s.docs FROM (
           SELECT w.word, w.lexeme, w.docs FROM search_words w
           WHERE w.store_id = $1 AND w.word > ${from} COLLATE "C" AND w.word < ${to} COLLATE "C"
           ORDER BY w.docs DESC, w.word LIMIT ${MAX_PREFIX_EXPANSIONS}
         ) s
         WHERE EXISTS (SELECT 1 FROM lx WHERE lx.i = ${i})`);
      }
    });
    const r = await this.db.query<{
      kind: 'lexeme' | 'typo' | 'prefix' | 'surface';
      i: number;
      word: string;
      lexeme: string;
      positions: number[] | null;
      n: number;
    }>(
      // pg_trgm's `%` keeps words sharing 30 % of their trigrams by default, which misses a swapped pair in a
      // short word (`ptyhon` / `python`: 27 %). The threshold is set for this statement's transaction only
      // (set_config(…, true)) while the CTE that every typo branch waits for is computed, so before they run.
      `WITH lx AS MATERIALIZED (
         SELECT t.i::int AS i, u.lexeme, u.positions::int[] AS positions,
           set_config('pg_trgm.similarity_threshold', '${TYPO_SIMILARITY}', true) AS threshold,
           -- LIMIT 1: a correlated lookup the planner cannot turn into a scan of the whole vocabulary
           coalesce((SELECT true FROM search_words w
                     WHERE w.store_id = $1 AND w.word = t.txt COLLATE "C" LIMIT 1), false) AS known
         FROM unnest($2::text[]) WITH ORDINALITY AS t(txt, i), unnest(to_tsvector('english', t.txt)) u
       )
       SELECT 'lexeme' AS kind, lx.i, lx.lexeme AS word, lx.lexeme, lx.positions, lx.known::int AS n FROM lx
       UNION ALL
       SELECT 'surface', lx.i, w.word, w.lexeme, NULL, w.docs
       FROM lx CROSS JOIN LATERAL (
         SELECT w.word, w.lexeme, w.docs FROM search_words w
         WHERE w.store_id = $1 AND w.lexeme = lx.lexeme COLLATE "C" LIMIT 64
       ) w
       ${branches.map((b) => `UNION ALL ${b}`).join('\n')}`,
      params,
    );
    const results: AnalysisResult[] = requests.map(() => ({ lexemes: [], typos: [], prefixes: [] }));
    const surface = new Set<string>();
    for (const row of r.rows) {
      const result = results[row.i - 1];
      if (row.kind === 'lexeme')
        for (const position of row.positions ?? [1])
          result.lexemes.push({ lexeme: row.lexeme, position, known: row.n === 1 });
      else if (row.kind === 'typo') result.typos.push({ word: row.word, lexeme: row.lexeme, docs: row.n });
      else if (row.kind === 'prefix')
        result.prefixes.push({ word: row.word, lexeme: row.lexeme, docs: row.n });
      else surface.add(row.word);
    }
    for (const result of results) result.lexemes.sort((a, b) => a.position - b.position);
    return { results, surfaceWords: [...surface] };
  }

  /**
   * Everything ranking needs for a plan, in one statement: the posting list of every lexeme the plan
   * can match (document, tf, length), the documents holding an excluded word or phrase, and per phrase
   * variant the documents with its lexemes adjacent in one chunk. With `proximity`, also per document the best
   * chunk holding every group (see MatchRows.proximity). The store's document count and total length are the
   * totals its row holds (`store`, read by storeKey): nothing here grows with the store, only with the terms.
   */
  async match(
    store: { id: string } & StoreTotals,
    plan: QueryPlan,
    opts: { proximity: boolean; filter?: FilterNode },
  ): Promise<MatchRows> {
    const storeId = store.id;
    const params: unknown[] = [storeId];
    const param = (value: unknown): string => `$${params.push(value)}`;
    const lexemes = [...new Set(plan.variants.flatMap((v) => v.lexemes))];
    const branches = [
      `SELECT 'p' AS kind, p.lexeme AS a, p.document_id AS doc, p.tf::float8 AS x, p.dl::float8 AS y
       FROM search_postings p WHERE p.store_id = $1 AND p.lexeme = ANY(${param(lexemes)}::text[] COLLATE "C")`,
      // documents still being stored: their postings and chunks are already there, they are left out below
      `SELECT 'u', NULL, id, NULL, NULL FROM search_documents WHERE store_id = $1 AND NOT ready`,
    ];
    // a filter: the store's documents it keeps (the GIN index on metadata serves its containment tests);
    // every other document is left out below, as pending ones are
    if (opts.filter)
      branches.push(`SELECT 'k', NULL, d.id, NULL, NULL FROM search_documents d
        WHERE d.store_id = $1 AND d.ready AND ${filterSql(opts.filter, 'd.metadata', param)}`);
    if (plan.excludedLexemes.length)
      branches.push(`SELECT 'x', NULL, p.document_id, NULL, NULL FROM search_postings p
        WHERE p.store_id = $1 AND p.lexeme = ANY(${param(plan.excludedLexemes)}::text[] COLLATE "C")`);
    if (plan.excludedPhrases)
      branches.push(`SELECT 'x', NULL, c.document_id, NULL, NULL FROM search_chunks c
        WHERE c.store_id = $1 AND c.tsv @@ ${param(plan.excludedPhrases)}::tsquery`);
    plan.variants.forEach((v, i) => {
      if (v.lexemes.length > 1)
        branches.push(`(SELECT DISTINCT 'f', '${i}', c.document_id, NULL::float8, NULL::float8 FROM search_chunks c
          WHERE c.store_id = $1 AND c.tsv @@ ${param(v.tsquery)}::tsquery)`);
    });
    if (opts.proximity) {
      const branch = proximityBranch(plan, param);
      if (branch) branches.push(branch);
    }
    const r = await this.db.query<{
      kind: 'p' | 'u' | 'k' | 'x' | 'f' | 'c';
      a: string | null;
      doc: string | null;
      x: number | null;
      y: number | null;
    }>(branches.join('\nUNION ALL\n'), params);
    const rows: MatchRows = {
      documents: store.documents,
      totalTerms: store.totalTerms,
      postings: [],
      excluded: [],
      phrases: [],
      proximity: [],
    };
    const pending = new Set(r.rows.filter((row) => row.kind === 'u').map((row) => row.doc));
    const kept = opts.filter ? new Set(r.rows.filter((row) => row.kind === 'k').map((row) => row.doc)) : null;
    for (const row of r.rows) {
      if (row.kind === 'u' || row.kind === 'k' || (pending.size && row.doc !== null && pending.has(row.doc)))
        continue;
      if (kept && row.doc !== null && !kept.has(row.doc)) continue;
      if (row.kind === 'p')
        rows.postings.push({
          lexeme: row.a as string,
          documentId: row.doc as string,
          tf: Number(row.x),
          dl: Number(row.y),
        });
      else if (row.kind === 'x') rows.excluded.push(row.doc as string);
      else if (row.kind === 'f') rows.phrases.push({ variant: Number(row.a), documentId: row.doc as string });
      else rows.proximity.push({ documentId: row.doc as string, seq: Number(row.x), cd: Number(row.y) });
    }
    return rows;
  }

  /** MatchRows.proximity for some documents only (a rescore window). */
  async proximity(storeId: string, plan: QueryPlan, documentIds: string[]): Promise<MatchRows['proximity']> {
    const params: unknown[] = [storeId];
    const branch = proximityBranch(plan, (value) => `$${params.push(value)}`, documentIds);
    if (!branch) return [];
    const r = await this.db.query<{ doc: string; x: number; y: number }>(branch, params);
    return r.rows.map((row) => ({ documentId: row.doc, seq: Number(row.x), cd: Number(row.y) }));
  }

  /**
   * Filenames and best passages of documents: per document its chunks holding a term, the two holding the
   * most groups (then the densest) first. Chunks are read through their document (the primary key), never
   * through the store-wide full-text index. A chunk's tsvector is stored compressed (TOAST) and every
   * function given the column decompresses it again: DETOASTED_TSV decompresses it once per chunk for the
   * dozen matches and the rank computed on it.
   */
  async passages(plan: QueryPlan, documentIds: string[]): Promise<Map<string, DocumentPassages>> {
    if (!documentIds.length) return new Map(); // no statement for an empty page
    const r = await this.db.query<{
      id: string;
      publicId: string;
      filename: string;
      metadata: Metadata;
      chunkIndex: number;
      content: string;
    }>(
      `SELECT d.id, d.public_id AS "publicId", d.filename, d.metadata, x.chunk_index AS "chunkIndex", x.content
       FROM unnest($1::uuid[]) AS p(id)
       JOIN search_documents d ON d.id = p.id
       CROSS JOIN LATERAL (
         SELECT y.chunk_index, y.content,
           row_number() OVER (ORDER BY y.groups DESC, ts_rank_cd(y.tsv, $3::tsquery, 0) DESC, y.chunk_index) AS o
         FROM (
           SELECT g.*, dense_rank() OVER (ORDER BY g.groups DESC) AS tier FROM (
             SELECT c.chunk_index, c.content, c.tsv,
               (SELECT count(*) FROM unnest($2::tsquery[]) q WHERE c.tsv @@ q) AS groups
             FROM (SELECT chunk_index, content, ${DETOASTED_TSV} FROM search_chunks WHERE document_id = p.id OFFSET 0) c
             WHERE c.tsv @@ $3::tsquery
           ) g
         ) y
         -- the two best are among the chunks holding the most or the second most groups: cover density
         -- (the costly part) is computed for those only
         WHERE y.tier <= 2
       ) x
       WHERE x.o <= 2
       ORDER BY d.id, x.o`,
      [documentIds, groupOperands(plan), plan.anyGroup],
    );
    const out = new Map<
      string,
      {
        publicId: string;
        filename: string;
        metadata: Metadata;
        passages: Array<{ chunkIndex: number; content: string }>;
      }
    >();
    for (const row of r.rows) {
      let entry = out.get(row.id);
      if (!entry)
        out.set(
          row.id,
          (entry = { publicId: row.publicId, filename: row.filename, metadata: row.metadata, passages: [] }),
        );
      entry.passages.push({ chunkIndex: row.chunkIndex, content: row.content });
    }
    return out;
  }

  /** group=chunks: every chunk of the given documents holding a term, with the units it holds and its signals. */
  async chunkSignals(storeId: string, plan: QueryPlan, documentIds: string[]): Promise<ChunkRow[]> {
    const params: unknown[] = [documentIds, unitOperands(plan), plan.anyGroup, storeId];
    const param = (value: unknown): string => `$${params.push(value)}`;
    const sequence = plan.sequence ? `c.tsv @@ ${param(plan.sequence)}::tsquery` : 'false';
    const verbatim = plan.verbatim ? `${CHUNK_WORDS} ~ ${param(plan.verbatim)}` : 'false';
    const r = await this.db.query<{
      documentId: string;
      chunkIndex: number;
      units: number[];
      cd: number;
      seq: number;
    }>(
      `SELECT c.document_id AS "documentId", c.chunk_index AS "chunkIndex",
         ARRAY(SELECT (q.u - 1)::int FROM unnest($2::tsquery[]) WITH ORDINALITY AS q(t, u)
               WHERE q.t IS NOT NULL AND c.tsv @@ q.t ORDER BY q.u) AS units,
         ts_rank_cd(c.tsv, $3::tsquery, 0)::float8 AS cd,
         CASE WHEN ${verbatim} THEN 2 WHEN ${sequence} THEN 1 ELSE 0 END AS seq
       FROM (SELECT document_id, chunk_index, content, ${DETOASTED_TSV} FROM search_chunks
             WHERE store_id = $4 AND tsv @@ $3::tsquery AND document_id = ANY($1::uuid[]) OFFSET 0) c`,
      params,
    );
    return r.rows.map((row) => ({ ...row, cd: Number(row.cd), seq: Number(row.seq) }));
  }

  /** The text and filename of given chunks (a group=chunks page). */
  async chunks(keys: Array<{ documentId: string; chunkIndex: number }>): Promise<Map<string, ChunkContent>> {
    if (!keys.length) return new Map(); // no statement for an empty page
    const r = await this.db.query<{
      documentId: string;
      publicId: string;
      chunkIndex: number;
      filename: string;
      metadata: Metadata;
      content: string;
    }>(
      `SELECT c.document_id AS "documentId", d.public_id AS "publicId", c.chunk_index AS "chunkIndex", d.filename, d.metadata, c.content
       FROM unnest($1::uuid[], $2::int[]) AS k(document_id, chunk_index)
       JOIN search_chunks c ON c.document_id = k.document_id AND c.chunk_index = k.chunk_index
       JOIN search_documents d ON d.id = c.document_id`,
      [keys.map((k) => k.documentId), keys.map((k) => k.chunkIndex)],
    );
    return new Map(r.rows.map((row) => [`${row.documentId}:${row.chunkIndex}`, row]));
  }

  /** Stores and published documents of every tenant (the documents: the stores' counters, migration 11). */
  async counts(): Promise<{ stores: number; documents: number }> {
    const r = await this.db.query<{ stores: number; documents: number }>(
      `SELECT count(*)::int AS stores, coalesce(sum(document_count), 0)::float8 AS documents FROM search_stores`,
    );
    const row = r.rows[0];
    return row
      ? { stores: Number(row.stores), documents: Number(row.documents) }
      : { stores: 0, documents: 0 };
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

/**
 * Per document, its best chunk holding every group: cover density (with two groups or more) and `seq` (2: the
 * chunk says exactly what was typed, 1: it holds the terms in the typed order). The regular expression only
 * runs on chunks already holding the typed sequence, when the plan has one.
 */
function proximityBranch(
  plan: QueryPlan,
  param: (value: unknown) => string,
  documentIds?: string[],
): string | undefined {
  if (!plan.allGroups || (plan.groupCount < 2 && !plan.verbatim)) return undefined;
  const all = param(plan.allGroups);
  const sequence = plan.sequence ? `c.tsv @@ ${param(plan.sequence)}::tsquery` : null;
  const verbatim = plan.verbatim ? `${CHUNK_WORDS} ~ ${param(plan.verbatim)}` : null;
  const seq = sequence
    ? `CASE WHEN ${sequence} THEN ${verbatim ? `CASE WHEN ${verbatim} THEN 2 ELSE 1 END` : '1'} ELSE 0 END`
    : verbatim
      ? `CASE WHEN ${verbatim} THEN 2 ELSE 0 END`
      : '0';
  const cd = plan.groupCount >= 2 ? `ts_rank_cd(c.tsv, ${all}::tsquery, 0)` : '0';
  const within = documentIds ? `AND c.document_id = ANY(${param(documentIds)}::uuid[])` : '';
  const where = `store_id = $1 AND tsv @@ ${all}::tsquery ${within.replace('c.document_id', 'document_id')}`;
  return `SELECT 'c' AS kind, NULL AS a, c.document_id AS doc, max(${seq})::float8 AS x, max(${cd})::float8 AS y
    FROM (SELECT document_id, content, ${DETOASTED_TSV} FROM search_chunks WHERE ${where} OFFSET 0) c
    GROUP BY c.document_id`;
}

/**
 * A chunk's tsvector decompressed once, as a column of a fenced subquery (OFFSET 0): `setweight` to D (the
 * weight every lexeme already has: ranks and matches are unchanged) returns it in memory, where reading
 * the stored column in each of several expressions would decompress it each time.
 */
const DETOASTED_TSV = "setweight(tsv, 'D') AS tsv";

/** A chunk's letters and digits, lower-cased and single-spaced: what a verbatim pattern is matched against. */
const CHUNK_WORDS = "lower(regexp_replace(c.content, '[^[:alnum:]]+', ' ', 'g'))";

/** The distinct vocabulary words of one document's chunks (what `search_words` counts per document). */
const DOCUMENT_WORDS = `SELECT DISTINCT lower(t) AS word
  FROM search_chunks c, regexp_split_to_table(search_index_text(c.content), ' ') AS t
  WHERE c.document_id = $2 AND t <> '' AND length(t) <= 64`;

/**
 * What index-text.ts's plain chunks rely on, checked in this database: ASCII letters lower-cased as ASCII
 * does by `lower()` and by the text search parser (a Turkish or Azeri locale maps `I` to a dotless `ı`),
 * letters and digits matched by `[:alnum:]`, and the punctuation isPlainText admits matched by none of it.
 */
const PLAIN_TEXT_CHECK_SQL = `SELECT
  lower('ABCDEFGHIJKLMNOPQRSTUVWXYZ') = 'abcdefghijklmnopqrstuvwxyz'
  AND to_tsvector('simple'::regconfig, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')::text = '''abcdefghijklmnopqrstuvwxyz'':1'
  AND 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789' ~ '^[[:alnum:]]+$'
  AND NOT (E'\\u00a0\\u00a7\\u00ab\\u00b6\\u00b7\\u00bb\\u2013\\u2014\\u2018\\u2019\\u201c\\u201d\\u2022\\u2026' ~ '[[:alnum:]]') AS ok`;

/** Words whose lexemes one statement asks for (plainTsvectors): one parser call each. */
/** Chunks whose tsvectors are assembled between two turns of the event loop (a few milliseconds' work). */
const ASSEMBLE_SLICE = 16;

const WORD_LOOKUP_BATCH = 10_000;

/** Vocabulary words inserted by one statement when a document is indexed. */
const WORD_BATCH = 5000;

/**
 * Step 3 of an upload: the document's postings (term frequencies summed over its chunks, with its length
 * from step 2), one statement per batch of step 2 (chunkBatches), each on its own (no transaction held across
 * them), so none grows with the document and other statements run between them. Postings of a lexeme met in
 * several batches are summed by the upsert. (Its words were staged by step 2.)
 */
async function stageIndex(
  db: Queryable,
  storeId: string,
  documentId: string,
  batches: Array<[number, number]>,
  terms: number,
): Promise<void> {
  for (const [from, to] of batches)
    await db.query(
      `INSERT INTO search_postings (store_id, lexeme, document_id, tf, dl)
       SELECT $1, u.lexeme, $2, sum(coalesce(array_length(u.positions, 1), 1))::int, $5
       FROM search_chunks c, unnest(c.tsv) u
       WHERE c.document_id = $2 AND c.chunk_index >= $3 AND c.chunk_index < $4
       GROUP BY u.lexeme
       ON CONFLICT (store_id, lexeme, document_id) DO UPDATE SET tf = search_postings.tf + EXCLUDED.tf`,
      [storeId, documentId, from, to, terms],
    );
}

/**
 * Step 4, inside the publishing transaction: the staged words join the store's vocabulary (`docs` + 1 each),
 * WORD_BATCH per statement.
 */
async function publishWords(tx: Queryable, storeId: string, documentId: string): Promise<void> {
  for (;;) {
    // words the store already holds count one document more; only new ones are stemmed (to_tsvector per
    // word) and inserted. Publications in one store are serialised by the version bump (the store's row
    // lock), so no other statement adds a word between the update and the insert.
    const r = await tx.query<{ n: number }>(
      `WITH b AS (
         DELETE FROM search_upload_words WHERE document_id = $2 AND word IN (
           SELECT word FROM search_upload_words WHERE document_id = $2 ORDER BY word LIMIT ${WORD_BATCH})
         RETURNING word
       ),
       held AS (
         UPDATE search_words s SET docs = s.docs + 1 FROM b WHERE s.store_id = $1 AND s.word = b.word
         RETURNING s.word
       ),
       added AS (
         INSERT INTO search_words (store_id, word, lexeme, docs)
         SELECT $1, b.word, min(u.lexeme), 1 FROM b, unnest(to_tsvector('english', b.word)) u
         WHERE b.word NOT IN (SELECT word FROM held)
         GROUP BY b.word
         ON CONFLICT (store_id, word) DO UPDATE SET docs = search_words.docs + 1
       )
       SELECT count(*)::int AS n FROM b`,
      [storeId, documentId],
    );
    if (Number(r.rows[0]?.n ?? 0) < WORD_BATCH) break;
  }
}

/**
 * Step 1 of an upload: the document row, not yet ready. DuplicateDocument when the store already holds the
 * checksum (ready or still being stored), StoreGone when the store went away.
 */
async function insertPending(
  db: Queryable,
  tenantId: string,
  storeId: string,
  doc: NewDocument,
): Promise<string> {
  const id = randomUUID();
  const inserted = await db
    .query<{ id: string }>(
      `INSERT INTO search_documents (id, tenant_id, store_id, filename, content_type, bytes, checksum, text, chunk_count, ready,
         public_id, external_id, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, false, $10, $11, $12::jsonb)
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
        doc.replaces ?? id,
        doc.externalId ?? null,
        JSON.stringify(doc.metadata ?? {}),
      ],
    )
    .catch(storeGoneOnForeignKey);
  if (inserted.rows.length > 0) return id;
  const existing = await db.query<{ id: string }>(
    'SELECT public_id AS id FROM search_documents WHERE tenant_id = $1 AND store_id = $2 AND checksum = $3',
    [tenantId, storeId, doc.checksum],
  );
  throw new DuplicateDocument(existing.rows[0]?.id ?? '');
}

/**
 * Step 4, one transaction: the store's version bump (which locks its row: publications and deletes in one
 * store serialise, and a deleted store is noticed), the document's words into the vocabulary, `ready` with the
 * store's counters (migration 11) in the same statement.
 * A replacement (`doc.replaces`, or a published document holding `doc.externalId`, looked up under that lock
 * so concurrent upserts of one key serialise) first takes the old document out — postings, vocabulary share,
 * row and chunks, what a delete does — and the new row keeps its public id, external id and creation time.
 */
async function publish(
  tx: Queryable,
  storeId: string,
  documentId: string,
  terms: number,
  doc: Pick<NewDocument, 'replaces' | 'externalId'> = {},
): Promise<StoredDocument> {
  const bumped = await tx.query(
    'UPDATE search_stores SET version = version + 1, updated_at = now() WHERE id = $1',
    [storeId],
  );
  if (bumped.rowCount === 0) throw new StoreGone();
  type Previous = { id: string; createdAt: Date; externalId: string | null; publicId?: string };
  const old = doc.replaces
    ? await tx.query<Previous>(
        `SELECT id, created_at AS "createdAt", external_id AS "externalId" FROM search_documents
         WHERE store_id = $1 AND public_id = $2 AND ready`,
        [storeId, doc.replaces],
      )
    : doc.externalId
      ? await tx.query<Previous>(
          `SELECT id, created_at AS "createdAt", external_id AS "externalId", public_id AS "publicId"
           FROM search_documents WHERE store_id = $1 AND external_id = $2 AND ready`,
          [storeId, doc.externalId],
        )
      : undefined;
  if (doc.replaces && old?.rows.length === 0) throw new ReplacedDocumentGone();
  const previous: Previous | undefined = old?.rows[0];
  if (previous) {
    await unindexDocument(tx, storeId, previous.id);
    await deletePublished(tx, storeId, previous.id);
  }
  await publishWords(tx, storeId, documentId);
  // `ready`, and the store's counters (migration 11) by what this statement published: none when the row
  // was swept meanwhile
  const published = await tx.query<{ id: string }>(
    `WITH published AS (
       UPDATE search_documents SET terms = $2, ready = true, updated_at = now(),
         public_id = coalesce($3::uuid, public_id), external_id = coalesce(external_id, $4::text),
         created_at = coalesce($5::timestamptz, created_at)
       WHERE id = $1 AND NOT ready RETURNING public_id, terms, bytes
     ),
     counted AS (
       UPDATE search_stores s SET document_count = s.document_count + 1,
         document_terms = s.document_terms + p.terms, document_bytes = s.document_bytes + p.bytes
       FROM published p WHERE s.id = $6
     )
     SELECT public_id AS id FROM published`,
    [
      documentId,
      terms,
      previous?.publicId ?? null,
      previous?.externalId ?? null,
      previous ? new Date(previous.createdAt).toISOString() : null,
      storeId,
    ],
  );
  // swept meanwhile (an upload older than PENDING_STALE_MS): nothing of it is left to publish
  if (published.rows.length === 0)
    throw new Error(`the unfinished upload ${documentId} was removed before it was published`);
  return { id: published.rows[0].id, replaced: previous !== undefined };
}

/** A foreign-key violation while storing (SQLSTATE 23503): the store was deleted meanwhile. */
function storeGoneOnForeignKey(err: unknown): never {
  if ((err as { code?: unknown } | null)?.code === '23503') throw new StoreGone();
  throw err;
}

/**
 * Deletes a published document's row (its chunks cascade) and takes it off the store's counters (migration
 * 11) in the same statement, by what was deleted; inside a transaction holding the store's row lock (the
 * version bump). False when the row was not there.
 */
async function deletePublished(tx: Queryable, storeId: string, rowId: string): Promise<boolean> {
  const r = await tx.query<{ n: number }>(
    `WITH gone AS (
       DELETE FROM search_documents WHERE store_id = $1 AND id = $2 AND ready RETURNING terms, bytes
     ),
     counted AS (
       UPDATE search_stores s SET document_count = s.document_count - 1,
         document_terms = s.document_terms - g.terms, document_bytes = s.document_bytes - g.bytes
       FROM gone g WHERE s.id = $1
     )
     SELECT count(*)::int AS n FROM gone`,
    [storeId, rowId],
  );
  return Number(r.rows[0]?.n ?? 0) > 0;
}

/** Takes a document out of the postings and the vocabulary (before its chunks go). */
async function unindexDocument(tx: Queryable, storeId: string, documentId: string): Promise<void> {
  await tx.query(
    `DELETE FROM search_postings
     WHERE store_id = $1 AND document_id = $2 AND lexeme IN (
       SELECT DISTINCT u.lexeme FROM search_chunks c, unnest(c.tsv) u WHERE c.document_id = $2)`,
    [storeId, documentId],
  );
  await tx.query(
    `WITH w AS (${DOCUMENT_WORDS}),
     gone AS (
       DELETE FROM search_words s USING w
       WHERE s.store_id = $1 AND s.word = w.word AND s.docs <= 1 RETURNING s.word
     )
     UPDATE search_words s SET docs = s.docs - 1 FROM w
     WHERE s.store_id = $1 AND s.word = w.word AND s.word NOT IN (SELECT word FROM gone)`,
    [storeId, documentId],
  );
}

/**
 * The batches an upload's chunks are written in: at most CHUNK_BATCH chunks and BATCH_CHARS characters of
 * text each, as [from, to) index ranges.
 */
export function chunkBatches(chunks: string[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let from = 0;
  let chars = 0;
  for (let i = 0; i < chunks.length; i++) {
    if (i > from && (i - from >= CHUNK_BATCH || chars + chunks[i].length > BATCH_CHARS)) {
      out.push([from, i]);
      from = i;
      chars = 0;
    }
    chars += chunks[i].length;
  }
  if (from < chunks.length) out.push([from, chunks.length]);
  return out;
}

/**
 * Step 2 of an upload: the chunks, one statement per batch, which also stages the batch's distinct vocabulary
 * words (`search_upload_words`) from the text it was given — one round trip, and the text is not read back.
 * Plain chunks (index-text.ts) come with their tsvector and words, built here from their words' lexemes
 * (cached, the missing ones asked for in one statement per batch); the database computes the others' (the
 * column is written since migration 12). Returns the document's length in tokens (for BM25), summed over
 * the batches.
 */
async function insertChunks(
  tx: Queryable,
  cache: WordLexemeCache | undefined,
  documentId: string,
  tenantId: string,
  storeId: string,
  chunks: string[],
): Promise<number> {
  const batches = chunkBatches(chunks);
  if (batches.length === 0) return 0;
  let terms = 0;
  let words = splitBatch(chunks.slice(batches[0][0], batches[0][1]), !!cache);
  for (let k = 0; k < batches.length; k++) {
    const [from, to] = batches[k];
    const batch = chunks.slice(from, to);
    const built = await plainTsvectors(tx, cache, words);
    const inserted = tx.query<{ terms: number }>(
      `WITH src AS (SELECT i, c, v FROM unnest($4::int[], $5::text[], $6::text[]) AS u(i, c, v)),
       ins AS (
         INSERT INTO search_chunks (document_id, chunk_index, tenant_id, store_id, content, tsv)
         SELECT $1, i, $2, $3, c,
           coalesce(v::tsvector, to_tsvector('english'::regconfig, search_index_text(c))) FROM src
         RETURNING tsv
       ),
       staged AS (
         INSERT INTO search_upload_words (document_id, word)
         SELECT DISTINCT $1::uuid, w FROM (
           SELECT unnest($7::text[]) AS w
           UNION ALL
           SELECT t FROM src, unnest(string_to_array(lower(search_index_text(src.c)), ' ')) AS t
           WHERE src.v IS NULL
         ) words
         WHERE w <> '' AND length(w) <= 64
         ON CONFLICT DO NOTHING
       )
       SELECT coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0)::float8 AS terms
       FROM ins, unnest(ins.tsv) u`,
      [documentId, tenantId, storeId, batch.map((_, i) => from + i), batch, built.tsvectors, built.words],
    );
    // while the database inserts this batch, the app splits the next one (no statement of its own: one
    // statement at a time, as a transaction's session needs), once the insert is on its way (a pool or the
    // session hands the statement over a few ticks later); at most two batches' words are held at once
    // (a failed insert is thrown below, where it is awaited: marked handled meanwhile)
    inserted.catch(() => undefined);
    if (k + 1 < batches.length) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      words = splitBatch(chunks.slice(batches[k + 1][0], batches[k + 1][1]), !!cache);
    }
    const r = await inserted;
    terms += Number(r.rows[0]?.terms ?? 0);
  }
  return terms;
}

/** A batch's plain chunks split into their lower-cased index words (null for the others), and those words. */
interface SplitBatch {
  chunkWords: Array<string[] | null>;
  distinct: Set<string>;
}

function splitBatch(batch: string[], plain: boolean): SplitBatch {
  // lower-cased first: the vocabulary's words are, and the english configuration lower-cases every token
  const chunkWords = batch.map((c) => (plain && isPlainText(c) ? indexWords(c.toLowerCase()) : null));
  const distinct = new Set<string>();
  for (const words of chunkWords) if (words) for (const w of words) distinct.add(w);
  return { chunkWords, distinct };
}

/**
 * The tsvector literals of a batch's plain chunks (null for the others) and their distinct vocabulary words;
 * the lexemes of words not in the cache are asked for first. Everything here is bounded by the batch
 * (BATCH_CHARS).
 */
async function plainTsvectors(
  tx: Queryable,
  cache: WordLexemeCache | undefined,
  { chunkWords, distinct }: SplitBatch,
): Promise<{ tsvectors: Array<string | null>; words: string[] }> {
  const known = new Map<string, WordLexemes>();
  const missing: string[] = [];
  for (const w of distinct) {
    const hit = cache?.get(w);
    if (hit) known.set(w, hit);
    else missing.push(w);
  }
  // WORD_LOOKUP_BATCH words a statement: a batch of distinct made-up words holds up to about 120,000
  for (let i = 0; i < missing.length; i += WORD_LOOKUP_BATCH) {
    const r = await tx.query<WordLexemeRow>(WORD_LEXEMES_SQL, [missing.slice(i, i + WORD_LOOKUP_BATCH)]);
    for (const [w, lexemes] of parseWordLexemes(r.rows)) {
      known.set(w, lexemes);
      cache?.set(w, lexemes);
    }
  }
  const lookup = (w: string): WordLexemes => {
    const hit = known.get(w);
    if (!hit) throw new Error(`no lexemes for the word "${w}"`);
    return hit;
  };
  // tens of milliseconds for a whole batch: assembled ASSEMBLE_SLICE chunks at a time, other requests between
  const tsvectors: Array<string | null> = [];
  for (let i = 0; i < chunkWords.length; i++) {
    if (i > 0 && i % ASSEMBLE_SLICE === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const words = chunkWords[i];
    tsvectors.push(words ? assembleTsvector(words, lookup) : null);
  }
  return { tsvectors, words: [...distinct].filter((w) => w.length <= 64) };
}
