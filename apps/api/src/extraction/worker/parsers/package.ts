// What the zip-based parsers (xlsx, pptx, OpenDocument, EPUB) share: the archive's parts by name, each
// inflated as a stream and fed to a streaming XML tokenizer (htmlparser2 in xmlMode: a state machine, no
// recursion, no DTD or entity expansion beyond XML's five and numeric references), a bound on element
// nesting, and a bounded text buffer. Runs in the extraction child only. No @app imports.
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { Parser } from 'htmlparser2';
import {
  entryBytes,
  inspectArchive,
  verifyInflatedSizes,
  type ZipDirectory,
  type ZipEntry,
} from '../../zip-directory';
import { OutputTooLarge } from '../output-too-large';
import type { ArchiveLimitsMessage } from '../protocol';

/** Deeper element nesting than any office document or e-book uses: refused (parse_error), not followed. */
export const MAX_XML_DEPTH = 256;

/** The document is not what its format says (a part missing, nesting too deep…): 422 parse_error. */
export class DocumentFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DocumentFormatError';
  }
}

/**
 * Text gathered under a limit: refused (OutputTooLarge, 422 text_too_large) the moment it passes
 * `limit` characters, never after a parser has built something larger. Short pieces are joined into
 * 64 KiB runs, so a million cells do not make a million-element array.
 */
export class TextSink {
  private readonly runs: string[] = [];
  private run = '';
  private total = 0;

  constructor(readonly limit: number) {}

  get length(): number {
    return this.total;
  }

  push(text: string): void {
    if (!text) return;
    this.total += text.length;
    if (this.total > this.limit) throw new OutputTooLarge(this.limit);
    this.run += text;
    if (this.run.length >= 65536) {
      this.runs.push(this.run);
      this.run = '';
    }
  }

  /** Counts `chars` against the limit without keeping them (text held elsewhere until it is pushed). */
  reserve(chars: number): void {
    if (this.total + chars > this.limit) throw new OutputTooLarge(this.limit);
  }

  toString(): string {
    return this.runs.join('') + this.run;
  }
}

/** An element's name or attribute name without its namespace prefix (`text:p` → `p`). */
export function local(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

/** An attribute by its local name (`table:name`, `r:id`: whatever prefix the document chose). */
export function attr(attrs: Record<string, string>, name: string): string | undefined {
  for (const key in attrs) if (local(key) === name) return attrs[key];
  return undefined;
}

/** A relationship id (`r:id`: namespaced, unlike an element's own `id` beside it, as on a slide's `sldId`). */
export function relationshipId(attrs: Record<string, string>): string | undefined {
  for (const key in attrs) if (key.includes(':') && local(key) === 'id') return attrs[key];
  return undefined;
}

export interface XmlHandler {
  /** An element opened; `name` is its local name. */
  open?(name: string, attrs: Record<string, string>): void;
  close?(name: string): void;
  /** Character data (entities decoded, CDATA included), in pieces as they arrive. */
  text?(text: string): void;
}

/**
 * A zip package, its central directory judged (inspectArchive) and every entry's real inflated size
 * counted (verifyInflatedSizes) before any part is parsed: the checks, limits and refusals of docx.
 */
export class ZipPackage {
  private readonly byName = new Map<string, ZipEntry>();

  private constructor(
    private readonly data: Buffer,
    private readonly dir: ZipDirectory,
  ) {
    // the last of two same-named entries, as JSZip (mammoth's reader) keeps
    for (const e of dir.entries) this.byName.set(e.name, e);
  }

  static async open(data: Buffer, limits: ArchiveLimitsMessage): Promise<ZipPackage> {
    const dir = inspectArchive(data, limits);
    await verifyInflatedSizes(data, limits);
    return new ZipPackage(data, dir);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  private entry(name: string): ZipEntry {
    const e = this.byName.get(name);
    if (!e) throw new DocumentFormatError(`the part ${JSON.stringify(name.slice(0, 200))} is missing`);
    return e;
  }

  /** A part's bytes, inflated as they are read. */
  private stream(name: string): Readable {
    const e = this.entry(name);
    const bytes = entryBytes(this.data, this.dir, e);
    const source = Readable.from([bytes], { objectMode: false });
    return e.method === 0 ? source : source.pipe(createInflateRaw());
  }

  /** A part as UTF-8 text (its size was verified against the archive limits). */
  async text(name: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.stream(name)) chunks.push(chunk as Buffer);
    return new TextDecoder('utf-8').decode(Buffer.concat(chunks));
  }

  /**
   * Streams a part through the XML tokenizer into `handler`, chunk by chunk (the part is never whole in
   * memory as text). Nesting deeper than MAX_XML_DEPTH is refused: the tokenizer keeps a stack of open
   * elements, and nothing a document holds needs more.
   */
  async walk(name: string, handler: XmlHandler): Promise<void> {
    let depth = 0;
    const parser = new Parser(
      {
        onopentag(tag, attrs) {
          if (++depth > MAX_XML_DEPTH)
            throw new DocumentFormatError(
              `elements are nested more than ${MAX_XML_DEPTH} deep in ${JSON.stringify(name.slice(0, 200))}`,
            );
          handler.open?.(local(tag), attrs);
        },
        onclosetag(tag) {
          depth--;
          handler.close?.(local(tag));
        },
        ontext(text) {
          handler.text?.(text);
        },
      },
      { xmlMode: true, decodeEntities: true },
    );
    const decoder = new TextDecoder('utf-8');
    for await (const chunk of this.stream(name))
      parser.write(decoder.decode(chunk as Buffer, { stream: true }));
    parser.write(decoder.decode());
    parser.end();
  }

  /**
   * Relationship targets of a part (OOXML `_rels/<part>.rels`), by id, resolved to entry names; external
   * targets left out. Absent rels: none.
   */
  async relationships(part: string): Promise<Map<string, { type: string; target: string }>> {
    const rels = posix.join(posix.dirname(part), '_rels', `${posix.basename(part)}.rels`);
    const found = new Map<string, { type: string; target: string }>();
    if (!this.has(rels)) return found;
    await this.walk(rels, {
      open(name, attrs) {
        if (name !== 'Relationship' || attr(attrs, 'TargetMode') === 'External') return;
        const id = attr(attrs, 'Id');
        const target = attr(attrs, 'Target');
        if (id && target)
          found.set(id, { type: attr(attrs, 'Type') ?? '', target: resolvePart(part, target) });
      },
    });
    return found;
  }
}

/** A part name from a reference relative to another part (`../notesSlides/n1.xml`, `/xl/x.xml`, `a%20b.xhtml`). */
export function resolvePart(from: string, href: string): string {
  let path = href.split('#')[0];
  try {
    path = decodeURIComponent(path);
  } catch {
    // not percent-encoded after all: taken as written
  }
  const joined = path.startsWith('/') ? path : posix.join(posix.dirname(from), path);
  return posix.normalize(joined).replace(/^(\.\.\/|\/)+/, '');
}

/** The package's main part, from its `_rels/.rels` officeDocument relationship (OOXML), else `fallback`. */
export async function mainPart(pkg: ZipPackage, fallback: string): Promise<string> {
  for (const rel of (await pkg.relationships('')).values())
    if (rel.type.endsWith('/officeDocument')) return rel.target;
  return fallback;
}
