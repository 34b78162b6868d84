import { AppError } from '@app/errors';
import { asDate, METADATA_KEY } from '../metadata/metadata';

/**
 * The filter language (issue 23, item 2), parsed by hand with every size bounded before any SQL exists:
 *
 *   filter     := or
 *   or         := and ( OR and )*
 *   and        := not ( AND not )*
 *   not        := NOT not | primary
 *   primary    := ( filter ) | key EXISTS | key NOT EXISTS | key [NOT] IN ( value {, value} )
 *               | key op value                                  op := = != < <= > >=
 *   value      := "string" | 'string' | number | true | false | bare word (letters, digits, . _ - : / +)
 *
 * Keywords are case-insensitive. A value in ISO 8601 form (`2026-01-01`, `2026-01-01T10:00:00Z`) is a date,
 * `true`/`false` a boolean, a number a number; anything else a string. A quoted value is a string (quote
 * numbers, booleans and keywords to match them as strings: `code = "42"`, `status = "and"`), except an ISO
 * date, which is a date either way (metadata stores such strings as dates).
 */
export type FilterValue =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'date'; value: string };

export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type FilterNode =
  | { type: 'and' | 'or'; items: FilterNode[] }
  | { type: 'not'; item: FilterNode }
  | { type: 'exists'; key: string }
  | { type: 'in'; key: string; values: FilterValue[] }
  | { type: 'compare'; key: string; op: ComparisonOp; value: FilterValue };

export const FILTER_LIMITS = {
  /** Characters of the whole expression. */
  chars: 2000,
  /** Nesting of parentheses and NOT. */
  depth: 8,
  /** Conditions (comparisons, IN, EXISTS). */
  conditions: 50,
  /** Values of one IN list, and of the whole expression. */
  inValues: 100,
  values: 200,
} as const;

/** 400 INVALID_FILTER, with the 1-based character position the parser stopped at. */
export class InvalidFilterError extends AppError {
  constructor(message: string, position: number, field = 'filter') {
    super(400, 'INVALID_FILTER', `${field}: ${message} (at position ${position})`, { field, position });
  }
}

type Token =
  | { t: 'word'; text: string; pos: number }
  | { t: 'string'; text: string; pos: number }
  | { t: 'op'; text: ComparisonOp; pos: number }
  | { t: '(' | ')' | ','; pos: number }
  | { t: 'end'; pos: number };

const BARE = /[A-Za-z0-9._:/+-]/;
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'exists']);

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i];
    const pos = i + 1;
    if (/\s/.test(c)) i++;
    else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: c, pos });
      i++;
    } else if (c === '=' || c === '<' || c === '>' || c === '!') {
      const two = input.slice(i, i + 2);
      if (two === '!=' || two === '<=' || two === '>=') {
        tokens.push({ t: 'op', text: two, pos });
        i += 2;
      } else if (c === '!') throw new InvalidFilterError('"!" must be followed by "="', pos);
      else {
        tokens.push({ t: 'op', text: c as ComparisonOp, pos });
        i++;
      }
    } else if (c === '"' || c === "'") {
      let text = '';
      let j = i + 1;
      for (; j < input.length && input[j] !== c; j++) {
        if (input[j] === '\\' && j + 1 < input.length) j++;
        text += input[j];
      }
      if (j >= input.length) throw new InvalidFilterError('unterminated quoted value', pos);
      tokens.push({ t: 'string', text, pos });
      i = j + 1;
    } else if (BARE.test(c)) {
      let j = i;
      while (j < input.length && BARE.test(input[j])) j++;
      tokens.push({ t: 'word', text: input.slice(i, j), pos });
      i = j;
    } else throw new InvalidFilterError(`unexpected character "${c}"`, pos);
  }
  tokens.push({ t: 'end', pos: input.length + 1 });
  return tokens;
}

function classify(text: string, quoted: boolean): FilterValue {
  const date = asDate(text);
  if (date) return { kind: 'date', value: date };
  if (!quoted) {
    if (NUMBER.test(text)) {
      const n = Number(text);
      if (Number.isFinite(n)) return { kind: 'number', value: n };
    }
    const lower = text.toLowerCase();
    if (lower === 'true' || lower === 'false') return { kind: 'boolean', value: lower === 'true' };
  }
  return { kind: 'string', value: text };
}

class Parser {
  private i = 0;
  private conditions = 0;
  private values = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly field: string,
  ) {}

  private fail(message: string, token: Token = this.peek()): never {
    throw new InvalidFilterError(message, token.pos, this.field);
  }
  private peek(): Token {
    return this.tokens[this.i];
  }
  private next(): Token {
    return this.tokens[this.i++];
  }
  private isKeyword(token: Token, word: string): boolean {
    return token.t === 'word' && token.text.toLowerCase() === word;
  }

  parse(): FilterNode {
    const node = this.or(0);
    const rest = this.peek();
    if (rest.t !== 'end') this.fail(rest.t === ')' ? 'unbalanced ")"' : 'expected AND, OR or the end');
    return node;
  }

  private or(depth: number): FilterNode {
    const items = [this.and(depth)];
    while (this.isKeyword(this.peek(), 'or')) {
      this.next();
      items.push(this.and(depth));
    }
    return items.length === 1 ? items[0] : { type: 'or', items };
  }

  private and(depth: number): FilterNode {
    const items = [this.not(depth)];
    while (this.isKeyword(this.peek(), 'and')) {
      this.next();
      items.push(this.not(depth));
    }
    return items.length === 1 ? items[0] : { type: 'and', items };
  }

  private not(depth: number): FilterNode {
    const token = this.peek();
    if (this.isKeyword(token, 'not')) {
      if (depth >= FILTER_LIMITS.depth)
        this.fail(`nested deeper than ${FILTER_LIMITS.depth} levels (parentheses and NOT)`);
      this.next();
      return { type: 'not', item: this.not(depth + 1) };
    }
    return this.primary(depth);
  }

  private primary(depth: number): FilterNode {
    const token = this.next();
    if (token.t === '(') {
      if (depth >= FILTER_LIMITS.depth)
        this.fail(`nested deeper than ${FILTER_LIMITS.depth} levels (parentheses and NOT)`, token);
      const node = this.or(depth + 1);
      if (this.peek().t !== ')') this.fail('expected ")"');
      this.next();
      return node;
    }
    if (token.t !== 'word' || KEYWORDS.has(token.text.toLowerCase()))
      this.fail(
        token.t === 'end' ? 'expected a condition, the filter ended' : 'expected a metadata key',
        token,
      );
    if (!METADATA_KEY.test(token.text))
      this.fail('a key is a letter or _, then letters, digits, _ or - (at most 64 characters)', token);
    if (++this.conditions > FILTER_LIMITS.conditions)
      this.fail(`more than ${FILTER_LIMITS.conditions} conditions`, token);
    const key = token.text;
    const after = this.peek();
    if (this.isKeyword(after, 'exists')) {
      this.next();
      return { type: 'exists', key };
    }
    if (this.isKeyword(after, 'not')) {
      this.next();
      const what = this.next();
      if (this.isKeyword(what, 'exists')) return { type: 'not', item: { type: 'exists', key } };
      if (this.isKeyword(what, 'in')) return { type: 'not', item: this.inList(key) };
      this.fail('expected EXISTS or IN after NOT', what);
    }
    if (this.isKeyword(after, 'in')) {
      this.next();
      return this.inList(key);
    }
    if (after.t !== 'op') this.fail('expected an operator (= != < <= > >=), IN or EXISTS', after);
    this.next();
    const value = this.value();
    if (after.text !== '=' && after.text !== '!=' && value.kind === 'boolean')
      this.fail(`${after.text} compares numbers, dates and strings, not booleans`, after);
    return { type: 'compare', key, op: after.text, value };
  }

  private inList(key: string): FilterNode {
    if (this.peek().t !== '(') this.fail('expected "(" after IN');
    this.next();
    const values: FilterValue[] = [];
    for (;;) {
      if (values.length >= FILTER_LIMITS.inValues)
        this.fail(`an IN list holds at most ${FILTER_LIMITS.inValues} values`);
      values.push(this.value());
      const sep = this.next();
      if (sep.t === ')') break;
      if (sep.t !== ',') this.fail('expected "," or ")" in the IN list', sep);
    }
    return { type: 'in', key, values };
  }

  private value(): FilterValue {
    const token = this.next();
    if (token.t !== 'word' && token.t !== 'string') this.fail('expected a value', token);
    if (token.t === 'word' && KEYWORDS.has(token.text.toLowerCase()))
      this.fail(`"${token.text}" is a keyword: quote it to use it as a value`, token);
    if (++this.values > FILTER_LIMITS.values) this.fail(`more than ${FILTER_LIMITS.values} values`, token);
    return classify(token.text, token.t === 'string');
  }
}

/** Parses a filter expression; 400 INVALID_FILTER (with the position) for anything malformed or too large. */
export function parseFilter(input: string, field = 'filter'): FilterNode {
  if (input.length > FILTER_LIMITS.chars)
    throw new InvalidFilterError(
      `longer than ${FILTER_LIMITS.chars} characters`,
      FILTER_LIMITS.chars + 1,
      field,
    );
  if (!input.trim()) throw new InvalidFilterError('the filter is empty', 1, field);
  return new Parser(tokenize(input), field).parse();
}
