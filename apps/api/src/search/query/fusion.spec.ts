import { hybridFusion, reciprocalRankFusion } from './fusion';

describe('reciprocalRankFusion', () => {
  it('ranks what both rankings hold first, scores 0–1, and keeps the better rank on ties', () => {
    const fused = reciprocalRankFusion([
      ['a', 'b', 'c'],
      ['c', 'd', 'a'],
    ]);
    expect(fused.map((f) => f.key)).toEqual(['a', 'c', 'b', 'd']);
    expect(fused[0].score).toBeCloseTo((1 / 61 + 1 / 63) / (2 / 61), 10);
    expect(reciprocalRankFusion([['x'], ['x']])[0].score).toBe(1);
    // b (rank 2 of the first) and d (rank 2 of the second) tie: the first ranking's order decides
    expect(fused.slice(2).map((f) => f.key)).toEqual(['b', 'd']);
  });

  it('with one ranking empty, keeps the other order', () => {
    expect(reciprocalRankFusion([[], ['q', 'r']]).map((f) => f.key)).toEqual(['q', 'r']);
  });
});

describe('hybridFusion', () => {
  const lexical = (keys: string[], complete: number) =>
    keys.map((key, i) => ({ key, complete: i < complete }));

  it("keeps lexical's first result first when it holds every query term, the rest fused by reciprocal rank", () => {
    // plain RRF puts b (2nd and 1st) and c (3rd and 2nd) above a (1st lexically, absent semantically)
    const rrf = reciprocalRankFusion([
      ['a', 'b', 'c'],
      ['b', 'c', 'd'],
    ]).map((f) => f.key);
    expect(rrf).toEqual(['b', 'c', 'a', 'd']);
    const fused = hybridFusion(lexical(['a', 'b', 'c'], 1), ['b', 'c', 'd']);
    expect(fused.map((f) => f.key)).toEqual(['a', 'b', 'c', 'd']);
    expect(fused[0].score).toBe(1);
    const scores = fused.map((f) => f.score);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
    for (const s of scores) expect(s > 0 && s <= 1).toBe(true);
  });

  it('only the first: the other documents holding every term are fused like the rest', () => {
    expect(hybridFusion(lexical(['a', 'b', 'c'], 3), ['c', 'd']).map((f) => f.key)).toEqual([
      'a',
      'c',
      'b',
      'd',
    ]);
  });

  it('is reciprocal rank fusion when lexical matching was relaxed (its first lacks a term) or found nothing', () => {
    const rrf = reciprocalRankFusion([
      ['a', 'b', 'c'],
      ['b', 'c', 'd'],
    ]);
    expect(hybridFusion(lexical(['a', 'b', 'c'], 0), ['b', 'c', 'd'])).toEqual(rrf);
    expect(hybridFusion([], ['q', 'r']).map((f) => f.key)).toEqual(['q', 'r']);
  });

  it('a kept first result found by meaning too is not listed twice', () => {
    const fused = hybridFusion(lexical(['a', 'b'], 1), ['c', 'a']);
    expect(fused.map((f) => f.key)).toEqual(['a', 'c', 'b']);
  });
});
