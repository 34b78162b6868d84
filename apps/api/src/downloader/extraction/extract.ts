import { fileTypeFromBuffer } from 'file-type';
import { ExtractionFailedError } from '../downloader.errors';

const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** A document type the extraction children parse (the binary types search uploads accept). */
export type DocumentKind = 'pdf' | 'docx';

/**
 * Whether a fetched body is a PDF or docx: by its declared type, else (a binary served as
 * application/octet-stream, application/zip…) by its signature, as search uploads are sniffed. Text
 * types are never sniffed: an HTML page stays a page.
 */
export async function documentKind(body: Buffer, contentType: string): Promise<DocumentKind | undefined> {
  const t = mediaType(contentType);
  if (t === 'application/pdf') return 'pdf';
  if (t === DOCX_TYPE) return 'docx';
  if (isTextual(contentType) || body.length === 0) return undefined;
  const detected = await fileTypeFromBuffer(body);
  if (detected?.mime === 'application/pdf') return 'pdf';
  if (detected?.ext === 'docx') return 'docx';
  return undefined;
}

export function mediaType(contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase();
}

export function isHtml(contentType: string): boolean {
  const t = mediaType(contentType);
  return t === 'text/html' || t === 'application/xhtml+xml';
}

export function isJson(contentType: string): boolean {
  const t = mediaType(contentType);
  return t === 'application/json' || t.endsWith('+json');
}

/** Types whose bytes are text we can return as text. */
export function isTextual(contentType: string): boolean {
  const t = mediaType(contentType);
  return (
    t.startsWith('text/') ||
    isJson(t) ||
    t === 'application/xml' ||
    t.endsWith('+xml') ||
    t === 'application/javascript' ||
    t === 'application/ecmascript' ||
    t === 'application/x-ndjson' ||
    t === 'application/yaml'
  );
}

/**
 * The charset a text body is decoded with: the one of Content-Type, else a <meta charset> in the first
 * bytes, else UTF-8 (also for a label TextDecoder does not know). Every format uses this decision — the
 * PDF renderer hands it to Chromium, which would otherwise guess windows-1252 for an undeclared page.
 */
export function charsetOf(body: Buffer, contentType: string): string {
  let charset = /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType)?.[1];
  if (!charset && isHtml(contentType)) {
    const head = body.subarray(0, 2048).toString('latin1');
    charset =
      /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head)?.[1] ??
      /<meta[^>]+content\s*=\s*["'][^"']*charset=([\w.:-]+)/i.exec(head)?.[1];
  }
  try {
    return new TextDecoder(charset ?? 'utf-8').encoding;
  } catch {
    return 'utf-8'; // unknown label
  }
}

/** Decodes with charsetOf's decision. */
export function decodeText(body: Buffer, contentType: string): string {
  return new TextDecoder(charsetOf(body, contentType)).decode(body);
}

/** The Content-Type with the charset text is decoded with made explicit (non-text types unchanged). */
export function withCharset(body: Buffer, contentType: string): string {
  if (!isHtml(contentType) && !mediaType(contentType).startsWith('text/')) return contentType;
  return `${mediaType(contentType)}; charset=${charsetOf(body, contentType)}`;
}

export type TextFormat = 'text' | 'markdown' | 'html';

/** Turns a page into its article as text or markdown: the extraction pool (a child process) in the app. */
export type ArticleConverter = (html: string, url: string, format: 'text' | 'markdown') => Promise<string>;

/**
 * The text/markdown/html representation of a fetched body; binary content cannot be one. HTML is parsed
 * (Readability, turndown) by `article`, out of the API process; everything else here is decoding.
 */
export async function convert(
  format: TextFormat,
  body: Buffer,
  contentType: string,
  url: string,
  article: ArticleConverter,
): Promise<string> {
  if (!isTextual(contentType)) {
    throw new ExtractionFailedError(
      `Content of type ${mediaType(contentType)} cannot be converted to ${format}`,
      {
        contentType: mediaType(contentType),
        format,
      },
    );
  }
  const source = decodeText(body, contentType);
  if (isHtml(contentType)) {
    if (format === 'html') return source;
    return article(source, url, format);
  }
  if (format === 'html') {
    throw new ExtractionFailedError(`Content of type ${mediaType(contentType)} is not an HTML document`, {
      contentType: mediaType(contentType),
      format,
    });
  }
  if (format === 'markdown' && isJson(contentType)) return '```json\n' + prettyJson(source) + '\n```';
  return source;
}

function prettyJson(source: string): string {
  try {
    return JSON.stringify(JSON.parse(source), null, 2);
  } catch {
    return source;
  }
}

/** Pages larger than this are not judged app shells (they carry their content); also bounds the scan below. */
export const APP_SHELL_MAX_BYTES = 256 * 1024;
/** Fewer visible characters than this (scripts, styles, noscript and tags aside) is "little text". */
const APP_SHELL_MAX_TEXT = 200;
/** Elements whose content is not visible text. */
const RAW_TEXT = new Set(['script', 'style', 'noscript', 'template', 'title']);

/**
 * Whether served HTML looks like a single-page app's shell that script fills in (render=auto): a script,
 * an empty root element (`<div id="root"></div>`, `<main id="app"></main>`, `<app-root></app-root>`) and
 * little visible text. Bounded work on the event loop: only pages up to APP_SHELL_MAX_BYTES are looked at,
 * in one forward pass over the tags (indexOf, no backtracking regular expression over the page).
 */
export function looksLikeAppShell(body: Buffer, contentType: string): boolean {
  if (!isHtml(contentType) || body.length > APP_SHELL_MAX_BYTES) return false;
  const html = decodeText(body, contentType);
  const lower = html.toLowerCase();
  let visible = 0;
  let scripts = false;
  let emptyRoot = false;
  let i = 0;
  while (i < html.length) {
    const lt = lower.indexOf('<', i);
    const text = lt === -1 ? html.slice(i) : html.slice(i, lt);
    visible += text.replace(/&#?\w{1,10};/g, ' ').replace(/\s+/g, '').length;
    if (visible >= APP_SHELL_MAX_TEXT) return false;
    if (lt === -1) break;
    if (lower.startsWith('<!--', lt)) {
      const end = lower.indexOf('-->', lt + 4);
      if (end === -1) break;
      i = end + 3;
      continue;
    }
    const gt = lower.indexOf('>', lt);
    if (gt === -1) break;
    const name = /^<([a-z][a-z0-9-]*)/.exec(lower.slice(lt, Math.min(gt + 1, lt + 64)))?.[1];
    i = gt + 1;
    if (!name) continue;
    if (RAW_TEXT.has(name)) {
      if (name === 'script') scripts = true;
      const end = lower.indexOf(`</${name}`, i);
      if (end === -1) break;
      const close = lower.indexOf('>', end);
      if (close === -1) break;
      i = close + 1;
      continue;
    }
    const rootLike =
      name.includes('-') ||
      ((name === 'div' || name === 'main' || name === 'section') && /\sid\s*=/.test(lower.slice(lt, gt)));
    if (rootLike && !emptyRoot) {
      // empty: only whitespace up to its own end tag
      const after = lower.slice(i, i + 256).trimStart();
      if (after.startsWith(`</${name}`)) emptyRoot = true;
    }
  }
  return scripts && emptyRoot;
}
