import { AppError } from '@app/errors';

export class StoreNotFoundError extends AppError {
  constructor(name: string) {
    super(404, 'STORE_NOT_FOUND', `Store "${name}" not found`);
  }
}

export class StoreExistsError extends AppError {
  constructor(name: string) {
    super(409, 'STORE_EXISTS', `Store "${name}" already exists`);
  }
}

export class DocumentNotFoundError extends AppError {
  constructor() {
    super(404, 'DOCUMENT_NOT_FOUND', 'Document not found in this store');
  }
}

export class NotMultipartError extends AppError {
  constructor() {
    super(415, 'UNSUPPORTED_MEDIA_TYPE', 'Upload documents as multipart/form-data in the field "files"');
  }
}

export class TooManyFilesError extends AppError {
  constructor(limit: number) {
    super(
      413,
      'TOO_MANY_FILES',
      `More than ${limit} files in one upload: send at most ${limit} (UPLOAD_MAX_FILES) per request`,
      { limit },
    );
  }
}

export class MalformedMultipartError extends AppError {
  constructor() {
    super(
      400,
      'MALFORMED_MULTIPART',
      'The multipart body could not be parsed (boundary, headers or end missing)',
    );
  }
}

/**
 * Why one file of an upload was not stored. Codes and the status each stands for when every file
 * of a batch is rejected (then the response status is picked from these).
 */
export const REJECTION_STATUS = {
  INVALID_FILENAME: 400,
  FILE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  EMPTY_DOCUMENT: 400,
  /** A zip-based upload (docx, xlsx, pptx, odt, ods, odp, epub) past EXTRACTION_ZIP_* limits: details.reason zip_ratio | zip_size | zip_entries. */
  ARCHIVE_REFUSED: 422,
  /** The parser failed or its child was killed at a limit: details.reason says which. */
  EXTRACTION_FAILED: 422,
  /** The store already holds these bytes: 409, naming the document (existingDocumentId). */
  DUPLICATE_DOCUMENT: 409,
  /** Storing it ran past DATABASE_STATEMENT_TIMEOUT_MS, or the database was unavailable: try again. */
  DATABASE_TIMEOUT: 503,
  DATABASE_UNAVAILABLE: 503,
  STORAGE_FAILED: 500,
} as const;
export type RejectionCode = keyof typeof REJECTION_STATUS;

export class FileRejection extends Error {
  constructor(
    readonly code: RejectionCode,
    message: string,
    readonly existingDocumentId?: string,
    /** Safe to show: which limit, and its value (ARCHIVE_REFUSED, EXTRACTION_FAILED). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'FileRejection';
  }
}

/** A search query over SEARCH_QUERY_MAX_CHARS or SEARCH_QUERY_MAX_TERMS: refused before any SQL runs. */
export class SearchQueryTooLargeError extends AppError {
  constructor(field: string, limit: { name: string; max: number; actual: number; unit: string }) {
    const message = `${field} has ${limit.actual} ${limit.unit}; at most ${limit.max} are allowed (${limit.name})`;
    super(400, 'VALIDATION_FAILED', message, {
      fields: { [field]: [message] },
      limit: { name: limit.name, max: limit.max },
    });
  }
}

/** A search's statement ran past SEARCH_STATEMENT_TIMEOUT_MS (or waited that long for the database). */
export class SearchTimeoutError extends AppError {
  constructor(timeoutMs: number) {
    super(
      503,
      'SEARCH_TIMEOUT',
      `The search took longer than ${timeoutMs} ms and was stopped; try fewer or more specific words`,
      undefined,
      { 'Retry-After': '1' },
    );
  }
}

/** The search query cannot be parsed (an OR without a term on each side, an empty phrase, only exclusions). */
export class InvalidQueryError extends AppError {
  constructor(message: string) {
    super(400, 'INVALID_QUERY', message);
  }
}

/** A semantic or hybrid search whose query could not be embedded (the provider failed or is busy). */
export class EmbeddingsUnavailableError extends AppError {
  constructor(reason: string) {
    super(
      503,
      'EMBEDDINGS_UNAVAILABLE',
      `The query could not be embedded: ${reason}; try again, or search with mode=lexical`,
      undefined,
      { 'Retry-After': '5' },
    );
  }
}
