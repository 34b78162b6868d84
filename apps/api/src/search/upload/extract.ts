import { ExtractionError } from '@app/extraction/extraction.errors';
import type { ExtractionService } from '@app/extraction/extraction.service';
import { ArchiveRefusal } from '@app/extraction/zip-directory';
import { FileRejection } from '../search.errors';
import { DocumentRefusal } from './document-refusal';

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
 * chunking — runs in an extraction child under its CPU, memory and time limits (worker/jobs.ts
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
    const { contentType, text, ranges, title, language } = await extraction.prepareDocument(
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
