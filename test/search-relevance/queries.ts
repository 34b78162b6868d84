import { seededRandom } from '../support/seeded-random';
import { chunkText } from '@app/search/upload/chunker';

/**
 * Known-item queries generated from the documents' stored text, in the styles people type. Every query
 * has one right answer, the document it was taken from: excerpt-like queries are kept only when their
 * words (letters and digits, in order) occur in no other document, rare words and identifiers likewise.
 */
export const STYLES = ['exact', 'nopunct', 'rare', 'typo', 'prefix', 'identifier', 'straddle'] as const;
export type Style = (typeof STYLES)[number];

export const STYLE_DESCRIPTIONS: Record<Style, string> = {
  exact: 'seven consecutive words from the middle of the document, as written (punctuation included)',
  nopunct: 'the same seven words with punctuation removed',
  rare: 'three of the document’s rarest words (fewest documents in the corpus), in random order',
  typo: 'the seven words without punctuation, the longest word misspelled by one edit (not a corpus word)',
  prefix: 'the seven words without punctuation, the last word cut to a prefix (60 %, at least 3 letters)',
  identifier:
    'the parts of a URL or dotted/underscored identifier from the text (`asyncio.create_task` → `asyncio create task`), or the identifier as written',
  straddle:
    'a quoted seven-word phrase around the end of a chunk (4 words before the cut, 3 after) — found whole only thanks to the chunk overlap',
};

export interface RelevanceQuery {
  style: Style;
  query: string;
  /** The document the query was taken from (the key the caller used). */
  target: string;
}

export interface CorpusText {
  key: string;
  text: string;
}

/** Letters and digits only, lower-cased, single-spaced: how "the same words" are compared. */
export function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

const KEYBOARD_NEIGHBOURS: Record<string, string> = {
  a: 'qs',
  b: 'vn',
  c: 'xv',
  d: 'sf',
  e: 'wr',
  f: 'dg',
  g: 'fh',
  h: 'gj',
  i: 'uo',
  j: 'hk',
  k: 'jl',
  l: 'k',
  m: 'n',
  n: 'bm',
  o: 'ip',
  p: 'o',
  q: 'w',
  r: 'et',
  s: 'ad',
  t: 'ry',
  u: 'yi',
  v: 'cb',
  w: 'qe',
  x: 'zc',
  y: 'tu',
  z: 'x',
};

export interface GenerateOptions {
  perStyle: number;
  seed?: number;
  /** The app's SEARCH_CHUNK_CHARS / SEARCH_CHUNK_OVERLAP_CHARS, for the straddle style. */
  chunkChars: number;
  chunkOverlapChars: number;
}

export function generateQueries(docs: CorpusText[], opts: GenerateOptions): RelevanceQuery[] {
  const rnd = seededRandom(opts.seed ?? 20261130);
  const normalised = docs.map((d) => ` ${normalise(d.text)} `);
  const occurrences = (phrase: string): number => {
    const needle = ` ${phrase} `;
    let n = 0;
    for (const text of normalised) if (text.includes(needle) && ++n > 1) break;
    return n;
  };
  // Document frequency of every word, for rare words and for typos that must not be real words.
  const df = new Map<string, number>();
  for (const text of normalised) for (const w of new Set(text.split(' '))) df.set(w, (df.get(w) ?? 0) + 1);

  const order = docs.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const out: RelevanceQuery[] = [];
  const take = (style: Style, make: (doc: CorpusText) => string | undefined): void => {
    let made = 0;
    for (let k = 0; k < order.length * 3 && made < opts.perStyle; k++) {
      const doc = docs[order[(k + STYLES.indexOf(style) * 37) % order.length]];
      const query = make(doc);
      if (query && !out.some((q) => q.query === query)) {
        out.push({ style, query, target: doc.key });
        made++;
      }
    }
  };

  /** Seven whitespace-separated words from the middle 80 % of the text that only this document holds. */
  const excerpt = (doc: CorpusText, wordsNeeded = 7): string[] | undefined => {
    const words = doc.text.split(/\s+/).filter(Boolean);
    if (words.length < 40) return undefined;
    for (let attempt = 0; attempt < 8; attempt++) {
      const start = Math.floor(words.length * (0.1 + 0.8 * rnd()));
      const window = words.slice(start, start + wordsNeeded);
      if (window.length < wordsNeeded) continue;
      // In the query syntax a leading "-" excludes and OR joins: a pasted window holding them asks for that.
      if (window.some((w) => w.startsWith('-') || w === 'OR' || /["\u201c\u201d\u201e]/.test(w))) continue;
      const plain = normalise(window.join(' '));
      if (plain.split(' ').filter((w) => /\p{L}{3,}/u.test(w)).length < 4) continue;
      if (occurrences(plain) === 1) return window;
    }
    return undefined;
  };

  take('exact', (doc) => excerpt(doc)?.join(' '));
  take('nopunct', (doc) => {
    const w = excerpt(doc);
    return w && normalise(w.join(' '));
  });
  take('rare', (doc) => {
    const words = [...new Set(normalise(doc.text).split(' '))].filter((w) => /^[a-z]{4,}$/.test(w));
    const rarest = words
      .sort((a, b) => (df.get(a) ?? 0) - (df.get(b) ?? 0) || a.localeCompare(b))
      .slice(0, 12);
    if (rarest.length < 3) return undefined;
    const picked: string[] = [];
    while (picked.length < 3) {
      const w = rarest[Math.floor(rnd() * rarest.length)];
      if (!picked.includes(w)) picked.push(w);
    }
    return picked.join(' ');
  });
  take('typo', (doc) => {
    const w = excerpt(doc);
    if (!w) return undefined;
    const words = normalise(w.join(' ')).split(' ');
    const i = words.reduce(
      (best, x, j) => (/^[a-z]+$/.test(x) && x.length > words[best].length ? j : best),
      0,
    );
    const word = words[i];
    if (word.length < 5 || !/^[a-z]+$/.test(word)) return undefined;
    for (let attempt = 0; attempt < 10; attempt++) {
      const at = 1 + Math.floor(rnd() * (word.length - 2)); // keep the first and last letters
      const kind = Math.floor(rnd() * 4);
      let typo = word;
      if (kind === 0) {
        const near = KEYBOARD_NEIGHBOURS[word[at]] ?? 'e';
        typo = word.slice(0, at) + near[Math.floor(rnd() * near.length)] + word.slice(at + 1);
      } else if (kind === 1) typo = word.slice(0, at) + word.slice(at + 1);
      else if (kind === 2) typo = word.slice(0, at) + word[at] + word.slice(at);
      else typo = word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2);
      if (typo !== word && !df.has(typo)) {
        words[i] = typo;
        return words.join(' ');
      }
    }
    return undefined;
  });
  take('prefix', (doc) => {
    const w = excerpt(doc);
    if (!w) return undefined;
    const words = normalise(w.join(' ')).split(' ');
    const last = words[words.length - 1];
    if (last.length < 5) return undefined;
    words[words.length - 1] = last.slice(0, Math.max(3, Math.ceil(last.length * 0.6)));
    return words.join(' ');
  });
  let whole = false;
  take('identifier', (doc) => {
    const candidates = [
      ...(doc.text.match(/https?:\/\/[^\s<>"')\]]+/g) ?? []),
      ...(doc.text.match(/\b[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+\b/g) ?? []),
      ...(doc.text.match(/\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]*[A-Za-z0-9]\b/g) ?? []),
    ].filter((c) => {
      const parts = normalise(c).split(' ');
      return parts.filter((p) => /\p{L}{2,}/u.test(p)).length >= 2 && occurrences(normalise(c)) === 1;
    });
    if (!candidates.length) return undefined;
    const id = candidates[Math.floor(rnd() * candidates.length)].replace(/[.,;:]+$/, '');
    whole = !whole;
    if (whole) return id;
    const parts = normalise(id)
      .split(' ')
      .filter((p) => !['http', 'https', 'www', 'html', 'htm', 'com', 'org'].includes(p));
    return parts.slice(-4).join(' ');
  });
  take('straddle', (doc) => {
    const chunks = chunkText(doc.text, opts.chunkChars, opts.chunkOverlapChars);
    if (chunks.length < 2) return undefined;
    const i = Math.floor(rnd() * (chunks.length - 1));
    // Where chunk i ends in the text: chunks are trimmed slices, found in order.
    let from = 0;
    let end = 0;
    for (let c = 0; c <= i; c++) {
      const at = doc.text.indexOf(chunks[c], from);
      if (at < 0) return undefined;
      end = at + chunks[c].length;
      from = at + 1;
    }
    const before = doc.text.slice(0, end).split(/\s+/).filter(Boolean).slice(-4);
    const after = doc.text.slice(end).split(/\s+/).filter(Boolean).slice(0, 3);
    if (before.length < 4 || after.length < 3) return undefined;
    const phrase = normalise([...before, ...after].join(' '));
    if (phrase.split(' ').filter((w) => /\p{L}{3,}/u.test(w)).length < 3) return undefined;
    if (occurrences(phrase) !== 1) return undefined;
    return `"${phrase}"`;
  });
  return out;
}

/** MRR@10 and Recall@10 of known-item queries: `ranks` holds each query's 1-based rank, or 0 (not in the top 10). */
export function score(ranks: number[]): { mrr: number; recall: number } {
  if (!ranks.length) return { mrr: 0, recall: 0 };
  const mrr = ranks.reduce((s, r) => s + (r > 0 && r <= 10 ? 1 / r : 0), 0) / ranks.length;
  const recall = ranks.filter((r) => r > 0 && r <= 10).length / ranks.length;
  return { mrr: Math.round(mrr * 1000) / 1000, recall: Math.round(recall * 1000) / 1000 };
}
