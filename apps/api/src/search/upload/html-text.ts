import { parseHTML } from 'linkedom';

// Runs in an extraction child process only (extraction/worker): linkedom never loads in the API process.
// No @app imports here: the child resolves modules without the path aliases.

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
