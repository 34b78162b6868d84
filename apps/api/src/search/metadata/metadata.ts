import { ValidationFailedError } from '@app/validation';

/**
 * Per-document metadata (issue 23, item 1): a flat JSON object of user keys whose values are strings, finite
 * numbers, booleans, dates (a string in ISO 8601 form, kept as its UTC ISO string so dates compare in text
 * order) or lists of strings; beside them the keys Atrium sets itself (SYSTEM_KEYS), which a user cannot set.
 * Every bound below is checked before anything is stored.
 */
export type MetadataValue = string | number | boolean | string[];
export type Metadata = Record<string, MetadataValue>;

export const METADATA_LIMITS = {
  /** The multipart `metadata` field as a whole (the parser's field limit). */
  fieldBytes: 64 * 1024,
  /** One document's user metadata, serialised. */
  documentBytes: 8 * 1024,
  /** User keys per document. */
  keys: 32,
  /** Characters of a string value (and of a list entry). */
  stringChars: 1024,
  /** Entries of a string list. */
  listItems: 100,
  /** Nesting of the JSON text: the object of files, a file's object, a list. */
  depth: 3,
} as const;

/** Keys: a letter or underscore, then letters, digits, `_` or `-`; 64 characters at most. */
export const METADATA_KEY = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

/** Set by Atrium on every document; refused as user keys. */
export const SYSTEM_KEYS = ['contentType', 'type', 'bytes', 'uploadedAt', 'title', 'language'] as const;
const SYSTEM = new Set<string>(SYSTEM_KEYS);

/** A date or date-time in ISO 8601 form: `2026-01-01`, `2026-01-01T10:00`, `2026-01-01T10:00:00.5+02:00`. */
export const ISO_DATE =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;
/** How a date is stored: UTC, milliseconds (what Date#toISOString gives). */
export const STORED_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** The same, for PostgreSQL's `~` (POSIX classes). */
export const STORED_DATE_SQL = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$';

/** A string in ISO form as a stored date, or undefined when it is no valid date. */
export function asDate(value: string): string | undefined {
  if (!ISO_DATE.test(value)) return undefined;
  const [y, m, d] = value.slice(0, 10).split('-').map(Number);
  // 2026-02-30 would roll over to March: refused as a date (it stays a string)
  if (m < 1 || m > 12 || d < 1 || new Date(Date.UTC(y, m - 1, d)).getUTCDate() !== d) return undefined;
  let iso = value.length === 10 ? `${value}T00:00:00` : value.replace(' ', 'T');
  if (!/(?:Z|[+-]\d{2}:?\d{2})$/.test(iso)) iso += 'Z'; // no offset: UTC, whatever the server's zone
  const date = new Date(iso);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() > 9999) return undefined;
  return date.toISOString();
}

/** Refuses JSON nested deeper than `max` before it is parsed (brackets outside strings are counted). */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function invalid(field: string, message: string): ValidationFailedError {
  return new ValidationFailedError({ [field]: [message] });
}

/**
 * One document's user metadata, checked: `field` names it in the error (`metadata["policy.pdf"]`). With
 * `allowNull`, a null value stands for "remove this key" (PATCH) and is kept as null.
 */
export function validateMetadata(
  input: unknown,
  field: string,
  opts: { allowNull?: boolean } = {},
): Record<string, MetadataValue | null> {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw invalid(field, `${field} must be an object of keys to values`);
  const entries = Object.entries(input as Record<string, unknown>);
  if (entries.length > METADATA_LIMITS.keys)
    throw invalid(field, `${field} has ${entries.length} keys; at most ${METADATA_LIMITS.keys} are allowed`);
  const out: Record<string, MetadataValue | null> = {};
  for (const [key, value] of entries) {
    const at = `${field}.${key.length > 64 ? `${key.slice(0, 64)}…` : key}`;
    if (!METADATA_KEY.test(key))
      throw invalid(at, `${at}: keys are a letter or _, then letters, digits, _ or -, at most 64 characters`);
    if (SYSTEM.has(key)) throw invalid(at, `${at}: "${key}" is set by Atrium and cannot be given`);
    out[key] = metadataValue(value, at, opts.allowNull === true);
  }
  if (Buffer.byteLength(JSON.stringify(out)) > METADATA_LIMITS.documentBytes)
    throw invalid(field, `${field} is larger than ${METADATA_LIMITS.documentBytes} bytes once stored`);
  return out;
}

function metadataValue(value: unknown, at: string, allowNull: boolean): MetadataValue | null {
  if (value === null && allowNull) return null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(at, `${at} must be a finite number`);
    return value;
  }
  if (typeof value === 'string') {
    if (value.length > METADATA_LIMITS.stringChars)
      throw invalid(at, `${at} is longer than ${METADATA_LIMITS.stringChars} characters`);
    return asDate(value) ?? value;
  }
  if (Array.isArray(value)) {
    if (value.length > METADATA_LIMITS.listItems)
      throw invalid(
        at,
        `${at} has ${value.length} entries; at most ${METADATA_LIMITS.listItems} are allowed`,
      );
    return value.map((item, i) => {
      if (typeof item !== 'string') throw invalid(at, `${at}[${i}]: a list holds strings only`);
      if (item.length > METADATA_LIMITS.stringChars)
        throw invalid(at, `${at}[${i}] is longer than ${METADATA_LIMITS.stringChars} characters`);
      return item;
    });
  }
  throw invalid(at, `${at} must be a string, number, boolean, date (ISO 8601 string) or list of strings`);
}

/**
 * The multipart `metadata` field: JSON keyed by filename, each value one file's metadata. Refused (400
 * VALIDATION_FAILED naming the field or key) when truncated by the field limit, nested too deep, not JSON,
 * for more files than an upload may hold, or when any file's metadata breaks a bound.
 */
export function parseUploadMetadata(
  text: string,
  truncated: boolean,
  maxFiles: number,
): Map<string, Metadata> {
  if (truncated || Buffer.byteLength(text) > METADATA_LIMITS.fieldBytes)
    throw invalid('metadata', `metadata is larger than ${METADATA_LIMITS.fieldBytes} bytes`);
  if (jsonDepthExceeds(text, METADATA_LIMITS.depth))
    throw invalid('metadata', `metadata is nested deeper than ${METADATA_LIMITS.depth} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid('metadata', 'metadata must be JSON: {"<filename>": {"<key>": <value>, …}, …}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw invalid('metadata', 'metadata must be a JSON object keyed by filename');
  const files = Object.entries(parsed as Record<string, unknown>);
  if (files.length > maxFiles)
    throw invalid('metadata', `metadata names ${files.length} files; an upload holds at most ${maxFiles}`);
  const out = new Map<string, Metadata>();
  for (const [filename, value] of files)
    out.set(filename, validateMetadata(value, `metadata["${filename}"]`) as Metadata);
  return out;
}

/** A short name of a content type, the `type` key (`pdf`, `docx`, `html`, `markdown`, `text`, `csv`, `json`). */
export function shortType(contentType: string): string {
  const known: Record<string, string> = {
    'application/pdf': 'pdf',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
    'text/html': 'html',
    'text/markdown': 'markdown',
    'text/plain': 'text',
    'text/csv': 'csv',
    'application/json': 'json',
  };
  if (known[contentType]) return known[contentType];
  const sub = contentType.split(';')[0].split('/').pop() ?? contentType;
  return sub.split('.').pop() ?? sub;
}

/** What Atrium records of every document, beside the user's keys. */
export function systemMetadata(doc: {
  contentType: string;
  bytes: number;
  uploadedAt: Date;
  title?: string;
  language?: string;
}): Metadata {
  return {
    contentType: doc.contentType,
    type: shortType(doc.contentType),
    bytes: doc.bytes,
    uploadedAt: doc.uploadedAt.toISOString(),
    ...(doc.title ? { title: doc.title } : {}),
    ...(doc.language ? { language: doc.language } : {}),
  };
}
