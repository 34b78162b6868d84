// Thrown where an uploaded file is read (sniff, extraction child): no @app imports, so the child can load it.

export type DocumentRefusalCode = 'UNSUPPORTED_MEDIA_TYPE' | 'EMPTY_DOCUMENT';

/**
 * The file is not something the store takes (its content, not its name, decides): the search feature answers
 * it as this file's rejection with the same code. Crosses the extraction child's IPC by name and `reason`.
 */
export class DocumentRefusal extends Error {
  constructor(
    readonly code: DocumentRefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'DocumentRefusal';
  }

  /** What the child's answer carries as the error's reason (protocol.ts JobError). */
  get reason(): DocumentRefusalCode {
    return this.code;
  }
}
