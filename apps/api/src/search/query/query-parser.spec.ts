import { InvalidQueryError } from '../search.errors';
import { parseQuery, QueryUnit } from './query-parser';

const texts = (units: QueryUnit[]) => units.map((u) => u.text);

describe('parseQuery', () => {
  it('ANDs words and splits each into the tokens the index holds', () => {
    const sut = parseQuery('GitHub node.js foo_bar e-mail');
    expect(sut.groups.map(texts)).toEqual([['github'], ['node.js'], ['foo_bar'], ['e-mail']]);
    expect(sut.groups.map((g) => g[0].tokens)).toEqual([
      ['github'],
      ['node', 'js'],
      ['foo', 'bar'],
      ['e', 'mail'],
    ]);
    expect(sut.exclusions).toEqual([]);
    expect(sut.wordCount).toBe(7);
    expect(parseQuery('the cats or the dogs -of').wordCount).toBe(2); // stop words cost nothing
  });

  it('binds OR tighter than AND, and - to one term that is excluded from the whole query', () => {
    const sut = parseQuery('"parental leave" OR sabbatical -draft');
    expect(sut.groups.map(texts)).toEqual([['parental leave', 'sabbatical']]);
    expect(sut.groups[0][0]).toMatchObject({ kind: 'phrase', tokens: ['parental', 'leave'] });
    expect(texts(sut.exclusions)).toEqual(['draft']);
    const chain = parseQuery('a b OR c OR d e');
    expect(chain.groups.map(texts)).toEqual([['a'], ['b', 'c', 'd'], ['e']]);
  });

  it('excludes phrases and keeps hyphens inside words', () => {
    const sut = parseQuery('widgets -"draft copy" re-use');
    expect(texts(sut.exclusions)).toEqual(['draft copy']);
    expect(sut.groups.map(texts)).toEqual([['widgets'], ['re-use']]);
  });

  it('treats lower-case or as a word, and only the last plain word as a prefix', () => {
    expect(parseQuery('cats or dogs').groups.map(texts)).toEqual([['cats'], ['or'], ['dogs']]);
    const sut = parseQuery('configuring widg');
    expect(sut.groups.map((g) => g[0].prefix)).toEqual([false, true]);
    expect(parseQuery('widg -draft').groups[0][0].prefix).toBe(false);
    expect(parseQuery('"widg"').groups[0][0].prefix).toBe(false);
  });

  it('is lenient where the intent is clear: an unclosed quote, punctuation and a lone dash', () => {
    expect(parseQuery('"parental leave').groups[0][0]).toMatchObject({
      kind: 'phrase',
      text: 'parental leave',
    });
    expect(parseQuery('python — a language ( - )').groups.map(texts)).toEqual([
      ['python'],
      ['a'],
      ['language'],
    ]);
    expect(parseQuery('“curly quotes”').groups[0][0].kind).toBe('phrase');
  });

  it.each([
    ['OR first', 'OR widgets'],
    ['OR last', 'widgets OR'],
    ['OR twice', 'a OR OR b'],
    ['OR next to an exclusion', 'a OR -b'],
    ['an empty phrase', 'widgets ""'],
    ['a phrase of punctuation', '"—" widgets'],
    ['only exclusions', '-draft -"old copy"'],
  ])('refuses %s with an InvalidQueryError (400 INVALID_QUERY)', (_label, query) => {
    expect(() => parseQuery(query)).toThrow(InvalidQueryError);
    try {
      parseQuery(query);
    } catch (err) {
      expect(err).toMatchObject({ status: 400, code: 'INVALID_QUERY', message: expect.any(String) });
    }
  });
});
