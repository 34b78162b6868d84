import { AppError, capacityExceeded } from '@app/errors';

/** Why a document could not be read; shown as `details.reason` of 422 EXTRACTION_FAILED. */
export type ExtractionFailureReason =
  /** the parser rejected the file (corrupt, encrypted, not what it claims) */
  | 'parse_error'
  /** the zip structure itself is unreadable or inconsistent */
  | 'corrupt_archive'
  | 'text_too_large'
  /** the parser child was killed at a limit, or died */
  | 'memory'
  | 'timeout'
  | 'cpu'
  | 'crash';

/** The document could not be turned into text; features map it to their 422 EXTRACTION_FAILED. */
export class ExtractionError extends Error {
  constructor(
    readonly reason: ExtractionFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'ExtractionError';
  }
}

/** Every parser child is busy and EXTRACTION_QUEUE_MAX extractions already wait (or the pool is closing). */
export class ExtractionBusyError extends AppError {
  constructor(readonly queueMax: number) {
    super(
      ...capacityExceeded({
        pool: 'extraction',
        message: 'All document parsers are busy, try again shortly',
        retryAfterSeconds: 1,
        limit: queueMax,
      }),
    );
  }
}
