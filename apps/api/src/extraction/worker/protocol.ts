// The messages between the extraction pool (parent) and its child processes, over Node's IPC channel
// with the "advanced" (structured clone) serialization, so Buffers travel as bytes, not JSON; and the types a
// feature's job handlers are written against (re-exported by the module's index, @app/extraction).

export interface JobMessage {
  type: 'job';
  id: number;
  job: unknown;
}

/** A failure the child caught: the parser threw or a document limit was met. The child lives on. */
export interface JobError {
  /**
   * ArchiveRefusal, ZipFormatError, OutputTooLarge, or the handler's own error name (a feature maps its own
   * names to its errors through ExtractionModule.forFeature's `errors`).
   */
  name: string;
  message: string;
  reason?: string;
  details?: Record<string, unknown>;
}

/**
 * A job's answer. `rssBytes`: the child's resident memory right after the job (process.memoryUsage.rss()),
 * so the pool can retire a child a document left grown without a reading of its own.
 */
export type ChildMessage =
  /** `rssBytes`: the child's resident memory before its first job (its baseline). */
  | { type: 'ready'; rssBytes?: number }
  | { type: 'result'; id: number; ok: true; value: unknown; rssBytes?: number }
  | { type: 'result'; id: number; ok: false; error: JobError; rssBytes?: number };

/** Zip limits a docx is held to (the same in the parent's directory check and the child's counting). */
export interface ArchiveLimitsMessage {
  maxEntries: number;
  maxUncompressedBytes: number;
  maxRatio: number;
}

/**
 * What a child can be asked to do: a kind (one registered handler answers it) and the longest text it may
 * answer with. A handler that answers with a string longer than `maxTextChars` is refused by the child
 * (OutputTooLarge, reason text_too_large); a handler answering with anything else bounds it itself.
 */
export interface ExtractionJob {
  kind: string;
  maxTextChars: number;
}

/** The extraction module's own kinds: a PDF's or a docx's text. */
export interface PdfJob extends ExtractionJob {
  kind: 'pdf';
  data: Uint8Array;
}
export interface DocxJob extends ExtractionJob {
  kind: 'docx';
  data: Uint8Array;
  archive: ArchiveLimitsMessage;
}

/**
 * What the child hands every handler: the extraction module's parsers and limits, so a feature's handler
 * module needs no runtime import of extraction code (the child resolves modules without the path aliases:
 * a handler module imports `@app/extraction` for types only).
 */
export interface ExtractionKit {
  /** A PDF's text, pages separated by a blank line (unpdf, loaded on first use). */
  pdfText(data: Uint8Array): Promise<string>;
  /** A docx's text (mammoth, after the zip's real inflated sizes are counted against `archive`). */
  docxText(data: Uint8Array, archive: ArchiveLimitsMessage): Promise<string>;
  /** Judges a zip's central directory before anything is inflated (throws ArchiveRefusal / ZipFormatError). */
  inspectArchive(data: Uint8Array, archive: ArchiveLimitsMessage): void;
  /**
   * The text of an xlsx, pptx, odt, ods, odp, epub or rtf file (worker/parsers/; the zip-based ones after the
   * archive checks), at most `maxTextChars`; EPUB chapters go through the caller's `htmlToText`.
   */
  moreDocumentText(
    contentType: string,
    data: Uint8Array,
    archive: ArchiveLimitsMessage,
    maxTextChars: number,
    htmlToText: (html: string) => string,
  ): Promise<string>;
  /** Throws OutputTooLarge (reason text_too_large) when `text` is longer than `maxTextChars`. */
  limitText(text: string, maxTextChars: number): void;
}

/**
 * One kind's handler, run in a child: its answer goes back to the parent by structured clone (strings,
 * Buffers, typed arrays, plain objects). `job` is `never` here so a handler may declare its own job type.
 */
export type ExtractionJobHandler = (job: never, kit: ExtractionKit) => Promise<unknown>;

/**
 * What a handler module exports as `extractionJobs`: kind → handler. Heavy parsers are imported inside the
 * handler (`await import(...)`), so a child loads them only when a job needs them.
 */
export type ExtractionJobHandlers = Readonly<Record<string, ExtractionJobHandler>>;
