export const FORMATS = ['text', 'markdown', 'html', 'json', 'pdf', 'raw'] as const;
export type DownloadFormat = (typeof FORMATS)[number];

const BY_MEDIA_TYPE: Record<string, DownloadFormat> = {
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/html': 'html',
  'application/json': 'json',
  'application/pdf': 'pdf',
  'application/octet-stream': 'raw',
};

/**
 * Picks the format from an Accept header when `format` is absent (api.md): the acceptable media type
 * with the highest q (earliest on ties); `text/*` and `*\/*` mean text; nothing usable → text.
 */
export function negotiateFormat(accept: string | undefined): DownloadFormat {
  if (!accept) return 'text';
  let best: { format: DownloadFormat; q: number; order: number } | undefined;
  accept.split(',').forEach((part, order) => {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) return;
    const format =
      BY_MEDIA_TYPE[type.trim()] ?? (type.trim() === 'text/*' || type.trim() === '*/*' ? 'text' : undefined);
    if (!format) return;
    if (!best || q > best.q) best = { format, q, order };
  });
  return best?.format ?? 'text';
}

/** What the origin is asked to send for each format. */
export function acceptFor(format: DownloadFormat): string {
  if (format === 'text' || format === 'markdown' || format === 'html' || format === 'pdf')
    return 'text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8,*/*;q=0.5';
  return '*/*';
}

export const RENDER_MODES = ['auto', 'always', 'never'] as const;
export type RenderMode = (typeof RENDER_MODES)[number];

/**
 * How a page is read for text, markdown, html and json (the download's query options): rendered in Chromium
 * or not, what to wait for there, include/exclude selectors, article or whole page, markdown front matter.
 */
export interface ReadOptions {
  render?: RenderMode;
  waitFor?: string;
  waitMs?: number;
  include?: string;
  exclude?: string;
  mainContent?: boolean;
  frontMatter?: boolean;
}

/** The part of the cache key the read options make (empty for the defaults, so those keys are unchanged). */
export function readVariant(format: DownloadFormat, opts: ReadOptions = {}): string {
  if (format === 'pdf' || format === 'raw') return '';
  const parts: string[] = [];
  if (opts.render && opts.render !== 'auto') parts.push(`render=${opts.render}`);
  if (opts.waitFor) parts.push(`waitFor=${opts.waitFor}`);
  if (opts.waitMs) parts.push(`waitMs=${opts.waitMs}`);
  if (format !== 'html') {
    if (opts.include) parts.push(`include=${opts.include}`);
    if (opts.exclude) parts.push(`exclude=${opts.exclude}`);
    if (opts.mainContent === false) parts.push('mainContent=false');
    if (opts.frontMatter && format === 'markdown') parts.push('frontMatter=true');
  }
  return parts.map(encodeURIComponent).join('&');
}
