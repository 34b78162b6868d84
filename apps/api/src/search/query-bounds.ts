import { parseQuery } from './query/query-parser';
import { SearchQueryTooLargeError } from './search.errors';

export interface SearchQueryLimits {
  /** SEARCH_QUERY_MAX_CHARS */
  maxChars: number;
  /** SEARCH_QUERY_MAX_TERMS */
  maxTerms: number;
}

// A term is a run of letters or digits: what becomes a lexeme of the tsquery. Operators (OR, -, quotes)
// are not terms; hyphenated and dotted words count per part, as the index splits them too.
const TERM = /[\p{L}\p{N}]+/gu;

/**
 * The number of words a query asks the database to match, as the query parser reads them (phrases' and
 * excluded words included; the OR operator and stop words, which the index does not hold, not). A query
 * the parser refuses is counted word by word; the search then answers 400 INVALID_QUERY for it, unless it
 * is over the bound first.
 */
export function countQueryTerms(query: string): number {
  try {
    return parseQuery(query).wordCount;
  } catch {
    let n = 0;
    for (const [term] of query.matchAll(TERM)) if (term !== 'OR') n++;
    return n;
  }
}

/** Characters as a person counts them: an astral character (emoji) is one, as the DTO counted it. */
function codePoints(text: string, stopAfter: number): number {
  let n = 0;
  for (const _ of text) if (++n > stopAfter) break;
  return n;
}

/**
 * The cost bound of a search, checked before any SQL on both adapters: a query longer than maxChars
 * or with more than maxTerms words is a 400 naming the limit (a 200-word query over a large store can
 * keep a database busy for minutes).
 */
export function checkQueryBounds(query: string, field: string, limits: SearchQueryLimits): void {
  const chars = codePoints(query, limits.maxChars);
  if (chars > limits.maxChars)
    throw new SearchQueryTooLargeError(field, {
      name: 'SEARCH_QUERY_MAX_CHARS',
      max: limits.maxChars,
      actual: codePoints(query, Infinity),
      unit: 'characters',
    });
  const terms = countQueryTerms(query);
  if (terms > limits.maxTerms)
    throw new SearchQueryTooLargeError(field, {
      name: 'SEARCH_QUERY_MAX_TERMS',
      max: limits.maxTerms,
      actual: terms,
      unit: 'terms',
    });
}
