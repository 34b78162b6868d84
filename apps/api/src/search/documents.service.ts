import { Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AppError } from '@app/errors';
import { ErrorBody, errorBody } from '@app/errors';
import { AppConfig } from '@app/config';
import { DatabaseTimeoutError, DatabaseUnavailableError } from '@libs/database';
import { currentRequestId } from '@libs/observability';
import { ExtractionService } from '@app/extraction';
import { DocumentCursors } from './document-cursor';
import { DocumentView, RejectedFile, UploadedDocument, UploadResult } from './dto/document.dto';
import { EmbeddingIndexer } from './embeddings/embedding-indexer';
import { EmbeddingProgress, EmbeddingsService } from './embeddings/embeddings.service';
import {
  DocumentNotFoundError,
  FileRejection,
  NotMultipartError,
  REJECTION_STATUS,
  StoreNotFoundError,
} from './search.errors';
import { SearchMetrics } from './search.metrics';
import {
  DocumentRow,
  DuplicateDocument,
  NewDocument,
  ReplacedDocumentGone,
  SearchRepository,
  StoreGone,
} from './search.repository';
import { extractText } from './upload/extract';
import { normaliseFilename, visibleFilename } from './upload/filename';
import { UploadBudget } from './upload/upload-budget';
import { readUpload, ReceivedFile } from './upload/upload-reader';
import { FilterNode } from './filter/filter-parser';
import { Metadata, SYSTEM_KEYS, systemMetadata, validateMetadata, MetadataValue } from './metadata/metadata';
import { UploadMetadata } from './metadata/upload-metadata';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Prepared {
  received: ReceivedFile;
  doc?: NewDocument;
  rejection?: FileRejection;
}

export interface UploadOutcome {
  /**
   * 201 when a document was created; 200 when documents were only replaced or already held (identical
   * bytes); otherwise the status the rejections call for.
   */
  status: number;
  /** When nothing was stored: the contract's error fields plus the same documents/rejected body. */
  body: UploadResult | (UploadResult & ErrorBody);
  errorCode?: string;
  /** Headers of the error the request failed with after some files (Retry-After…). */
  headers?: Record<string, string>;
}

/** PUT …/documents/:id: the document as replaced, or the upload's error answer. */
export type ReplaceOutcome = { status: 200; body: UploadedDocument } | UploadOutcome;

function duplicateOf(existingId: string): FileRejection {
  return new FileRejection(
    'DUPLICATE_DOCUMENT',
    `This store already holds the same content as document ${existingId}; it was not stored twice`,
    existingId,
    { existingDocumentId: existingId },
  );
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

@Injectable()
export class DocumentsService {
  private readonly logger = new Logger(DocumentsService.name);
  /** Seals list cursors (document-cursor.ts); its key is read from the database on the first list. */
  private cursors?: Promise<DocumentCursors>;

  constructor(
    private readonly repository: SearchRepository,
    private readonly config: AppConfig,
    private readonly metrics: SearchMetrics,
    private readonly extraction: ExtractionService,
    private readonly budget: UploadBudget,
    private readonly embeddings: EmbeddingsService,
    private readonly indexer: EmbeddingIndexer,
  ) {}

  private async storeId(tenantId: string, store: string): Promise<string> {
    const key = await this.repository.storeKey(tenantId, store);
    if (!key) throw new StoreNotFoundError(store);
    return key.id;
  }

  /**
   * Receives, extracts and stores the files of a request one at a time (issue 25, item 2), so a request holds
   * at most one file's bytes, text and chunks. The request first reserves its share of the upload memory
   * budget (UploadBudget) — before its body is read; over the budget it waits briefly, then 503
   * CAPACITY_EXCEEDED. Each file's SHA-256 is computed as it arrives, so a duplicate is answered before it is
   * extracted. A file stored stays stored whatever comes later in the body; when the body turns out
   * malformed or over the file count after some files, the error's answer lists them too (documents,
   * rejected), so the response still says what happened to each.
   */
  async upload(
    tenantId: string,
    store: string,
    request: FastifyRequest,
    replaces?: string,
  ): Promise<UploadOutcome> {
    const storeId = await this.storeId(tenantId, store);
    if (!request.isMultipart()) throw new NotMultipartError();
    const { chunkChars, chunkOverlapChars, maxFileBytes } = this.config.search;
    // PUT …/documents/:id: one file, no externalId (the replaced document keeps its own)
    const maxFiles = replaces ? 1 : this.config.search.maxFiles;
    const declared = request.headers['content-length'];
    const release = await this.budget.acquire(
      tenantId,
      declared === undefined ? undefined : Number(declared),
    );
    const documents: UploadedDocument[] = [];
    const rejected: RejectedFile[] = [];
    const metadata = new UploadMetadata(maxFiles);
    try {
      await readUpload(
        request,
        { maxFiles, maxFileBytes, externalIds: !replaces },
        async (received) => {
          const outcome = await this.receiveOne(
            tenantId,
            storeId,
            store,
            received,
            chunkChars,
            chunkOverlapChars,
            metadata.forFile(received.filename),
            replaces,
          );
          if ('id' in outcome) documents.push(outcome);
          else rejected.push(outcome);
        },
        (field, filesBefore) => metadata.onField(field, filesBefore),
      );
    } catch (err) {
      if (!(err instanceof AppError) || (!documents.length && !rejected.length)) throw err;
      // files before the failure were answered (some stored): the error's answer says what happened to each
      this.logUpload(store, documents, rejected, err.code);
      if (documents.length) this.repository.noteChanges(documents.length);
      return {
        status: err.status,
        errorCode: err.code,
        headers: err.headers,
        body: {
          ...errorBody(err.status, err.code, err.message, currentRequestId(), err.details),
          documents,
          rejected,
        },
      };
    } finally {
      release();
    }
    if (documents.length) this.repository.noteChanges(documents.length);
    this.logUpload(store, documents, rejected);
    const unmatched = metadata.unmatched();
    const body = { documents, rejected, ...(unmatched.length ? { unmatchedMetadata: unmatched } : {}) };
    // created anything: 201; only replaced or already held (a retry, an upsert): 200
    if (documents.some((d) => d.outcome === 'created')) return { status: 201, body };
    if (documents.length) return { status: 200, body };
    const status = rejectionStatus(rejected);
    const errorCode = new Set(rejected.map((r) => r.code)).size === 1 ? rejected[0].code : 'UPLOAD_REJECTED';
    const message = `No file was stored: ${rejected.length === 1 ? rejected[0].message : `all ${rejected.length} files were rejected`}`;
    // one file: its details (which limit) are the error's details too
    const details = rejected.length === 1 ? rejected[0].details : undefined;
    return {
      status,
      errorCode,
      body: { ...errorBody(status, errorCode, message, currentRequestId(), details), documents, rejected },
    };
  }

  private logUpload(
    store: string,
    documents: UploadedDocument[],
    rejected: RejectedFile[],
    failure?: string,
  ): void {
    this.logger.log(
      `Upload to store "${store}": ${documents.length} stored, ${rejected.length} rejected` +
        (rejected.length ? ` (${[...new Set(rejected.map((r) => r.code))].join(', ')})` : '') +
        (failure ? `, then the request failed (${failure})` : ''),
    );
  }

  /**
   * One received file. Identical bytes already published are answered from the checksum, before extraction:
   * with that document (`outcome: "unchanged"`) when it is the one the file is for (no key, its externalId,
   * or the document a PUT replaces), else 409 DUPLICATE_DOCUMENT (the store holds the content as another
   * document, or it is still being stored). Anything else is extracted and stored: a new document, or the
   * replacement of `replaces` / of the document holding `externalId`.
   */
  private async receiveOne(
    tenantId: string,
    storeId: string,
    store: string,
    received: ReceivedFile,
    chunkChars: number,
    overlap: number,
    userMetadata: Metadata,
    replaces?: string,
  ): Promise<UploadedDocument | RejectedFile> {
    const name = received.filename;
    const externalId = received.externalId;
    let rejection = received.rejection;
    if (!rejection) {
      const existing = await this.repository
        .findByChecksum(tenantId, storeId, received.checksum as string)
        .catch((err: unknown) => this.storageRejection(err, name, store));
      if (existing instanceof FileRejection) rejection = existing;
      else if (existing) {
        const same = replaces
          ? existing.id === replaces
          : externalId === undefined || existing.externalId === externalId;
        const held =
          existing.ready && same
            ? await this.repository.findDocument(storeId, existing.id, false)
            : undefined;
        if (held) {
          received.data = undefined;
          this.metrics.upload('success', seconds(received.startedAt));
          const progress = await this.progress([held]);
          return { ...uploaded(held), embedding: progress(held), outcome: 'unchanged' };
        }
        rejection = duplicateOf(existing.id);
      }
      if (rejection) received.data = undefined;
    }
    if (!rejection) {
      const p = await this.prepare(received, chunkChars, overlap, userMetadata);
      rejection = p.rejection;
      if (p.doc) {
        try {
          const stored = await this.repository.storeDocument(tenantId, storeId, {
            ...p.doc,
            ...(externalId !== undefined ? { externalId } : {}),
            ...(replaces ? { replaces } : {}),
          });
          const { filename, contentType, bytes, metadata } = p.doc;
          this.metrics.upload('success', seconds(received.startedAt), bytes);
          // searchable lexically now; its passages are embedded in the background
          this.indexer.kick();
          const key = externalId ?? (stored.replaced ? await this.keyOf(storeId, stored.id) : undefined);
          return {
            id: stored.id,
            filename,
            contentType,
            bytes,
            chunks: p.doc.chunks.length,
            metadata: metadata ?? {},
            embedding: this.embeddings.progress(
              { embedded: 0, total: p.doc.chunks.length },
              p.doc.chunks.length,
            ),
            ...(key !== undefined ? { externalId: key } : {}),
            outcome: stored.replaced ? 'replaced' : 'created',
          };
        } catch (err) {
          rejection = this.storageRejection(err, name, store);
        }
      }
    }
    const r = rejection as FileRejection;
    this.metrics.refused(r);
    this.metrics.upload(r.code === 'STORAGE_FAILED' ? 'failure' : 'rejected', seconds(received.startedAt));
    return {
      // a refused name is echoed with its controls and invisible characters spelled out (<U+202E>)
      filename: r.code === 'INVALID_FILENAME' ? visibleFilename(name) : name,
      code: r.code,
      message: r.message,
      ...(r.existingDocumentId ? { existingDocumentId: r.existingDocumentId } : {}),
      ...(r.details ? { details: r.details } : {}),
    };
  }

  /** A failure to look up or store one file, as that file's rejection (a store deleted meanwhile fails the request). */
  private storageRejection(err: unknown, filename: string, store: string): FileRejection {
    if (err instanceof DuplicateDocument) return duplicateOf(err.existingId);
    if (err instanceof ReplacedDocumentGone) throw new DocumentNotFoundError(); // deleted during its replacement
    if (err instanceof StoreGone) throw new StoreNotFoundError(store);
    if (err instanceof DatabaseTimeoutError || err instanceof DatabaseUnavailableError) {
      this.logger.warn({ err, filename }, 'Storing an uploaded document was stopped');
      return new FileRejection(err.code, `${err.message}; nothing of the document was kept, try again`);
    }
    this.logger.error({ err, filename }, 'Storing an uploaded document failed');
    return new FileRejection('STORAGE_FAILED', 'The document could not be stored; nothing of it was kept');
  }

  private async prepare(
    received: ReceivedFile,
    chunkChars: number,
    overlap: number,
    userMetadata: Metadata,
  ): Promise<Prepared> {
    if (received.rejection || !received.data) return { received, rejection: received.rejection };
    try {
      // sniffed, parsed, normalised and chunked in an extraction child (upload/extract.ts)
      const { contentType, text, chunks, title, language } = await extractText(
        received.data,
        received.filename,
        this.extraction,
        {
          chunkChars,
          chunkOverlapChars: overlap,
        },
      );
      return {
        received,
        doc: {
          filename: normaliseFilename(received.filename),
          contentType,
          bytes: received.bytes,
          checksum: received.checksum as string,
          text,
          chunks,
          metadata: {
            ...userMetadata,
            ...systemMetadata({
              contentType,
              bytes: received.bytes,
              uploadedAt: new Date(),
              title,
              language,
            }),
          },
        },
      };
    } catch (err) {
      if (err instanceof FileRejection) return { received, rejection: err };
      throw err;
    } finally {
      received.data = undefined; // the raw bytes are not needed past this point
    }
  }

  async list(
    tenantId: string,
    store: string,
    limit: number,
    cursor?: string,
    filter?: FilterNode,
  ): Promise<{ documents: DocumentView[]; nextCursor: string | null }> {
    const storeId = await this.storeId(tenantId, store);
    const cursors = await this.documentCursors();
    const after = cursor ? cursors.open(tenantId, storeId, cursor) : 0;
    const rows = await this.repository.listDocuments(storeId, after, limit + 1, filter);
    const page = rows.slice(0, limit);
    const progress = await this.progress(page);
    return {
      documents: page.map((row) => ({ ...view(row), embedding: progress(row) })),
      nextCursor: rows.length > limit ? cursors.seal(tenantId, storeId, page[page.length - 1].seq) : null,
    };
  }

  private documentCursors(): Promise<DocumentCursors> {
    if (!this.cursors) {
      const loading = this.repository.secret('document_cursor').then((secret) => new DocumentCursors(secret));
      this.cursors = loading;
      // a failed read (database down) is not kept: the next list tries again
      loading.catch(() => {
        if (this.cursors === loading) this.cursors = undefined;
      });
    }
    return this.cursors;
  }

  /** A replaced document's externalId (kept from the document it replaced), if it has one. */
  private async keyOf(storeId: string, id: string): Promise<string | undefined> {
    const row = await this.repository.findDocument(storeId, id, false).catch(() => undefined);
    return row?.externalId ?? undefined;
  }

  /**
   * PUT …/documents/:id: the document's file replaced, its id (and externalId, creation time) kept. The
   * document must exist before the body is read (404 DOCUMENT_NOT_FOUND); its old passages stay searchable
   * until the new ones are published (SearchRepository.storeDocument). One file: 200 with the document
   * (`outcome` "replaced", or "unchanged" for identical bytes); a refused file answers its rejection's status.
   */
  async replace(
    tenantId: string,
    store: string,
    id: string,
    request: FastifyRequest,
  ): Promise<ReplaceOutcome> {
    const storeId = await this.storeId(tenantId, store);
    const current = UUID.test(id)
      ? await this.repository.findDocument(storeId, id.toLowerCase(), false)
      : undefined;
    if (!current) throw new DocumentNotFoundError();
    const outcome = await this.upload(tenantId, store, request, current.id);
    const [document] = outcome.body.documents;
    if (outcome.status === 200 && document) return { status: 200, body: document };
    return outcome;
  }

  async get(tenantId: string, store: string, id: string, withText: boolean): Promise<DocumentView> {
    const storeId = await this.storeId(tenantId, store);
    const row = UUID.test(id)
      ? await this.repository.findDocument(storeId, id.toLowerCase(), withText)
      : undefined;
    if (!row) throw new DocumentNotFoundError();
    const progress = await this.progress([row]);
    return { ...view(row), embedding: progress(row) };
  }

  /** The documents' embedding progress (one statement; none with EMBEDDINGS_PROVIDER=off). */
  private async progress(rows: DocumentRow[]): Promise<(row: DocumentRow) => EmbeddingProgress> {
    const model = this.embeddings.model;
    const counts =
      model && rows.length
        ? await this.embeddings.repository.documentCounts(
            rows.map((r) => r.rowId),
            model,
          )
        : undefined;
    return (row) => this.embeddings.progress(counts?.get(row.rowId), row.chunks);
  }

  /**
   * PATCH: merges `patch` into the document's user metadata (a key set to null is removed; Atrium's own keys
   * cannot be set), checks the bounds on the result, and bumps the store's version — no re-extraction.
   */
  async updateMetadata(
    tenantId: string,
    store: string,
    id: string,
    patch: Record<string, unknown>,
  ): Promise<DocumentView> {
    const changes = validateMetadata(patch, 'metadata', { allowNull: true });
    const storeId = await this.storeId(tenantId, store);
    const row = UUID.test(id)
      ? await this.repository.updateMetadata(storeId, id.toLowerCase(), (stored) => {
          const user: Record<string, MetadataValue | null> = {};
          const system: Metadata = {};
          for (const [k, v] of Object.entries(stored))
            if ((SYSTEM_KEYS as readonly string[]).includes(k)) system[k] = v;
            else user[k] = v;
          for (const [k, v] of Object.entries(changes)) {
            if (v === null) delete user[k];
            else user[k] = v;
          }
          // the bounds hold for the merged object too (key count, bytes)
          return { ...(validateMetadata(user, 'metadata') as Metadata), ...system };
        })
      : undefined;
    if (!row) throw new DocumentNotFoundError();
    return view(row);
  }

  async delete(tenantId: string, store: string, id: string): Promise<void> {
    const storeId = await this.storeId(tenantId, store);
    if (!UUID.test(id) || !(await this.repository.deleteDocument(storeId, id.toLowerCase())))
      throw new DocumentNotFoundError();
    this.repository.noteChanges(1);
  }
}

/** Every rejection agreeing on a status gives that status; a mix of client problems is a 400. */
export function rejectionStatus(rejected: RejectedFile[]): number {
  const statuses = new Set(
    rejected.map((r) => REJECTION_STATUS[r.code as keyof typeof REJECTION_STATUS] ?? 400),
  );
  if (statuses.size === 1) return [...statuses][0];
  return statuses.has(500) ? 500 : 400;
}

function view(row: DocumentRow): DocumentView {
  return {
    id: row.id,
    filename: row.filename,
    contentType: row.contentType,
    bytes: Number(row.bytes),
    chunks: row.chunks,
    checksum: row.checksum,
    ...(row.externalId !== null && row.externalId !== undefined ? { externalId: row.externalId } : {}),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    metadata: row.metadata ?? {},
    ...(row.text !== undefined ? { text: row.text } : {}),
  };
}

function uploaded(row: DocumentRow): Omit<UploadedDocument, 'outcome' | 'embedding'> {
  return {
    id: row.id,
    filename: row.filename,
    contentType: row.contentType,
    bytes: Number(row.bytes),
    chunks: row.chunks,
    ...(row.externalId !== null && row.externalId !== undefined ? { externalId: row.externalId } : {}),
    metadata: row.metadata ?? {},
  };
}
