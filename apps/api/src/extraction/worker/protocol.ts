// The messages between the extraction pool (parent) and its child processes, over Node's IPC channel
// with the "advanced" (structured clone) serialization, so Buffers travel as bytes, not JSON.

export interface JobMessage {
  type: 'job';
  id: number;
  job: unknown;
}

/** A failure the child caught: the parser threw or a document limit was met. The child lives on. */
export interface JobError {
  /** ArchiveRefusal, ZipFormatError, OutputTooLarge, DocumentRefusal or the parser's own error name. */
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

/** What a child can be asked to do. Every job names the longest text it may answer with. */
export type ExtractionJob =
  | { kind: 'pdf'; data: Uint8Array; maxTextChars: number }
  | { kind: 'docx'; data: Uint8Array; archive: ArchiveLimitsMessage; maxTextChars: number }
  /** Search uploads: the visible text of an HTML document. */
  | { kind: 'html-text'; html: string; maxTextChars: number }
  /**
   * Downloader: a page as text, markdown or json (`{title, text, metadata, links, images}` as JSON text), read
   * with the download's include/exclude selectors, article or whole page, and front matter.
   */
  | {
      kind: 'html-article';
      html: string;
      url: string;
      format: 'text' | 'markdown' | 'json';
      maxTextChars: number;
      page?: PageReadOptions;
    }
  /** Crawls: a page's links (JSON array of absolute URLs, at most maxLinks). */
  | { kind: 'page-links'; html: string; url: string; maxLinks: number; maxTextChars: number }
  /** Crawls: a sitemap's URLs (JSON {index, urls}, at most maxLinks). */
  | { kind: 'sitemap'; xml: string; maxLinks: number; maxTextChars: number }
  /**
   * Search uploads, every type: the whole text pipeline of one file (sniff, decode, parse, normalise, chunk),
   * answered with a PreparedDocumentMessage. `maxTextChars` bounds what a parser (pdf, docx, html) yields;
   * a text file is bounded by its size.
   */
  | {
      kind: 'document';
      data: Uint8Array;
      filename: string;
      archive: ArchiveLimitsMessage;
      maxTextChars: number;
      chunkChars: number;
      chunkOverlapChars: number;
    };

/** How the downloader reads a page (page.ts's PageOptions, restated: the protocol imports no feature code). */
export interface PageReadOptions {
  include?: string;
  exclude?: string;
  mainContent?: boolean;
  frontMatter?: boolean;
}

/** The answer to a 'document' job: the stored text and its chunks as [start, end) offsets into it. */
export interface PreparedDocumentMessage {
  contentType: string;
  text: string;
  /** Two offsets per chunk (chunker.ts chunkRanges). */
  ranges: Uint32Array;
  /** The document's own title, where it has one; its detected language (search/metadata/document-facts.ts). */
  title?: string;
  language?: string;
}
