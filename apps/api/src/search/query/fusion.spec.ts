import { reciprocalRankFusion } from './fusion';

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
