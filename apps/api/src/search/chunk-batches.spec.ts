import { chunkBatches } from './search.repository';

describe('chunkBatches', () => {
  const covers = (chunks: string[], batches: Array<[number, number]>): void => {
    expect(batches[0]?.[0] ?? 0).toBe(0);
    for (let i = 1; i < batches.length; i++) expect(batches[i][0]).toBe(batches[i - 1][1]);
    expect(batches.at(-1)?.[1] ?? 0).toBe(chunks.length);
  };

  it('is one batch for a small document, none for no chunks', () => {
    expect(chunkBatches(['a', 'b', 'c'])).toEqual([[0, 3]]);
    expect(chunkBatches([])).toEqual([]);
  });

  it('cuts at 200 chunks', () => {
    const chunks = Array.from({ length: 450 }, () => 'word');
    const sut = chunkBatches(chunks);
    expect(sut).toEqual([
      [0, 200],
      [200, 400],
      [400, 450],
    ]);
  });

  it('cuts at 240,000 characters, whatever the count', () => {
    const chunks = Array.from({ length: 10 }, () => 'x'.repeat(100_000));
    const sut = chunkBatches(chunks);
    covers(chunks, sut);
    for (const [from, to] of sut) {
      expect(to - from).toBe(2);
      expect(chunks.slice(from, to).join('').length).toBeLessThanOrEqual(240_000);
    }
  });

  it('keeps a chunk longer than the bound whole, in a batch of its own', () => {
    const chunks = ['a', 'x'.repeat(300_000), 'b'];
    const sut = chunkBatches(chunks);
    covers(chunks, sut);
    expect(sut).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });
});
