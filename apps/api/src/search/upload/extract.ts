import { parseHTML } from 'linkedom';
import { FileRejection } from '../search.errors';
import { BinaryExtractor } from './binary-extractor';
import { Sniffed } from './sniff';

const BLOCK =
  'address,article,aside,blockquote,br,dd,div,dl,dt,figcaption,figure,footer,h1,h2,h3,h4,h5,h6,header,hr,li,main,nav,ol,p,pre,section,table,td,th,tr,ul';

// The little of linkedom's DOM used here (its typings need the DOM lib, which the server build leaves out).
interface HtmlNode {
  textContent: string | null;
  remove(): void;
  after(node: HtmlNode): void;
}
interface HtmlDocument {
  querySelectorAll(selector: string): Iterable<HtmlNode>;
  querySelector(selector: string): HtmlNode | null;
  createTextNode(text: string): HtmlNode;
  body: HtmlNode | null;
  documentElement: HtmlNode | null;
}

/** Visible text of an HTML document: scripts, styles and templates dropped, blocks on their own lines. */
export function htmlToText(html: string): string {
  const { document } = parseHTML(
    /<html[\s>]/i.test(html) ? html : `<html><body>${html}</body></html>`,
  ) as unknown as { document: HtmlDocument };
  for (const el of document.querySelectorAll('script,style,noscript,template,svg,iframe,object')) el.remove();
  for (const el of document.querySelectorAll(BLOCK)) el.after(document.createTextNode('\n'));
  const title = document.querySelector('title')?.textContent?.trim();
  const body = (document.body ?? document.documentElement)?.textContent ?? '';
  return title && !body.includes(title) ? `${title}\n\n${body}` : body;
}

/**
 * Normalises extracted text for storage and search: NFC, LF line ends, no control characters (Postgres
 * text cannot hold NUL) and none of the private-use code points that mark hits in snippets.
 */
export function normaliseText(text: string): string {
  return (
    text
      .normalize('NFC')
      .replace(/\r\n?/g, '\n')
      // eslint-disable-next-line no-control-regex -- stripping control characters is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\uE000\uE001]/g, '')
      .replace(/[ \t]+\n/g, '\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim()
  );
}

export async function extractText(sniffed: Sniffed, data: Buffer, binary: BinaryExtractor): Promise<string> {
  let raw: string;
  if (sniffed.binary) {
    try {
      raw = await binary.extract(sniffed.contentType === 'application/pdf' ? 'pdf' : 'docx', data);
    } catch (err) {
      throw new FileRejection('EXTRACTION_FAILED', `Could not read the document: ${(err as Error).message}`);
    }
  } else {
    raw = sniffed.contentType === 'text/html' ? htmlToText(sniffed.text) : sniffed.text;
  }
  const text = normaliseText(raw);
  if (!text) throw new FileRejection('EMPTY_DOCUMENT', 'The document contains no extractable text');
  return text;
}
