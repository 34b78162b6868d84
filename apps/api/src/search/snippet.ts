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

/** Tokens as the index sees them (runs of letters and digits) and compounds joined by `.`, `_` or `-`. */
const TOKEN = /[\p{L}\p{N}]+/gu;
const COMPOUND = /[\p{L}\p{N}]+(?:[._-][\p{L}\p{N}]+)+/gu;
/** Words in a passage: about what a search result shows in two lines. */
export const PASSAGE_WORDS = 30;

interface Token {
  start: number;
  end: number;
  word: string;
  hit: boolean;
}

/**
 * An HTML-safe passage of `text` around its hits: the window of `PASSAGE_WORDS` tokens holding the most
 * distinct hit words (then the most hits), every character of it escaped — nothing the document says is
 * dropped, `<script>` comes back as `&lt;script&gt;` — and only hit tokens wrapped in `<mark>`. A token is a
 * hit when its lower-cased form is in `words` (the store's surface forms of the matched lexemes), or when it
 * is part of a compound whose joined form is (`node.js` for `nodejs`). Whitespace is collapsed; `…` marks
 * text cut at either end.
 */
export function renderPassage(text: string, words: ReadonlySet<string>): { html: string; hits: Set<string> } {
  const tokens: Token[] = [];
  for (const m of text.matchAll(TOKEN)) {
    const word = m[0].toLowerCase();
    tokens.push({ start: m.index, end: m.index + m[0].length, word, hit: words.has(word) });
  }
  for (const m of text.matchAll(COMPOUND)) {
    const joined = m[0].toLowerCase().replace(/[._-]/g, '');
    if (!words.has(joined)) continue;
    const end = m.index + m[0].length;
    for (const t of tokens) if (t.start >= m.index && t.end <= end) t.hit = true;
  }
  const [from, to] = bestWindow(tokens);
  const start = from < tokens.length ? tokens[from].start : 0;
  const stop = to > from ? tokens[to - 1].end : Math.min(text.length, 200);
  // Keep the punctuation that closes the last word (a full stop, a closing bracket) up to the next space.
  const tail = /^\S*/.exec(text.slice(stop))?.[0] ?? '';
  const end = to >= tokens.length ? text.length : stop + tail.length;

  let html = '';
  let at = start;
  const hits = new Set<string>();
  for (let i = from; i < to; i++) {
    const t = tokens[i];
    if (!t.hit) continue;
    html += escapeHtml(text.slice(at, t.start)) + `<mark>${escapeHtml(text.slice(t.start, t.end))}</mark>`;
    at = t.end;
    hits.add(t.word);
  }
  html += escapeHtml(text.slice(at, end));
  html = html.replace(/\s+/g, ' ').trim();
  if (/\S/.test(text.slice(0, start))) html = `… ${html}`;
  if (/\S/.test(text.slice(end))) html = `${html} …`;
  return { html, hits };
}

/** [from, to) token indexes of the window with the most distinct hit words, then the most hits, earliest. */
function bestWindow(tokens: Token[]): [number, number] {
  const size = Math.min(PASSAGE_WORDS, tokens.length);
  let best = 0;
  let bestScore = -1;
  const counts = new Map<string, number>();
  let hits = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.hit) {
      counts.set(t.word, (counts.get(t.word) ?? 0) + 1);
      hits++;
    }
    const out = i - size;
    if (out >= 0 && tokens[out].hit) {
      const w = tokens[out].word;
      const c = (counts.get(w) ?? 1) - 1;
      if (c === 0) counts.delete(w);
      else counts.set(w, c);
      hits--;
    }
    if (i >= size - 1) {
      const score = counts.size * 10000 + hits;
      if (score > bestScore) {
        bestScore = score;
        best = i - size + 1;
      }
    }
  }
  if (bestScore <= 0) return [0, size];
  // Same hits, but with up to five words of lead-in before the first one, so it reads in context.
  let firstHit = best;
  while (!tokens[firstHit].hit) firstHit++;
  let lastHit = best + size - 1;
  while (!tokens[lastHit].hit) lastHit--;
  const from = Math.max(0, Math.min(Math.max(lastHit - size + 1, firstHit - 5), tokens.length - size));
  return [from, from + size];
}

/**
 * The cache-key form of a query: same meaning, same key (case, spacing and Unicode form don't matter). The
 * operator `OR` keeps its case: `a OR b` and `a or b` mean different things.
 */
export function normaliseQuery(query: string): string {
  return query
    .normalize('NFKC')
    .trim()
    .split(/\s+/)
    .map((word) => (word === 'OR' ? word : word.toLowerCase()))
    .join(' ');
}
