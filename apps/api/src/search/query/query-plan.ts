import type { ParsedQuery, QueryUnit } from './query-parser';
import { ENGLISH_STOP_WORDS } from './stop-words';
import { allowedTypos, typoDistance } from './typos';

/** How a variant of a term matches: the word itself (stemmed), a prefix completion, or a typo correction. */
export type MatchKind = 'exact' | 'prefix' | 'typo';

/**
 * BM25 weight of each kind: exact matches outrank completions, which outrank corrections (a correction's
 * weight is divided by its typos, so it always stays below a completion's).
 */
export const KIND_WEIGHT: Record<MatchKind, number> = { exact: 1, prefix: 0.7, typo: 0.5 };
/** At most this many completions / corrections per word (the most frequent / nearest first). */
export const MAX_PREFIX_EXPANSIONS = 24;
export const MAX_TYPO_CANDIDATES = 24;
const MAX_TYPO_EXPANSIONS = 8;
/** A prefix shorter than this completes nothing (a single letter would match most of the vocabulary). */
const MIN_PREFIX_CHARS = 2;

/** What the analysis statement is asked about each text: its lexemes, and completions / corrections. */
export interface AnalysisRequest {
  text: string;
  /** Look for near words when the text is one unknown word. */
  typos: boolean;
  /** Look for words starting with it. */
  prefix: boolean;
}

/** What the database answered for the request at the same index. */
export interface AnalysisResult {
  /**
   * The text's lexemes in order (`positions` 1-based, stop words leave gaps); `known`: the text itself is a
   * word of the store's vocabulary.
   */
  lexemes: Array<{ lexeme: string; position: number; known: boolean }>;
  typos: Array<{ word: string; lexeme: string; docs: number }>;
  prefixes: Array<{ word: string; lexeme: string; docs: number }>;
}

/** One way a term can match: a lexeme, or several that must be adjacent (phrases, `node.js` → node, js). */
export interface Variant {
  group: number;
  unit: number;
  kind: MatchKind;
  weight: number;
  lexemes: string[];
  /** tsquery text of the variant (`'node' <-> 'js'` for a phrase). */
  tsquery: string;
  /** Adds to BM25 and matchedTerms but is not one of the groups a document must hold (group ≥ groupCount). */
  optional?: boolean;
}

export interface QueryPlan {
  /** The units of the query in order; `matchedTerms` reports their `text`. */
  units: QueryUnit[];
  /** Groups a document must hold (a group of stop words only is dropped; an optional word is not one). */
  groupCount: number;
  variants: Variant[];
  /** Lexemes whose documents are excluded, and excluded phrases (tsquery, OR-ed), if any. */
  excludedLexemes: string[];
  excludedPhrases: string | null;
  /** Each group's alternatives OR-ed, groups AND-ed: a chunk that holds every group. */
  allGroups: string | null;
  /** Every variant OR-ed: a chunk that holds anything the query asks for. */
  anyGroup: string | null;
  /** The query's terms as one phrase, in order and at their distances (null with OR or a single group). */
  sequence: string | null;
  /**
   * The query's words as a regular expression over a chunk's letters and digits (lower-cased, single-spaced),
   * stop words included, a corrected word as any word, the last word as a prefix: a chunk saying exactly
   * what was typed. Null with OR, or for a single word.
   */
  verbatim: string | null;
  /** Surface forms to highlight beyond the lexemes' own: completions and corrections used. */
  expansionWords: string[];
}

/** A lexeme as a tsquery operand. Lexemes come from to_tsvector over letters and digits only. */
export function tsLiteral(lexeme: string): string {
  return `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

function phrase(items: Array<{ lexeme: string; position: number }>): string {
  const sorted = [...items].sort((a, b) => a.position - b.position);
  let out = tsLiteral(sorted[0].lexeme);
  for (let i = 1; i < sorted.length; i++) {
    const gap = sorted[i].position - sorted[i - 1].position;
    out += gap === 1 ? ` <-> ${tsLiteral(sorted[i].lexeme)}` : ` <${gap}> ${tsLiteral(sorted[i].lexeme)}`;
  }
  return sorted.length > 1 ? `(${out})` : out;
}

/**
 * The texts to analyse for a parsed query: per unit, its tokens as one text (a word's parts, a phrase's
 * words); for a compound word (`node.js`) also its parts joined (`nodejs`, which the index holds too).
 */
export function analysisRequests(query: ParsedQuery): { requests: AnalysisRequest[]; index: number[][] } {
  const requests: AnalysisRequest[] = [];
  const index: number[][] = [];
  const units = [...query.groups.flat(), ...query.exclusions];
  const excluded = new Set(query.exclusions);
  for (const unit of units) {
    const single = unit.kind === 'word' && unit.tokens.length === 1 && !excluded.has(unit);
    const at = [requests.length];
    requests.push({
      text: unit.tokens.join(' '),
      typos: single && allowedTypos(unit.tokens[0]) > 0,
      prefix: single && unit.prefix && [...unit.tokens[0]].length >= MIN_PREFIX_CHARS,
    });
    if (unit.kind === 'word' && unit.tokens.length > 1) {
      at.push(requests.length);
      requests.push({ text: unit.tokens.join(''), typos: false, prefix: false });
    }
    index.push(at);
  }
  return { requests, index };
}

/** Turns the parsed query and the database's analysis into what the ranking statement needs. */
export function buildPlan(query: ParsedQuery, results: AnalysisResult[], index: number[][]): QueryPlan {
  const units = query.groups.flat();
  const variants: Variant[] = [];
  const expansionWords = new Set<string>();
  const groupOperands: string[] = [];
  const sequenceParts: Array<{ operand: string; first: number; last: number }> = [];
  let position = 0; // token position of the unit in the query, for the sequence phrase
  let sequenceBroken = query.groups.some((g) => g.length > 1);
  const verbatim: string[] = [];
  const optionalVariants: Variant[] = [];
  let groupIndex = 0;
  let unitIndex = 0;

  for (const group of query.groups) {
    const groupVariants: Variant[] = [];
    for (const unit of group) {
      const u = unitIndex++;
      const [main, joined] = index[u].map((i) => results[i]);
      const unitVariants: Variant[] = [];
      const add = (kind: MatchKind, lexemes: string[], tsquery: string, weight = KIND_WEIGHT[kind]) => {
        // The same lexeme reached two ways (`tests` as a correction, `testing` as a completion): the better counts.
        const same = unitVariants.find((v) => v.tsquery === tsquery);
        if (same && same.weight >= weight) return;
        if (same) Object.assign(same, { kind, weight });
        else unitVariants.push({ group: groupIndex, unit: u, kind, weight, lexemes, tsquery });
      };
      // A word the store does not have (`modifiation`) may still share a stem with one it has (`modified`):
      // that match is as uncertain as a correction, and ranks like one.
      const unknown = unit.tokens.length === 1 && main.lexemes.length === 1 && !main.lexemes[0].known;
      if (main.lexemes.length > 0)
        add(
          unknown ? 'typo' : 'exact',
          [...new Set(main.lexemes.map((l) => l.lexeme))],
          phrase(main.lexemes),
        );
      if (joined?.lexemes.length)
        add('exact', [joined.lexemes[0].lexeme], tsLiteral(joined.lexemes[0].lexeme));
      // Corrections only for a word the store does not have. A typo of a stop word (`whree`) is that stop
      // word: it matches nothing, like the word itself would.
      let corrected = false;
      if (unknown) {
        const word = unit.tokens[0];
        const max = allowedTypos(word);
        corrected = max > 0;
        if ([...ENGLISH_STOP_WORDS].some((stop) => typoDistance(word, stop, max) <= max))
          unitVariants.length = 0;
        else {
          const near = main.typos
            .map((t) => ({ ...t, distance: typoDistance(word, t.word, max) }))
            .filter((t) => t.distance <= max)
            .sort((a, b) => a.distance - b.distance || b.docs - a.docs)
            .slice(0, MAX_TYPO_EXPANSIONS);
          for (const t of near) {
            add('typo', [t.lexeme], tsLiteral(t.lexeme), KIND_WEIGHT.typo / t.distance);
            expansionWords.add(t.word);
          }
        }
      }
      if (!(corrected && unitVariants.length === 0))
        for (const p of main.prefixes) {
          add('prefix', [p.lexeme], tsLiteral(p.lexeme));
          expansionWords.add(p.word);
        }
      // A last word that may be a stop word being typed (`tho` → `those`) is optional: stop words are not
      // indexed, so requiring it would drop the very document being typed. It still adds to BM25.
      const optional =
        unit.prefix &&
        unit.tokens.length === 1 &&
        [...ENGLISH_STOP_WORDS].some((w) => w !== unit.tokens[0] && w.startsWith(unit.tokens[0]));
      if (optional) {
        for (const v of unitVariants) v.optional = true;
        optionalVariants.push(...unitVariants);
      } else groupVariants.push(...unitVariants);
      verbatim.push(
        unit.prefix && main.prefixes.length
          ? `${unit.tokens[0]}[[:alnum:]]*`
          : corrected
            ? '[[:alnum:]]+'
            : unit.tokens.join(' '),
      );
      if (!sequenceBroken) {
        if (unitVariants.length && !optional)
          sequenceParts.push({
            operand:
              unitVariants.length === 1
                ? unitVariants[0].tsquery
                : `(${unitVariants.map((v) => v.tsquery).join(' | ')})`,
            first: position + (main.lexemes[0]?.position ?? 1) - 1,
            last: position + (main.lexemes[main.lexemes.length - 1]?.position ?? 1) - 1,
          });
        position += unit.tokens.length;
      }
    }
    if (groupVariants.length === 0) continue; // stop words only: nothing to match
    variants.push(...groupVariants);
    groupOperands.push(
      groupVariants.length === 1
        ? groupVariants[0].tsquery
        : `(${groupVariants.map((v) => v.tsquery).join(' | ')})`,
    );
    groupIndex++;
  }
  if (sequenceParts.length < 2) sequenceBroken = true;
  // Optional variants get group numbers after the required ones (at most one optional unit: the last word).
  for (const v of optionalVariants) v.group = groupIndex;
  variants.push(...optionalVariants);

  let sequence: string | null = null;
  if (!sequenceBroken) {
    sequence = sequenceParts[0].operand;
    for (let i = 1; i < sequenceParts.length; i++) {
      const gap = sequenceParts[i].first - sequenceParts[i - 1].last;
      sequence +=
        gap === 1 ? ` <-> ${sequenceParts[i].operand}` : ` <${Math.max(1, gap)}> ${sequenceParts[i].operand}`;
    }
  }

  const verbatimWords = verbatim.join(' ').split(' ').length;
  const excludedLexemes: string[] = [];
  const excludedPhrases: string[] = [];
  query.exclusions.forEach((unit, i) => {
    const [main, joined] = index[units.length + i].map((n) => results[n]);
    if (main.lexemes.length === 1) excludedLexemes.push(main.lexemes[0].lexeme);
    else if (main.lexemes.length > 1) excludedPhrases.push(phrase(main.lexemes));
    if (joined?.lexemes.length) excludedLexemes.push(joined.lexemes[0].lexeme);
  });

  return {
    units,
    groupCount: groupIndex,
    variants,
    excludedLexemes: [...new Set(excludedLexemes)],
    excludedPhrases: excludedPhrases.length ? excludedPhrases.join(' | ') : null,
    allGroups: groupOperands.length ? groupOperands.join(' & ') : null,
    anyGroup: variants.length ? [...new Set(variants.map((v) => v.tsquery))].join(' | ') : null,
    sequence,
    verbatim:
      query.groups.some((g) => g.length > 1) || verbatimWords < 2 || groupIndex === 0
        ? null
        : `(^| )${verbatim.join(' ')}( |$)`,
    expansionWords: [...expansionWords],
  };
}

/** Per group, its variants OR-ed as a tsquery (the chunk statements count the groups a chunk holds). */
export function groupOperands(plan: QueryPlan): string[] {
  const out: string[] = [];
  for (let g = 0; g < plan.groupCount; g++) {
    const vs = plan.variants.filter((v) => v.group === g).map((v) => v.tsquery);
    out.push(vs.length === 1 ? vs[0] : `(${vs.join(' | ')})`);
  }
  return out;
}

/** Per unit, its variants OR-ed as a tsquery (null for a unit that matches nothing: stop words). */
export function unitOperands(plan: QueryPlan): Array<string | null> {
  return plan.units.map((_, u) => {
    const vs = plan.variants.filter((v) => v.unit === u).map((v) => v.tsquery);
    return vs.length === 0 ? null : vs.length === 1 ? vs[0] : `(${vs.join(' | ')})`;
  });
}
