// Hit markers from ts_headline: private-use code points, stripped from every stored text at upload, so
// a document can never forge one. The headline is escaped as a whole, then only these become tags.
const START = '\uE000';
const STOP = '\uE001';

export const HEADLINE_OPTIONS = `StartSel="${START}", StopSel="${STOP}", MaxWords=35, MinWords=15, ShortWord=3, MaxFragments=2, FragmentDelimiter=" … "`;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** HTML-safe snippet: everything escaped, hits wrapped in <mark>, whitespace collapsed. */
export function renderSnippet(headline: string): string {
  return escapeHtml(headline)
    .replace(/\s+/g, ' ')
    .trim()
    .replaceAll(START, '<mark>')
    .replaceAll(STOP, '</mark>');
}

/** The cache-key form of a query: same meaning, same key (case, spacing and Unicode form don't matter). */
export function normaliseQuery(query: string): string {
  return query.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}
