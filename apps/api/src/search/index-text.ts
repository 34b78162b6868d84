/**
 * A chunk's tsvector built in the app, exactly as `to_tsvector('english', search_index_text(content))`
 * (migration 2) builds it, for the chunks where that is provable: the database then stores it instead of
 * running the regular expressions and the parser over every chunk (the costliest part of an upload).
 *
 * - **Plain text only** (isPlainText): ASCII, plus a few Unicode punctuation marks common in prose. In
 *   the locales Atrium runs on PostgreSQL's `[:alnum:]` holds exactly A–Z, a–z and 0–9 of ASCII and none of those
 *   marks, and ASCII letters lower-case as ASCII does, so indexWords splits such text exactly as
 *   `search_index_text` does — checked in the database once (SearchRepository's PLAIN_TEXT_CHECK_SQL: a Turkish
 *   or Azeri locale lower-cases `I` to `ı`, and then every chunk is left to the database). Any other chunk is
 *   left to the database.
 * - **Lexemes from PostgreSQL itself**: each distinct word's lexemes and how many positions it takes are read
 *   with `to_tsvector('english', word || ' zqxjkvw')` (WORD_LEXEMES_SQL): the sentinel's position is one past
 *   the word's last token, so stop words (no lexeme, one position), words the parser splits into several
 *   tokens and words too long to index (no position) are all counted as the parser counts them. The text
 *   handed to the parser holds only letters, digits and single spaces, where a space always ends a token.
 * - **Assembly as to_tsvector does it** (assembleTsvector): positions from 1, capped at 16383 (a lexeme keeps
 *   at most one position there), at most 255 positions per lexeme (the first ones), weight D.
 *
 * Written here (not a library) because no library reproduces PostgreSQL's parser; the database answers
 * for every lexeme, this file only counts positions.
 */

/**
 * ASCII (control characters included), and Unicode marks that are not letters or digits in any locale
 * (punctuation and separators common in prose and in extracted HTML).
 */
const PLAIN =
  // eslint-disable-next-line no-control-regex
  /^[\x00-\x7f\u00a0\u00a7\u00ab\u00b6\u00b7\u00bb\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026]*$/;

/** to_tsvector's cap on a position (MAXENTRYPOS - 1) and on the positions kept per lexeme (MAXNUMPOS - 1). */
export const MAX_POSITION = 16383;
export const MAX_POSITIONS_PER_LEXEME = 255;

/** The lexeme sentinel of WORD_LEXEMES_SQL (a word no dictionary changes; collisions are handled). */
export const SENTINEL = 'zqxjkvw';

/**
 * Each word of `$1::text[]`: its lexemes with their positions in `word || ' zqxjkvw'` (the sentinel among
 * them), as rows (word, lexeme, positions as comma-separated text: the same on both adapters).
 */
export const WORD_LEXEMES_SQL = `SELECT w.word, u.lexeme, array_to_string(u.positions, ',') AS positions
  FROM unnest($1::text[]) AS w(word), unnest(to_tsvector('english'::regconfig, w.word || ' ${SENTINEL}')) AS u`;

export function isPlainText(text: string): boolean {
  return PLAIN.test(text);
}

/**
 * The words of `search_index_text(text)` in order, for plain text only: its runs of letters and digits (what
 * is left of `regexp_replace(text, '[^[:alnum:]]+', ' ', 'g')`), then each compound joined — a chain of runs
 * each separated from the next by exactly one `.`, `_` or `-`, which is what the leftmost, greedy matches of
 * `[[:alnum:]]+(?:[._-][[:alnum:]]+)+` are. One pass over the text, no regular expression (the compound
 * pattern, retried at every letter of a run, made that version about twice as slow on python3-doc text).
 */
export function indexWords(text: string): string[] {
  const words: string[] = [];
  const compounds: string[] = [];
  let chainFirst = 0;
  let previousEnd = -2;
  const closeChain = (): void => {
    if (words.length - chainFirst >= 2) compounds.push(words.slice(chainFirst).join(''));
  };
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isAlnum(text.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && isAlnum(text.charCodeAt(j))) j++;
    if (!(i === previousEnd + 1 && isCompoundSeparator(text.charCodeAt(previousEnd)))) {
      closeChain();
      chainFirst = words.length;
    }
    words.push(text.slice(i, j));
    previousEnd = j;
    i = j;
  }
  closeChain();
  for (const c of compounds) words.push(c);
  return words;
}

/** `[[:alnum:]]` on plain text: ASCII letters and digits. */
function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** `[._-]` */
function isCompoundSeparator(c: number): boolean {
  return c === 46 || c === 95 || c === 45;
}

/**
 * What one word contributes: how many positions it takes, and its lexemes at offsets from its first one; a
 * string for the usual word of one position and one lexeme (that lexeme: the same string as the word when
 * stemming leaves it unchanged, so a cached entry costs little more than its key).
 */
export type WordLexemes = string | { width: number; lexemes: Array<{ lexeme: string; offset: number }> };

/** A row of WORD_LEXEMES_SQL. */
export interface WordLexemeRow {
  word: string;
  lexeme: string;
  positions: string;
}

/** WORD_LEXEMES_SQL's rows, per word (every word asked for has at least its sentinel's row). */
export function parseWordLexemes(rows: WordLexemeRow[]): Map<string, WordLexemes> {
  const perWord = new Map<string, Array<{ lexeme: string; positions: number[] }>>();
  for (const r of rows) {
    let list = perWord.get(r.word);
    if (!list) perWord.set(r.word, (list = []));
    list.push({ lexeme: r.lexeme, positions: r.positions.split(',').map(Number) });
  }
  const out = new Map<string, WordLexemes>();
  for (const [word, list] of perWord) {
    // the sentinel is the last token: the highest position of all
    let sentinel = 0;
    for (const e of list) for (const p of e.positions) if (p > sentinel) sentinel = p;
    const lexemes: Array<{ lexeme: string; offset: number }> = [];
    for (const e of list)
      for (const p of e.positions)
        if (!(p === sentinel && e.lexeme === SENTINEL)) lexemes.push({ lexeme: e.lexeme, offset: p - 1 });
    lexemes.sort((a, b) => a.offset - b.offset);
    if (sentinel === 2 && lexemes.length === 1)
      out.set(word, lexemes[0].lexeme === word ? word : lexemes[0].lexeme);
    else out.set(word, { width: sentinel - 1, lexemes });
  }
  return out;
}

/**
 * The tsvector literal of a chunk's words (indexWords of the lower-cased text: lower-casing ASCII changes no
 * word's bounds, and the english configuration lower-cases every token), `lookup` answering each: the same
 * lexemes and positions as to_tsvector over the whole text.
 */
export function assembleTsvector(words: string[], lookup: (word: string) => WordLexemes): string {
  const positions = new Map<string, number[]>();
  const add = (lexeme: string, position: number): void => {
    const p = Math.min(position, MAX_POSITION);
    let list = positions.get(lexeme);
    if (!list) positions.set(lexeme, (list = []));
    const last = list.length > 0 ? list[list.length - 1] : 0;
    if (list.length < MAX_POSITIONS_PER_LEXEME && last !== MAX_POSITION && last !== p) list.push(p);
  };
  let pos = 0;
  for (const word of words) {
    const entry = lookup(word);
    if (typeof entry === 'string') {
      add(entry, ++pos);
      continue;
    }
    for (const { lexeme, offset } of entry.lexemes) add(lexeme, pos + 1 + offset);
    pos += entry.width;
  }
  const parts: string[] = [];
  for (const [lexeme, list] of positions)
    parts.push(`'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}':${list.join(',')}`);
  return parts.join(' ');
}

/**
 * A bounded least-recently-used map of word → lexemes, shared by every upload of the process: at most
 * `maxEntries` words of at most MAX_CACHED_WORD characters (longer ones are looked up each time), so its
 * memory is bounded whatever the documents.
 */
export class WordLexemeCache {
  static readonly MAX_CACHED_WORD = 64;
  /**
   * Each entry keeps the key it was stored under: a hit is moved to the end under that key, never under the
   * caller's word — a slice of a chunk's text, which would keep the whole text alive for as long as the
   * entry lives.
   */
  private readonly map = new Map<string, { key: string; value: WordLexemes }>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.map.size;
  }

  get(word: string): WordLexemes | undefined {
    const hit = this.map.get(word);
    if (!hit) return undefined;
    this.map.delete(hit.key);
    this.map.set(hit.key, hit);
    return hit.value;
  }

  /** `word` should be a string of its own (the database's row), not a slice of a larger text. */
  set(word: string, value: WordLexemes): void {
    if (word.length > WordLexemeCache.MAX_CACHED_WORD || this.maxEntries <= 0) return;
    this.map.delete(word);
    this.map.set(word, { key: word, value });
    if (this.map.size > this.maxEntries) this.map.delete(this.map.keys().next().value as string);
  }
}
