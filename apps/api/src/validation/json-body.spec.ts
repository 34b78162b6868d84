import { jsonDepthExceeds } from './json-body';
import { nulFields } from './nul-guard';

describe('jsonDepthExceeds', () => {
  it.each([
    ['{}', 1, false],
    ['{"a":{}}', 1, true],
    ['[[[1]]]', 3, false],
    ['[[[[1]]]]', 3, true],
    ['[[],[],[[]]]', 3, false],
    ['[[],[],[[[]]]]', 3, true],
  ])('%s with limit %d → %p', (text, max, expected) => {
    expect(jsonDepthExceeds(text, max)).toBe(expected);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonDepthExceeds(JSON.stringify({ a: '[[[[[[[[[[' }), 2)).toBe(false);
    expect(jsonDepthExceeds(JSON.stringify({ a: 'x"[[[[[[[[["\\' }), 2)).toBe(false);
    expect(jsonDepthExceeds(JSON.stringify({ a: '\\', b: [[[[]]]] }), 3)).toBe(true);
  });

  it('is one pass: a 1 MB nested body is judged without recursion', () => {
    const deep = '['.repeat(500_000) + ']'.repeat(500_000);
    expect(jsonDepthExceeds(deep, 32)).toBe(true);
    expect(
      jsonDepthExceeds(JSON.stringify({ list: Array.from({ length: 50_000 }, (_, i) => [i]) }), 32),
    ).toBe(false);
  });
});

describe('nulFields', () => {
  it('names every string value or key holding a NUL by its dotted path', () => {
    expect(
      nulFields({
        name: 'a\0b',
        ok: 'fine',
        urls: [{ url: 'x' }, { url: 'y\0' }],
        ['k\0']: 1,
        n: 5,
        z: null,
      }),
    ).toEqual(['name', 'urls.1.url', 'k\0']);
    expect(nulFields('\0')).toEqual(['(body)']);
    expect(nulFields({ q: ['a', 'b\0'] })).toEqual(['q.1']);
    expect(nulFields({ a: 'clean' })).toEqual([]);
  });
});
