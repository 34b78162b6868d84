import { allowedTypos, typoDistance } from './typos';

describe('typos', () => {
  it('allows none below 5 characters, one from 5, two from 9', () => {
    expect(['wid', 'widg', 'widge', 'widgetsx', 'configure', 'configuring'].map(allowedTypos)).toEqual([
      0, 0, 1, 1, 2, 2,
    ]);
    expect(allowedTypos('äöüßé')).toBe(1); // characters, not bytes
  });

  it('counts an insertion, deletion, substitution or swap of neighbours as one typo', () => {
    expect(typoDistance('widgets', 'widgets')).toBe(0);
    expect(typoDistance('widgts', 'widgets')).toBe(1);
    expect(typoDistance('widgetts', 'widgets')).toBe(1);
    expect(typoDistance('wodgets', 'widgets')).toBe(1);
    expect(typoDistance('recieve', 'receive')).toBe(1);
    expect(typoDistance('configurng', 'configuring')).toBe(1);
    expect(typoDistance('confgiuration', 'configuration')).toBe(1);
    expect(typoDistance('kitten', 'sitting')).toBe(3);
  });

  it('stops early past the bound', () => {
    expect(typoDistance('a', 'abcdef', 1)).toBe(2);
    expect(typoDistance('abcdef', 'uvwxyz', 2)).toBe(3);
  });
});
