import { ValidationFailedError } from '@app/validation';
import { hasUnsafeCharacters } from './unsafe-text';
import type { ParsedQuery, QueryUnit } from './query/query-parser';

/**
 * A store's query-time settings (issue 23, item 4): synonyms and stop words, applied to the parsed query before
 * its words are looked up, so changing them needs no re-index (and moves the store's version, so cached
 * results follow).
 *
 * - `synonyms` (one-way): `{"k8s": ["kubernetes", "k 8 s"]}` — a query term `k8s` also matches the words on the
 *   right (as if typed `k8s OR kubernetes OR "k 8 s"`); `kubernetes` does not match `k8s`.
 * - `synonymGroups` (multi-way): `[["car", "automobile", "auto"]]` — each term of a group matches every other.
 * - `stopWords`: query words the store ignores (a query of stop words only finds nothing). Exclusions
 *   (`-word`) and quoted phrases keep them.
 *
 * Entries are words or short phrases (letters and digits, compared lower-cased and NFKC-normalised, the way the
 * query parser reads them).
 */
export interface StoreSettings {
  synonyms: Record<string, string[]>;
  synonymGroups: string[][];
  stopWords: string[];
}

export const SETTINGS_LIMITS = {
  /** one-way entries plus groups */
  maxSynonymEntries: 1000,
  /** alternatives of one one-way entry, members of one group */
  maxAlternatives: 16,
  /** words of one synonym (a short phrase) */
  maxWordsPerSynonym: 4,
  /** characters of one synonym or stop word */
  maxChars: 64,
  maxStopWords: 1000,
  /** alternatives one query term expands to (one-way and groups together); further ones are left out */
  maxExpansionsPerTerm: 16,
  /** alternatives added to one query in all */
  maxExpansionsPerQuery: 64,
} as const;

export const EMPTY_SETTINGS: StoreSettings = { synonyms: {}, synonymGroups: [], stopWords: [] };

const TOKEN = /[\p{L}\p{N}]+/gu;

function tokens(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(TOKEN) ?? [];
}

/** A synonym or stop word as the parser would read it (`K8s` → `k8s`, `Node.js` → `node js`). */
function term(
  value: unknown,
  field: string,
  problems: Record<string, string[]>,
  maxWords: number,
): string | undefined {
  const fail = (message: string) => {
    (problems[field] ??= []).push(message);
    return undefined;
  };
  if (typeof value !== 'string') return fail(`${field} must be a string`);
  if (value.length > SETTINGS_LIMITS.maxChars)
    return fail(`${field} must be at most ${SETTINGS_LIMITS.maxChars} characters long`);
  if (hasUnsafeCharacters(value)) return fail(`${field} must not hold control characters`);
  const words = tokens(value);
  if (words.length === 0) return fail(`${field} must hold a letter or digit`);
  if (words.length > maxWords)
    return fail(maxWords === 1 ? `${field} must be one word` : `${field} must be at most ${maxWords} words`);
  return words.join(' ');
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks and normalises a PUT body. Every problem is reported at once, by field (`synonyms.k8s[0]`); the
 * first few per field are kept so a huge body does not make a huge answer.
 */
export function parseSettings(body: unknown): StoreSettings {
  const problems: Record<string, string[]> = {};
  const L = SETTINGS_LIMITS;
  if (!isObject(body)) throw new ValidationFailedError({ body: ['the settings must be a JSON object'] });
  const unknown = Object.keys(body).filter((k) => !['synonyms', 'synonymGroups', 'stopWords'].includes(k));
  for (const k of unknown) problems[k] = [`property ${k} should not exist`];

  const synonyms: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  const rawSynonyms = body.synonyms ?? {};
  const rawGroups = body.synonymGroups ?? [];
  if (!isObject(rawSynonyms)) problems.synonyms = ['synonyms must be an object of word → list of words'];
  if (!Array.isArray(rawGroups)) problems.synonymGroups = ['synonymGroups must be a list of lists of words'];
  const entries = isObject(rawSynonyms) ? Object.entries(rawSynonyms) : [];
  const groupCount = Array.isArray(rawGroups) ? rawGroups.length : 0;
  if (entries.length + groupCount > L.maxSynonymEntries)
    problems.synonyms = [
      `synonyms and synonymGroups hold ${entries.length + groupCount} entries; at most ${L.maxSynonymEntries} are allowed`,
    ];
  else {
    for (const [rawKey, rawValues] of entries) {
      const field = `synonyms.${rawKey.slice(0, L.maxChars)}`;
      const key = term(rawKey, field, problems, L.maxWordsPerSynonym);
      if (!Array.isArray(rawValues) || rawValues.length === 0 || rawValues.length > L.maxAlternatives) {
        (problems[field] ??= []).push(`${field} must be a list of 1 to ${L.maxAlternatives} words`);
        continue;
      }
      const values = rawValues.map((v, i) => term(v, `${field}[${i}]`, problems, L.maxWordsPerSynonym));
      if (key === undefined || values.some((v) => v === undefined)) continue;
      const merged = new Set([...(synonyms[key] ?? []), ...(values as string[])]);
      merged.delete(key);
      synonyms[key] = [...merged].slice(0, L.maxAlternatives);
    }
    (Array.isArray(rawGroups) ? rawGroups : []).forEach((rawGroup: unknown, g) => {
      const field = `synonymGroups[${g}]`;
      if (!Array.isArray(rawGroup) || rawGroup.length < 2 || rawGroup.length > L.maxAlternatives + 1) {
        (problems[field] ??= []).push(`${field} must be a list of 2 to ${L.maxAlternatives + 1} words`);
        return;
      }
      rawGroup.forEach((v, i) => term(v, `${field}[${i}]`, problems, L.maxWordsPerSynonym));
    });
  }
  const synonymGroups: string[][] = [];
  if (!problems.synonyms && Array.isArray(rawGroups))
    for (const rawGroup of rawGroups as unknown[]) {
      if (!Array.isArray(rawGroup)) continue;
      const members = rawGroup.map((v) => term(v, 'ignored', {}, L.maxWordsPerSynonym));
      if (members.every((m): m is string => m !== undefined)) synonymGroups.push([...new Set(members)]);
    }

  const rawStop = body.stopWords ?? [];
  const stopWords = new Set<string>();
  if (!Array.isArray(rawStop)) problems.stopWords = ['stopWords must be a list of words'];
  else if (rawStop.length > L.maxStopWords)
    problems.stopWords = [`stopWords holds ${rawStop.length} words; at most ${L.maxStopWords} are allowed`];
  else
    rawStop.forEach((v: unknown, i) => {
      const word = term(v, `stopWords[${i}]`, problems, 1);
      if (word !== undefined) stopWords.add(word);
    });

  const fields = Object.keys(problems);
  if (fields.length) {
    // a body with thousands of bad entries: the first 20 fields, 3 messages each, say enough
    const shown: Record<string, string[]> = {};
    for (const f of fields.slice(0, 20)) shown[f] = problems[f].slice(0, 3);
    throw new ValidationFailedError(shown);
  }
  return { synonyms: { ...synonyms }, synonymGroups, stopWords: [...stopWords] };
}

/**
 * The stored settings (jsonb), read leniently: a store never configured, or a field missing, is empty.
 * Only what parseSettings wrote is ever stored.
 */
export function readSettings(stored: unknown): StoreSettings {
  if (!isObject(stored)) return EMPTY_SETTINGS;
  return {
    synonyms: isObject(stored.synonyms) ? (stored.synonyms as Record<string, string[]>) : {},
    synonymGroups: Array.isArray(stored.synonymGroups) ? (stored.synonymGroups as string[][]) : [],
    stopWords: Array.isArray(stored.stopWords) ? (stored.stopWords as string[]) : [],
  };
}

export function hasSettings(s: StoreSettings): boolean {
  return Object.keys(s.synonyms).length > 0 || s.synonymGroups.length > 0 || s.stopWords.length > 0;
}

/**
 * The query as the store reads it: stop-word units dropped from their groups (a group left empty goes, so a
 * query of stop words only matches nothing), then each remaining unit's synonyms added to its group as OR
 * alternatives (never as prefixes or typo candidates: only what the settings say). Bounded by
 * maxExpansionsPerTerm / maxExpansionsPerQuery, whatever the settings hold.
 */
export function applySettings(query: ParsedQuery, settings: StoreSettings): ParsedQuery {
  if (!hasSettings(settings)) return query;
  const stop = new Set(settings.stopWords);
  const expansions = new Map<string, Set<string>>();
  const addTo = (key: string, values: Iterable<string>) => {
    let set = expansions.get(key);
    if (!set) expansions.set(key, (set = new Set()));
    for (const v of values) if (v !== key) set.add(v);
  };
  for (const [key, values] of Object.entries(settings.synonyms)) addTo(key, values);
  for (const group of settings.synonymGroups) for (const member of group) addTo(member, group);

  let budget = SETTINGS_LIMITS.maxExpansionsPerQuery;
  const groups: QueryUnit[][] = [];
  for (const group of query.groups) {
    const kept = group.filter((u) => !(u.kind === 'word' && u.tokens.length === 1 && stop.has(u.tokens[0])));
    if (kept.length === 0) continue;
    const out = [...kept];
    const present = new Set(kept.map((u) => u.tokens.join(' ')));
    for (const unit of kept) {
      const alternatives = [...(expansions.get(unit.tokens.join(' ')) ?? [])]
        .filter((a) => !present.has(a))
        .slice(0, Math.min(SETTINGS_LIMITS.maxExpansionsPerTerm, budget));
      for (const text of alternatives) {
        const words = text.split(' ');
        out.push({ kind: words.length > 1 ? 'phrase' : 'word', text, tokens: words, prefix: false });
        present.add(text);
      }
      budget -= alternatives.length;
    }
    groups.push(out);
  }
  return { ...query, groups };
}
