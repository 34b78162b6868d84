import { InvalidQueryError } from '../search.errors';
import { ENGLISH_STOP_WORDS } from './stop-words';

/**
 * One thing the user asked for: a word (`widgets`, `node.js`, `configurng`) or a quoted phrase.
 * `tokens` are its letter/digit runs, lower-cased — what the index sees (`node.js` → `node`, `js`).
 */
export interface QueryUnit {
  kind: 'word' | 'phrase';
  /** How the term is reported back in `matchedTerms`: lower-cased, as typed (`node.js`, `parental leave`). */
  text: string;
  tokens: string[];
  /** The last word of the query: it also matches as a prefix (search as you type). */
  prefix: boolean;
}

/**
 * A parsed query. Precedence, tightest first: quotes make one phrase; `-` excludes the word or phrase it is
 * attached to from every result; `OR` joins the terms on either side into one group; groups are ANDed
 * (and relaxed when too few documents match them all).
 */
export interface ParsedQuery {
  /** Every group must match (each group: one unit, or alternatives joined by OR). */
  groups: QueryUnit[][];
  /** A document containing any of these is never returned. */
  exclusions: QueryUnit[];
  /**
   * Words the database will match: phrases' words and exclusions included, stop words not (the index has
   * none, so they cost nothing). The query cost bound (SEARCH_QUERY_MAX_TERMS) counts these.
   */
  wordCount: number;
}

const QUOTES = /["\u201c\u201d\u201e]/;
const SPACE = /\s/;
const TOKEN = /[\p{L}\p{N}]+/gu;

type Item = { type: 'unit'; unit: QueryUnit; negated: boolean } | { type: 'or'; at: number };

function tokens(text: string): string[] {
  return text.toLowerCase().match(TOKEN) ?? [];
}

/**
 * Parses web-search syntax: `"quoted phrase"`, `a OR b` (upper-case OR only: a pasted sentence's "or" stays a
 * word), `-word` / `-"phrase"`. Lenient where the intent is clear (an unclosed quote runs to the end, a lone
 * `-` or other punctuation is ignored); an InvalidQueryError (400) where it is not.
 */
export function parseQuery(input: string): ParsedQuery {
  const text = input.normalize('NFKC');
  const items: Item[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (SPACE.test(c)) {
      i++;
      continue;
    }
    let negated = false;
    let start = i;
    if (c === '-' && i + 1 < text.length && !SPACE.test(text[i + 1])) {
      negated = true;
      start = i + 1;
    }
    if (QUOTES.test(text[start] ?? '')) {
      let end = start + 1;
      while (end < text.length && !QUOTES.test(text[end])) end++;
      const body = text.slice(start + 1, end);
      const words = tokens(body);
      if (words.length === 0)
        throw new InvalidQueryError(
          `The quoted phrase at character ${start + 1} contains no word to search for`,
        );
      items.push({
        type: 'unit',
        negated,
        unit: { kind: 'phrase', text: words.join(' '), tokens: words, prefix: false },
      });
      i = end + 1;
      continue;
    }
    let end = start;
    while (end < text.length && !SPACE.test(text[end]) && !QUOTES.test(text[end])) end++;
    const raw = text.slice(start, end);
    i = end;
    if (raw === 'OR' && !negated) {
      items.push({ type: 'or', at: start });
      continue;
    }
    const words = tokens(raw);
    if (words.length === 0) continue; // punctuation on its own (`—`, `(`, `-`): nothing to search for
    items.push({
      type: 'unit',
      negated,
      unit: { kind: 'word', text: raw.toLowerCase(), tokens: words, prefix: false },
    });
  }

  const groups: QueryUnit[][] = [];
  const exclusions: QueryUnit[] = [];
  let joinNext = false;
  items.forEach((item, n) => {
    if (item.type === 'or') {
      const before = items[n - 1];
      const after = items[n + 1];
      if (
        !before ||
        before.type !== 'unit' ||
        before.negated ||
        !after ||
        after.type !== 'unit' ||
        after.negated
      )
        throw new InvalidQueryError(
          `OR at character ${item.at + 1} must stand between two terms (an excluded -term cannot be one of them)`,
        );
      joinNext = true;
      return;
    }
    if (item.negated) exclusions.push(item.unit);
    else if (joinNext) groups[groups.length - 1].push(item.unit);
    else groups.push([item.unit]);
    joinNext = false;
  });
  if (groups.length === 0 && exclusions.length > 0)
    throw new InvalidQueryError('The query only excludes terms: add at least one term to search for');

  // Search as you type: the query's last item, when it is a plain word, also matches as a prefix.
  const last = items[items.length - 1];
  if (last?.type === 'unit' && !last.negated && last.unit.kind === 'word') last.unit.prefix = true;

  const wordCount = [...groups.flat(), ...exclusions].reduce(
    (n, u) => n + u.tokens.filter((t) => !ENGLISH_STOP_WORDS.has(t)).length,
    0,
  );
  return { groups, exclusions, wordCount };
}
