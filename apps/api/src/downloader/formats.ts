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
