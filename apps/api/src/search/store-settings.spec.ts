import { ValidationFailedError } from '@app/validation';
import { parseQuery } from './query/query-parser';
import { applySettings, EMPTY_SETTINGS, parseSettings, SETTINGS_LIMITS } from './store-settings';

const fieldsOf = (body: unknown): Record<string, string[]> => {
  try {
    parseSettings(body);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationFailedError);
    return (err as ValidationFailedError).details?.fields as Record<string, string[]>;
  }
  throw new Error('expected a ValidationFailedError');
};

const texts = (q: ReturnType<typeof parseQuery>) => q.groups.map((g) => g.map((u) => u.text));

describe('store settings', () => {
  it('normalises like the query parser: lower case, NFKC, punctuation as word breaks', () => {
    expect(
      parseSettings({
        synonyms: { K8s: ['Kubernetes', 'K8s'], 'Node.js': ['ＮＯＤＥ'] },
        synonymGroups: [['Car', 'automobile', 'car']],
        stopWords: ['Acme', 'acme'],
      }),
    ).toEqual({
      synonyms: { k8s: ['kubernetes'], 'node js': ['node'] },
      synonymGroups: [['car', 'automobile']],
      stopWords: ['acme'],
    });
    expect(parseSettings({})).toEqual(EMPTY_SETTINGS);
  });

  it('refuses control characters, lone surrogates and over-long words, naming each field', () => {
    expect(Object.keys(fieldsOf({ stopWords: ['a\u0000b', 'ok', '\ud800x', 'w'.repeat(65)] }))).toEqual([
      'stopWords[0]',
      'stopWords[2]',
      'stopWords[3]',
    ]);
    expect(Object.keys(fieldsOf({ synonyms: { 'a\nb': ['x'] } }))).toEqual(['synonyms.a\nb']);
  });

  it('one-way synonyms become OR alternatives of the term, not the other way round', () => {
    const s = parseSettings({ synonyms: { k8s: ['kubernetes', 'kube ctl'] } });
    expect(texts(applySettings(parseQuery('k8s deploy'), s))).toEqual([
      ['k8s', 'kubernetes', 'kube ctl'],
      ['deploy'],
    ]);
    const phrase = applySettings(parseQuery('k8s'), s).groups[0][2];
    expect(phrase).toEqual({ kind: 'phrase', text: 'kube ctl', tokens: ['kube', 'ctl'], prefix: false });
    expect(texts(applySettings(parseQuery('kubernetes'), s))).toEqual([['kubernetes']]);
  });

  it('groups are multi-way; stop words leave their groups, and a query of stop words only has none', () => {
    const s = parseSettings({ synonymGroups: [['car', 'auto']], stopWords: ['acme', 'inc'] });
    expect(texts(applySettings(parseQuery('auto acme'), s))).toEqual([['auto', 'car']]);
    expect(texts(applySettings(parseQuery('acme inc'), s))).toEqual([]);
    // a quoted phrase and an exclusion keep the word
    const q = applySettings(parseQuery('"acme inc" -acme'), s);
    expect(texts(q)).toEqual([['acme inc']]);
    expect(q.exclusions.map((u) => u.text)).toEqual(['acme']);
  });

  it('bounds the expansions of one query whatever the settings hold', () => {
    const synonyms = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`w${i}`, Array.from({ length: 16 }, (_, j) => `s${i}x${j}`)]),
    );
    const s = parseSettings({ synonyms });
    const q = applySettings(parseQuery(Array.from({ length: 32 }, (_, i) => `w${i}`).join(' ')), s);
    const added = q.groups.reduce((n, g) => n + g.length - 1, 0);
    expect(added).toBe(SETTINGS_LIMITS.maxExpansionsPerQuery);
  });
});
