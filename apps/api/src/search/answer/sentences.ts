/**
 * Sentences of a passage, and which of them answer a question best. Pure functions: the passages are
 * bounded before they get here (ANSWER_MAX_PASSAGES, ANSWER_MAX_CHARS), and which query terms a
 * sentence holds is the database's answer (answer.repository.ts), so stems, completions and corrections
 * count exactly as they do for ranking.
 */

/** A sentence as [start, end) UTF-16 offsets into its passage's text: `text.slice(start, end)` is the sentence. */
export interface SentenceSpan {
  start: number;
  end: number;
}

/** Longest sentence kept whole; a longer run of text without an end is cut at a word boundary. */
export const MAX_SENTENCE_CHARS = 400;
/** Shorter fragments (a heading, a list bullet, a page number) are not answers. */
export const MIN_SENTENCE_CHARS = 12;

/**
 * Splits a passage into sentences: a sentence ends at `.`, `!` or `?` (with closing quotes or brackets)
 * followed by white space and a next sentence that does not start in lower case (so `e.g. this` and
 * `3.5 times` do not end one), or at a blank line. White space is trimmed from both ends of each span;
 * spans shorter than MIN_SENTENCE_CHARS are left out, longer than MAX_SENTENCE_CHARS cut at a space.
 * `partialStart`: the passage may begin mid-sentence (a chunk after the first one: chunks overlap and
 * begin at a word, not a sentence), so a first fragment starting in lower case is left out.
 */
export function splitSentences(text: string, partialStart = false): SentenceSpan[] {
  const out: SentenceSpan[] = [];
  const cuts: number[] = [];
  for (const m of text.matchAll(/[.!?]+["'”’)\]]*(?=\s+[^\s\p{Ll}])|\n[ \t]*\n/gu))
    cuts.push(m.index + m[0].length);
  cuts.push(text.length);
  let from = 0;
  for (const cut of cuts) {
    pushSpan(text, from, cut, out);
    from = cut;
  }
  if (
    partialStart &&
    out.length &&
    out[0].start <= firstNonSpace(text) &&
    /^\p{Ll}/u.test(text.slice(out[0].start))
  )
    out.shift();
  return out;
}

function firstNonSpace(text: string): number {
  const m = /\S/.exec(text);
  return m ? m.index : text.length;
}

function pushSpan(text: string, from: number, to: number, out: SentenceSpan[]): void {
  let start = from;
  let end = to;
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  while (end - start > MAX_SENTENCE_CHARS) {
    let cut = text.lastIndexOf(' ', start + MAX_SENTENCE_CHARS);
    if (cut <= start) cut = start + MAX_SENTENCE_CHARS;
    pushSpan(text, start, cut, out);
    start = cut;
    while (start < end && /\s/.test(text[start])) start++;
  }
  if (end - start >= MIN_SENTENCE_CHARS) out.push({ start, end });
}

/** A sentence and what the database found in it. */
export interface ScoredSentence extends SentenceSpan {
  /** Index of its passage in the order the passages were ranked (0 = the best). */
  passage: number;
  text: string;
  /** The query's units (words, phrases) the sentence holds, each counted once. */
  units: number[];
  /** Cover density of the query's terms in the sentence (ts_rank_cd). */
  density: number;
}

export interface SelectionLimits {
  /** Most sentences in an answer. */
  maxSentences: number;
  /** Most characters of sentences in an answer (the first one is always taken whole). */
  maxChars: number;
}

export const EXTRACTIVE_LIMITS: SelectionLimits = { maxSentences: 3, maxChars: 700 };

/**
 * The sentences that answer best, in the order they are picked: first the sentence holding the most of
 * the query's units (then the densest, then from the better passage, then the earliest), then, greedily,
 * the one adding the most units not yet covered (ties broken the same way), as long as it holds at least
 * half as many units as the first and fits in `maxChars`. Identical sentences (overlapping chunks repeat
 * text) count once. A sentence holding no unit is never picked: no sentence holds one → no answer.
 */
export function selectSentences(candidates: ScoredSentence[], limits = EXTRACTIVE_LIMITS): ScoredSentence[] {
  const seen = new Set<string>();
  const pool = candidates.filter((c) => {
    if (c.units.length === 0) return false;
    const key = c.text.replace(/\s+/g, ' ').trim().toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const picked: ScoredSentence[] = [];
  const covered = new Set<number>();
  let chars = 0;
  let floor = 1;
  while (picked.length < limits.maxSentences && pool.length) {
    let best = -1;
    let bestKey: number[] = [];
    pool.forEach((c, i) => {
      if (c.units.length < floor) return;
      if (picked.length && chars + c.text.length > limits.maxChars) return;
      const fresh = c.units.filter((u) => !covered.has(u)).length;
      const key = [fresh, c.units.length, c.density, -c.passage, -c.start];
      if (best === -1 || compare(key, bestKey) > 0) {
        best = i;
        bestKey = key;
      }
    });
    if (best === -1) break;
    const [chosen] = pool.splice(best, 1);
    if (picked.length === 0) floor = Math.max(1, Math.ceil(chosen.units.length / 2));
    picked.push(chosen);
    chars += chosen.text.length;
    for (const u of chosen.units) covered.add(u);
  }
  return picked;
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}
