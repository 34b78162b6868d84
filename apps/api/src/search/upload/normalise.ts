// Runs in the extraction child (no @app imports): the API process never normalises a document's text.
import { StreamSafeText } from './stream-safe';

/** Text is normalised in segments of about this many characters (cut after a line end), to bound the copies. */
const SEGMENT_CHARS = 1 << 20;

/**
 * Normalises extracted text for storage and search: the Stream-Safe Text Format (UAX #15: a CGJ after 30
 * non-starters in a row, so NFC stays linear), NFC, LF line ends, no control characters (Postgres text cannot
 * hold NUL) and none of the private-use code points that mark hits in snippets. A large text goes through in
 * ~1 Mi-character segments cut after a line end (every rule but the blank-line collapse stays within a line,
 * NFC never composes across a line end, and one StreamSafeText carries its count across the cuts); the
 * blank-line collapse and the trim run on the joined text.
 */
export function normaliseText(text: string): string {
  const streamSafe = new StreamSafeText();
  const parts: string[] = [];
  for (let from = 0; from < text.length;) {
    let to = text.indexOf('\n', Math.min(from + SEGMENT_CHARS, text.length));
    to = to === -1 ? text.length : to + 1;
    parts.push(normaliseLines(streamSafe.push(text.slice(from, to))));
    from = to;
  }
  parts.push(normaliseLines(streamSafe.end()));
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
