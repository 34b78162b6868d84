import { setImmediate } from 'node:timers/promises';
import { ExtractionError } from '@app/extraction/extraction.errors';
import type { ExtractionService } from '@app/extraction/extraction.service';
import { ArchiveRefusal } from '@app/extraction/zip-directory';
import { FileRejection } from '../search.errors';
import { Sniffed } from './sniff';

/**
 * Normalises extracted text for storage and search: NFC, LF line ends, no control characters (Postgres
 * text cannot hold NUL) and none of the private-use code points that mark hits in snippets.
 */
export function normaliseText(text: string): string {
  return normaliseLines(text)
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Text is normalised in segments of about this many characters, the event loop getting a turn between them. */
const SEGMENT_CHARS = 1 << 20;

/**
 * normaliseText for the request path: a large text is cut after a line end into ~1 Mi-character segments,
 * each normalised (every rule but the blank-line collapse stays within a line, and NFC never composes
 * across a line end), with a turn of the event loop between them — a 19 MiB upload does not hold
 * /health/live for the whole pass. The blank-line collapse and the trim run on the joined text.
 */
export async function normaliseTextYielding(text: string): Promise<string> {
  if (text.length <= SEGMENT_CHARS) return normaliseText(text);
  const parts: string[] = [];
  for (let from = 0; from < text.length;) {
    let to = text.indexOf('\n', Math.min(from + SEGMENT_CHARS, text.length));
    to = to === -1 ? text.length : to + 1;
    parts.push(normaliseLines(text.slice(from, to)));
    from = to;
    await setImmediate();
  }
  return parts
    .join('')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function normaliseLines(text: string): string {
  return (
    text
      .normalize('NFC')
      .replace(/\r\n?/g, '\n')
      // eslint-disable-next-line no-control-regex -- stripping control characters is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\uE000\uE001]/g, '')
      .replace(/[ \t]+\n/g, '\n')
  );
}

/**
 * The text of an uploaded file. PDF, docx and HTML are parsed in the extraction pool's child processes
 * (a docx's zip directory is judged here first); plain text, markdown, CSV and JSON are used as decoded.
 * Refusals become this file's rejection: ARCHIVE_REFUSED or EXTRACTION_FAILED (422), with the reason.
 * ExtractionBusyError (503) is left to fail the request: nothing of it is stored.
 */
export async function extractText(
  sniffed: Sniffed,
  data: Buffer,
  extraction: ExtractionService,
): Promise<string> {
  let raw: string;
  try {
    if (sniffed.binary)
      raw = await extraction.documentText(sniffed.contentType === 'application/pdf' ? 'pdf' : 'docx', data);
    else raw = sniffed.contentType === 'text/html' ? await extraction.htmlText(sniffed.text) : sniffed.text;
  } catch (err) {
    if (err instanceof ArchiveRefusal)
      throw new FileRejection('ARCHIVE_REFUSED', err.message, undefined, {
        reason: err.reason,
        ...err.details,
      });
    if (err instanceof ExtractionError)
      throw new FileRejection('EXTRACTION_FAILED', err.message, undefined, { reason: err.reason });
    throw err;
  }
  const text = await normaliseTextYielding(raw);
  if (!text) throw new FileRejection('EMPTY_DOCUMENT', 'The document contains no extractable text');
  return text;
}
