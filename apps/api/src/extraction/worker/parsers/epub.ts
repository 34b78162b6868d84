// EPUB: the book's title, then each XHTML document of its spine in reading order, read by the same
// visible-text conversion as an uploaded HTML file (the caller's: search/upload/html-text.ts). The container
// and package documents are read with the streaming XML walk. Runs in the extraction child only.
import { attr, DocumentFormatError, resolvePart, TextSink, ZipPackage } from './package';

const HTML_TYPES = new Set(['application/xhtml+xml', 'text/html']);

/** The text of an .epub, at most `maxTextChars`. */
export async function epubText(
  pkg: ZipPackage,
  maxTextChars: number,
  htmlToText: (html: string) => string,
): Promise<string> {
  const sink = new TextSink(maxTextChars);
  let opf: string | undefined;
  await pkg.walk('META-INF/container.xml', {
    open(name, attrs) {
      const path = attr(attrs, 'full-path');
      if (name === 'rootfile' && path && !opf) opf = resolvePart('', path);
    },
  });
  if (!opf || !pkg.has(opf)) throw new DocumentFormatError('the container names no package document');
  const manifest = new Map<string, { href: string; type: string }>();
  const spine: string[] = [];
  let inTitle = 0;
  let title = '';
  await pkg.walk(opf, {
    open(name, attrs) {
      if (name === 'item') {
        const id = attr(attrs, 'id');
        const href = attr(attrs, 'href');
        if (id && href) manifest.set(id, { href, type: attr(attrs, 'media-type') ?? '' });
      } else if (name === 'itemref') {
        const idref = attr(attrs, 'idref');
        if (idref) spine.push(idref);
      } else if (name === 'title') inTitle++;
    },
    close(name) {
      if (name === 'title') inTitle--;
    },
    text(text) {
      if (!inTitle || title.length > 1000) return;
      title += text;
    },
  });
  const heading = title.trim().slice(0, 1000);
  if (heading) sink.push(`${heading}\n\n`);
  for (const idref of spine) {
    const item = manifest.get(idref);
    if (!item || !HTML_TYPES.has(item.type)) continue;
    const part = resolvePart(opf, item.href);
    if (!pkg.has(part)) continue;
    // XHTML is XML: the streaming walk refuses nesting past MAX_XML_DEPTH at once, before the DOM the HTML
    // text path builds (200,000 nested elements cost that path the child's whole CPU limit)
    if (item.type === 'application/xhtml+xml') await pkg.walk(part, {});
    const text = htmlToText(await pkg.text(part)).trim();
    if (text) sink.push(`${text}\n\n`);
  }
  return sink.toString();
}
