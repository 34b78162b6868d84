import { ArchiveRefusal, ExtractionError } from '@app/extraction';
import type { ExtractionFeature, ExtractionService } from '@app/extraction';
import { FileRejection } from '../search.errors';
import { DocumentRefusal, DocumentRefusalCode } from './document-refusal';
import type { DocumentJob, HtmlTextJob, PreparedDocument } from './search.extraction-jobs';

/**
 * Search's job kinds in the extraction children (search.extraction-jobs.ts: 'document', 'html-text'), and its
 * refusal crossing back from them by name.
 */
export const SEARCH_EXTRACTION: ExtractionFeature = {
  jobs: require.resolve('./search.extraction-jobs'),
  errors: {
    DocumentRefusal: (e) => new DocumentRefusal(e.reason as DocumentRefusalCode, e.message),
  },
};

/**
 * A search upload's text and chunks, every type (plain text, CSV and JSON too): sniffed, decoded, parsed,
 * normalised and chunked in a child, under the same limits as any parser, so none of that work — which
 * grows with the file — runs on the API's event loop. Throws DocumentRefusal (415, empty), ArchiveRefusal,
 * ExtractionError or ExtractionBusyError (503).
 */
export function prepareDocument(
  extraction: ExtractionService,
  data: Buffer,
  filename: string,
  chunking: { chunkChars: number; chunkOverlapChars: number },
): Promise<PreparedDocument> {
  return extraction.run<PreparedDocument, Omit<DocumentJob, 'maxTextChars'>>({
    kind: 'document',
    data,
    filename,
    archive: extraction.archiveLimits,
    ...chunking,
  });
}

/** The visible text of an HTML document, in a child. */
export function htmlText(extraction: ExtractionService, html: string): Promise<string> {
  return extraction.run<string, Omit<HtmlTextJob, 'maxTextChars'>>({ kind: 'html-text', html });
}

export interface PreparedText {
  contentType: string;
  text: string;
  chunks: string[];
  title?: string;
  language?: string;
}

/**
 * The text and chunks of an uploaded file, whatever its type. Everything that grows with the file — sniffing
 * (decoding, a JSON parse), parsing (PDF, docx, HTML), normalising (Stream-Safe Text Format, NFC) and
 * chunking — runs in an extraction child under its CPU, memory and time limits (search.extraction-jobs.ts
 * prepareDocument); here the chunks are only sliced out of the text by the offsets the child sent.
 * Refusals become this file's rejection: UNSUPPORTED_MEDIA_TYPE (415), EMPTY_DOCUMENT (400), ARCHIVE_REFUSED
 * or EXTRACTION_FAILED (422), with the reason. ExtractionBusyError (503) is left to fail the request: nothing
 * of it is stored.
 */
export async function extractText(
  data: Buffer,
  filename: string,
  extraction: ExtractionService,
  chunking: { chunkChars: number; chunkOverlapChars: number },
): Promise<PreparedText> {
  try {
    const { contentType, text, ranges, title, language } = await prepareDocument(
      extraction,
      data,
      filename,
      chunking,
    );
    const chunks = new Array<string>(ranges.length / 2);
    for (let i = 0; i < chunks.length; i++) chunks[i] = text.slice(ranges[2 * i], ranges[2 * i + 1]);
    return { contentType, text, chunks, title, language };
  } catch (err) {
    if (err instanceof DocumentRefusal) throw new FileRejection(err.code, err.message);
    if (err instanceof ArchiveRefusal)
      throw new FileRejection('ARCHIVE_REFUSED', err.message, undefined, {
        reason: err.reason,
        ...err.details,
      });
    if (err instanceof ExtractionError)
      throw new FileRejection('EXTRACTION_FAILED', err.message, undefined, { reason: err.reason });
    throw err;
  }
}
