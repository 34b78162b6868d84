import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { htmlToMarkdown, htmlToText } from './article';

// Runs in an extraction child process only (extraction/worker), like article.ts: the page's metadata,
// links and images, the include/exclude selectors and the choice of article or whole page. No @app
// imports: the child resolves modules without the path aliases.

/** The little of the DOM this file uses (the project does not load the DOM lib that linkedom's types need). */
interface El {
  tagName?: string;
  textContent: string | null;
  innerHTML: string;
  outerHTML: string;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  remove(): void;
  contains(other: El): boolean;
}
interface Doc {
  body: El | null;
  documentElement: El | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): ArrayLike<El>;
}

/** How a page is read (the download's include, exclude, mainContent and frontMatter). */
export interface PageOptions {
  include?: string;
  exclude?: string;
  /** false: the whole page (scripts and styles aside) instead of Readability's article. */
  mainContent?: boolean;
  /** markdown: YAML front matter with the metadata. */
  frontMatter?: boolean;
}

export interface PageMetadata {
  title: string | null;
  description: string | null;
  author: string | null;
  publishedAt: string | null;
  siteName: string | null;
  language: string | null;
  canonicalUrl: string | null;
  image: string | null;
}

/** At most this many links and images are listed (the first ones in document order). */
export const MAX_LINKS = 1000;
export const MAX_IMAGES = 500;
/** Longest link text, alt text or metadata value kept. */
const MAX_VALUE_CHARS = 1000;
/** JSON-LD blocks read, and the largest one parsed. */
const MAX_JSON_LD_BLOCKS = 20;
const MAX_JSON_LD_CHARS = 256 * 1024;

/**
 * A selector the DOM library refuses (css-select) though it parsed (css-what) when it was validated, e.g. an
 * unsupported pseudo-class: the parent answers 400 VALIDATION_FAILED naming the field, not 422.
 */
export class InvalidSelector extends Error {
  readonly details: { field: string };
  constructor(field: string, message: string) {
    super(message);
    this.name = 'InvalidSelector';
    this.details = { field };
  }
}

function parse(html: string): Doc {
  return (parseHTML as unknown as (h: string) => { document: Doc })(html).document;
}

function withBase(html: string, url: string): string {
  const base = `<base href="${url.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}">`;
  return /<head[^>]*>/i.test(html)
    ? html.replace(/<head([^>]*)>/i, `<head$1>${base}`)
    : `<head>${base}</head>${html}`;
}

function select(root: Doc, selector: string, field: string): El[] {
  try {
    return Array.from(root.querySelectorAll(selector));
  } catch (err) {
    const why = err instanceof Error ? err.message.slice(0, 200) : 'unsupported';
    throw new InvalidSelector(field, `${field} is not a selector the page can be read with (${why})`);
  }
}

/**
 * The page with `exclude`'s elements removed and, with `include`, only the elements it selects (outermost
 * ones, in document order) left in the body.
 */
function scoped(html: string, url: string, opts: PageOptions): Doc {
  const doc = parse(withBase(html, url));
  if (opts.exclude) for (const el of select(doc, opts.exclude, 'exclude')) el.remove();
  // links and images absolute wherever the content comes from (Readability does this for its article only)
  for (const [selector, attr] of [
    ['a[href]', 'href'],
    ['img[src]', 'src'],
  ] as const)
    for (const el of Array.from(doc.querySelectorAll(selector))) {
      const value = el.getAttribute(attr) ?? '';
      if (value.startsWith('#') || /^[a-z][a-z0-9+.-]*:/i.test(value)) continue;
      const abs = absolute(value, url);
      if (abs) el.setAttribute(attr, abs);
    }
  if (opts.include && doc.body) {
    const picked = select(doc, opts.include, 'include');
    const outermost = picked.filter((el) => !picked.some((other) => other !== el && other.contains(el)));
    doc.body.innerHTML = outermost.map((el) => el.outerHTML).join('\n');
  }
  return doc;
}

function clean(value: string | null | undefined): string | null {
  const v = (value ?? '').replace(/\s+/g, ' ').trim();
  return v ? v.slice(0, MAX_VALUE_CHARS) : null;
}

function absolute(href: string | null | undefined, base: string): string | null {
  if (!href) return null;
  try {
    const u = new URL(href.trim(), base);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    u.hash = '';
    return u.href;
  } catch {
    return null;
  }
}

function meta(doc: Doc, ...keys: string[]): string | null {
  for (const key of keys) {
    for (const attr of ['property', 'name', 'itemprop']) {
      const el = doc.querySelector(`meta[${attr}="${key}" i]`);
      const v = clean(el?.getAttribute('content'));
      if (v) return v;
    }
  }
  return null;
}

type Json = Record<string, unknown>;

/** The JSON-LD node that describes the page: the first article-like one, else the first with a name. */
function jsonLd(doc: Doc): Json | undefined {
  const nodes: Json[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (depth > 4 || nodes.length > 200) return;
    if (Array.isArray(v)) v.forEach((x) => visit(x, depth + 1));
    else if (v && typeof v === 'object') {
      nodes.push(v as Json);
      if ('@graph' in v) visit((v as Json)['@graph'], depth + 1);
    }
  };
  for (const script of Array.from(doc.querySelectorAll('script[type="application/ld+json" i]')).slice(
    0,
    MAX_JSON_LD_BLOCKS,
  )) {
    const text = script.textContent ?? '';
    if (text.length > MAX_JSON_LD_CHARS) continue;
    try {
      visit(JSON.parse(text), 0);
    } catch {
      // a broken block says nothing
    }
  }
  const types = (n: Json): string[] => [n['@type']].flat().map(String);
  const articleLike = /Article|BlogPosting|Report|WebPage|NewsArticle|Recipe|Product|CreativeWork/;
  return (
    nodes.find((n) => types(n).some((t) => articleLike.test(t))) ??
    nodes.find((n) => 'headline' in n || 'name' in n)
  );
}

function ldText(v: unknown): string | null {
  if (typeof v === 'string') return clean(v);
  if (Array.isArray(v)) {
    const names = v.map(ldText).filter((x): x is string => !!x);
    return names.length ? clean(names.join(', ')) : null;
  }
  if (v && typeof v === 'object') return ldText((v as Json).name ?? (v as Json).url);
  return null;
}

function ldImage(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return ldImage(v[0]);
  if (v && typeof v === 'object') return ldImage((v as Json).url ?? (v as Json).contentUrl);
  return null;
}

function isoDate(value: string | null): string | null {
  if (!value) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? value : new Date(t).toISOString();
}

/** From meta tags, OpenGraph, Twitter cards and JSON-LD; Readability's reading fills what they leave out. */
function metadataOf(doc: Doc, url: string): PageMetadata {
  const ld = jsonLd(doc) ?? {};
  const canonical = doc.querySelector('link[rel="canonical" i]')?.getAttribute('href');
  return {
    title:
      meta(doc, 'og:title', 'twitter:title') ??
      ldText(ld.headline ?? ld.name) ??
      clean(doc.querySelector('title')?.textContent),
    description: meta(doc, 'description', 'og:description', 'twitter:description') ?? ldText(ld.description),
    author: meta(doc, 'author', 'article:author', 'twitter:creator') ?? ldText(ld.author ?? ld.creator),
    publishedAt: isoDate(
      meta(doc, 'article:published_time', 'datePublished', 'date', 'pubdate', 'publish-date') ??
        ldText(ld.datePublished ?? ld.dateCreated) ??
        clean(doc.querySelector('time[datetime]')?.getAttribute('datetime')),
    ),
    siteName: meta(doc, 'og:site_name', 'application-name') ?? ldText(ld.publisher),
    language:
      clean(doc.documentElement?.getAttribute('lang')) ??
      clean(doc.querySelector('meta[http-equiv="content-language" i]')?.getAttribute('content')) ??
      meta(doc, 'og:locale') ??
      ldText(ld.inLanguage),
    canonicalUrl: absolute(canonical, url) ?? absolute(meta(doc, 'og:url'), url),
    image: absolute(meta(doc, 'og:image', 'og:image:url', 'twitter:image') ?? ldImage(ld.image), url),
  };
}

function linksOf(doc: Doc, url: string): Array<{ url: string; text: string }> {
  const seen = new Set<string>();
  const out: Array<{ url: string; text: string }> = [];
  for (const a of Array.from(doc.querySelectorAll('a[href]'))) {
    if (out.length >= MAX_LINKS) break;
    const href = absolute(a.getAttribute('href'), url);
    if (!href || seen.has(href)) continue;
    seen.add(href);
    out.push({ url: href, text: clean(a.textContent) ?? '' });
  }
  return out;
}

function imagesOf(doc: Doc, url: string): Array<{ url: string; alt: string }> {
  const seen = new Set<string>();
  const out: Array<{ url: string; alt: string }> = [];
  for (const img of Array.from(doc.querySelectorAll('img[src]'))) {
    if (out.length >= MAX_IMAGES) break;
    const src = absolute(img.getAttribute('src'), url);
    if (!src || seen.has(src)) continue;
    seen.add(src);
    out.push({ url: src, alt: clean(img.getAttribute('alt')) ?? '' });
  }
  return out;
}

interface Read {
  title: string;
  html: string;
  metadata: PageMetadata;
  links: Array<{ url: string; text: string }>;
  images: Array<{ url: string; alt: string }>;
}

/**
 * A page as the downloader reads it: metadata from the whole page; links and images from what include and
 * exclude leave; the content is Readability's article (mainContent, the default, without include), else
 * everything include/exclude leave but scripts and styles.
 */
export function readPage(source: string, url: string, opts: PageOptions = {}): Read {
  const doc = scoped(source, url, opts);
  const metadata = metadataOf(parse(withBase(source, url)), url);
  const links = linksOf(doc, url);
  const images = imagesOf(doc, url);
  const docTitle = clean(doc.querySelector('title')?.textContent) ?? '';
  if (opts.mainContent !== false && !opts.include) {
    let parsed: ReturnType<Readability['parse']> = null;
    try {
      // Readability mutates the document: links and images were taken above
      parsed = new Readability(doc, { charThreshold: 100 }).parse();
    } catch {
      parsed = null;
    }
    metadata.author ??= clean(parsed?.byline);
    metadata.description ??= clean(parsed?.excerpt);
    metadata.siteName ??= clean(parsed?.siteName);
    metadata.publishedAt ??= isoDate(clean(parsed?.publishedTime));
    metadata.language ??= clean(parsed?.lang);
    if (parsed?.content) {
      const title = clean(parsed.title) ?? docTitle;
      metadata.title ??= title || null;
      return { title, html: parsed.content, metadata, links, images };
    }
    // no article (a short page): the body without its furniture
    const fallback = scoped(source, url, opts);
    for (const n of select(fallback, 'script,style,noscript,template,nav,header,footer,aside', 'exclude'))
      n.remove();
    metadata.title ??= docTitle || null;
    return { title: docTitle, html: fallback.body?.innerHTML ?? '', metadata, links, images };
  }
  for (const n of select(doc, 'script,style,noscript,template', 'exclude')) n.remove();
  metadata.title ??= docTitle || null;
  return { title: docTitle, html: doc.body?.innerHTML ?? '', metadata, links, images };
}

/** YAML front matter: each value a double-quoted scalar (a JSON string is one), empty values left out. */
export function frontMatter(metadata: PageMetadata, url: string): string {
  const lines = Object.entries({ ...metadata, url })
    .filter(([, v]) => v !== null && v !== '')
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  return `---\n${lines.join('\n')}\n---\n\n`;
}

/**
 * The downloader's text, markdown and json readings of an HTML page. `json`: the JSON text of
 * `{title, text, metadata, links, images}`, which the parent joins to its envelope.
 */
export function convertPage(
  source: string,
  url: string,
  format: 'text' | 'markdown' | 'json',
  opts: PageOptions = {},
): string {
  const page = readPage(source, url, opts);
  if (format === 'text') return [page.title, htmlToText(page.html)].filter(Boolean).join('\n\n');
  if (format === 'json')
    return JSON.stringify({
      title: page.title || null,
      text: htmlToText(page.html),
      metadata: page.metadata,
      links: page.links,
      images: page.images,
    });
  const md = htmlToMarkdown(page.html);
  const body = page.title && !md.startsWith('# ') ? `# ${page.title}\n\n${md}` : md;
  return opts.frontMatter ? frontMatter(page.metadata, url) + body : body;
}
