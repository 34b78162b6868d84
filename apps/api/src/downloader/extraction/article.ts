import { parseHTML } from 'linkedom';
import TurndownService from 'turndown';

// Runs in an extraction child process only (extraction/worker): linkedom and turndown never load in the
// API process. The page itself is read (Readability, selectors, metadata) in page.ts. No @app imports here: the child resolves modules without the path aliases.

/** The little of the DOM this file uses (the project does not load the DOM lib that linkedom's types need). */
interface DomNode {
  nodeType: number;
  textContent: string | null;
  tagName?: string;
  childNodes: ArrayLike<DomNode>;
}
interface DomElement extends DomNode {
  innerHTML: string;
  outerHTML: string;
  remove(): void;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  contains(other: DomNode): boolean;
}
interface DomDocument {
  body: DomElement | null;
  documentElement: DomElement | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}

function parseDocument(html: string): DomDocument {
  return (parseHTML as unknown as (h: string) => { document: DomDocument })(html).document;
}

const BLOCK = new Set([
  'ADDRESS',
  'ARTICLE',
  'ASIDE',
  'BLOCKQUOTE',
  'DD',
  'DIV',
  'DL',
  'DT',
  'FIGCAPTION',
  'FIGURE',
  'FOOTER',
  'FORM',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'HEADER',
  'HR',
  'LI',
  'MAIN',
  'NAV',
  'OL',
  'P',
  'PRE',
  'SECTION',
  'TABLE',
  'TR',
  'UL',
]);

/** Plain text of an HTML fragment: one paragraph per block element, whitespace collapsed. */
export function htmlToText(fragment: string): string {
  const document = parseDocument(`<!doctype html><html><body>${fragment}</body></html>`);
  const out: string[] = [];
  let line = '';
  const flush = (): void => {
    const t = line.replace(/[ \t\f\v\u00a0]+/g, ' ').trim();
    if (t) out.push(t);
    line = '';
  };
  const walk = (node: DomNode): void => {
    for (const child of Array.from(node.childNodes)) {
      if (child.nodeType === 3) line += (child.textContent ?? '').replace(/\s+/g, ' ');
      else if (child.nodeType === 1) {
        const tag = (child.tagName ?? '').toUpperCase();
        if (tag === 'SCRIPT' || tag === 'STYLE' || tag === 'NOSCRIPT' || tag === 'TEMPLATE') continue;
        if (tag === 'BR') {
          flush();
          continue;
        }
        const block = BLOCK.has(tag);
        if (block) flush();
        walk(child);
        if (block) flush();
      }
    }
  };
  if (document.body) walk(document.body);
  flush();
  return out.join('\n\n');
}

let turndown: TurndownService | undefined;
function markdownConverter(): TurndownService {
  if (!turndown) {
    turndown = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-' });
    turndown.remove(['script', 'style', 'noscript', 'iframe']);
  }
  return turndown;
}

export function htmlToMarkdown(fragment: string): string {
  return markdownConverter().turndown(fragment).trim();
}
