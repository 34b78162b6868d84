import { fileTypeFromBuffer } from 'file-type';
import { extname } from 'node:path';
import { DocumentRefusal } from './document-refusal';

export const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** The binary types a parser reads, by the extension file-type detects them as (its mime type is theirs). */
export const PARSED_TYPES = {
  pdf: 'application/pdf',
  docx: DOCX_TYPE,
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  odp: 'application/vnd.oasis.opendocument.presentation',
  epub: 'application/epub+zip',
  rtf: 'application/rtf',
} as const;

export type ParsedType = (typeof PARSED_TYPES)[keyof typeof PARSED_TYPES];

/**
 * The accepted list (api.md): text, markdown, html, csv, json, and the parsed ones — pdf, docx, xlsx,
 * pptx, odt, ods, odp, epub, rtf.
 */
export type DocumentType =
  'text/plain' | 'text/markdown' | 'text/html' | 'text/csv' | 'application/json' | ParsedType;

export type Sniffed =
  | { contentType: ParsedType; binary: true }
  | { contentType: Exclude<DocumentType, ParsedType>; binary: false; text: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decides the type from the bytes, never from the name or the part's Content-Type: binary formats by
 * their signature (file-type: `{\rtf`, `%PDF`, and for zip containers the `mimetype` entry of OpenDocument
 * and EPUB or the `[Content_Types].xml` of Office Open XML), text by decoding UTF-8 strictly and classifying the content. The
 * extension only chooses between text flavours the content is consistent with (a `.csv` that is
 * not delimited is plain text). Anything else is a 415 for this file. Runs in the extraction child (a
 * 19 MiB text is decoded, and a JSON one parsed, there: never on the API's event loop).
 */
export async function sniffDocument(data: Uint8Array, filename: string): Promise<Sniffed> {
  const detected = await fileTypeFromBuffer(data);
  if (detected) {
    if (Object.hasOwn(PARSED_TYPES, detected.ext))
      return { contentType: PARSED_TYPES[detected.ext as keyof typeof PARSED_TYPES], binary: true };
    throw new DocumentRefusal(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content is ${detected.mime}, which is not an accepted document type`,
    );
  }
  let text: string;
  try {
    text = utf8.decode(data); // a leading BOM is dropped
  } catch {
    throw new DocumentRefusal(
      'UNSUPPORTED_MEDIA_TYPE',
      'Content is neither a known document format nor UTF-8 text',
    );
  }
  if (looksBinary(text))
    throw new DocumentRefusal('UNSUPPORTED_MEDIA_TYPE', 'Content is binary, not an accepted document type');
  if (text.startsWith('#!'))
    throw new DocumentRefusal('UNSUPPORTED_MEDIA_TYPE', 'Content is an executable script');
  return { contentType: classifyText(text, extname(filename).toLowerCase()), binary: false, text };
}

function looksBinary(text: string): boolean {
  if (text.includes('\u0000')) return true;
  // eslint-disable-next-line no-control-regex -- counting control characters is the point
  const controls = text.match(/[\u0001-\u0008\u000e-\u001f\u007f]/g)?.length ?? 0;
  return controls > Math.max(4, text.length / 1000);
}

const HTML_SIGNATURE = /^\s*(?:<!--[\s\S]*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])/i;
const HTML_TAG =
  /<\/?(?:p|div|span|a|h[1-6]|ul|ol|li|table|tr|td|br|section|article|main|title|meta|script|style)\b[^>]*>/i;

export function classifyText(text: string, ext: string): Exclude<Sniffed, { binary: true }>['contentType'] {
  const trimmed = text.trim();
  if ((trimmed.startsWith('{') || trimmed.startsWith('[')) && isJson(trimmed)) return 'application/json';
  if (HTML_SIGNATURE.test(text) || ((ext === '.html' || ext === '.htm') && HTML_TAG.test(text)))
    return 'text/html';
  if (looksDelimited(text, ext === '.csv' || ext === '.tsv')) return 'text/csv';
  if (ext === '.md' || ext === '.markdown' || ext === '.mdown' || looksLikeMarkdown(text))
    return 'text/markdown';
  return 'text/plain';
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Every sampled line has the same non-zero number of one delimiter (quoted fields aside). */
function looksDelimited(text: string, claimed: boolean): boolean {
  // the first 50 lines are read from the first 64 KiB (not by splitting a 19 MiB text into a million lines);
  // a line the sample cuts off is left out
  const sample = text.length > 65536 ? text.slice(0, text.lastIndexOf('\n', 65536) + 1) : text;
  const lines = sample
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .slice(0, 50);
  if (lines.length < (claimed ? 1 : 3)) return false;
  return [',', ';', '\t', '|'].some((d) => {
    const counts = lines.map((l) => l.replace(/"(?:[^"]|"")*"/g, '').split(d).length - 1);
    return counts[0] > 0 && counts.every((c) => c === counts[0]);
  });
}

function looksLikeMarkdown(text: string): boolean {
  const sample = text.slice(0, 20000);
  let signals = 0;
  if (/^#{1,6}\s+\S/m.test(sample)) signals++;
  if (/^```/m.test(sample)) signals++;
  if (/\[[^\]\n]+\]\([^)\s]+\)/.test(sample)) signals++;
  if ((sample.match(/^\s*[-*+]\s+\S/gm)?.length ?? 0) >= 2) signals++;
  return signals >= 2;
}
