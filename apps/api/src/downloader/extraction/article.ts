import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import TurndownService from 'turndown';

// Runs in an extraction child process only (extraction/worker): Readability, linkedom and turndown never
// load in the API process. No @app imports here: the child resolves modules without the path aliases.

/** The little of the DOM this file uses (the project does not load the DOM lib that linkedom's types need). */
interface DomNode {
  nodeType: number;
  textContent: string | null;
  tagName?: string;
  childNodes: ArrayLike<DomNode>;
}
interface DomElement extends DomNode {
  innerHTML: string;
  remove(): void;
}
interface DomDocument {
  body: DomElement | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}

function parseDocument(html: string): DomDocument {
  return (parseHTML as unknown as (h: string) => { document: DomDocument })(html).document;
}

export interface Article {
  title: string;
  /** The article's cleaned HTML (Readability), or the whole body when no article was found. */
  html: string;
  text: string;
}

/**
 * Readability-style article extraction on linkedom: the main content without navigation, footers and
 * ads. Falls back to the whole body when Readability finds no article (short pages).
 */
export function extractArticle(html: string, url: string): Article {
  // a <base> makes Readability turn relative links and images into absolute ones
  const withBase = /<head[^>]*>/i.test(html)
    ? html.replace(/<head([^>]*)>/i, `<head$1><base href="${escapeAttr(url)}">`)
    : `<head><base href="${escapeAttr(url)}"></head>${html}`;
  const document = parseDocument(withBase);
  const title = (document.querySelector('title')?.textContent ?? '').trim();
  let parsed: ReturnType<Readability['parse']> = null;
  try {
    // Readability mutates the document; a failure here falls back to the raw body below
    parsed = new Readability(document, {
      charThreshold: 100,
    }).parse();
  } catch {
    parsed = null;
  }
  if (parsed?.content) {
    const articleTitle = (parsed.title ?? title).trim();
    return { title: articleTitle, html: parsed.content, text: htmlToText(parsed.content) };
  }
  const fallback = parseDocument(withBase);
  for (const n of Array.from(
    fallback.querySelectorAll('script,style,noscript,template,nav,header,footer,aside'),
  ))
    n.remove();
  const bodyHtml = fallback.body?.innerHTML ?? '';
  return { title, html: bodyHtml, text: htmlToText(bodyHtml) };
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

/** The article of an HTML page as text or markdown (the downloader's text and markdown formats). */
export function convertHtml(source: string, url: string, format: 'text' | 'markdown'): string {
  const article = extractArticle(source, url);
  if (format === 'text') return [article.title, article.text].filter(Boolean).join('\n\n');
  const md = htmlToMarkdown(article.html);
  return article.title && !md.startsWith('# ') ? `# ${article.title}\n\n${md}` : md;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}
