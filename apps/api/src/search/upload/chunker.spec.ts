import { chunkRanges, chunkText } from './chunker';

describe('chunkText', () => {
  it('keeps a short text in one chunk', () => {
    expect(chunkText('  Hello world.  ', 200, 50)).toEqual(['Hello world.']);
  });

  it('returns nothing for blank text', () => {
    expect(chunkText(' \n\n ', 200, 50)).toEqual([]);
  });

  it('never exceeds the size, covers every word, overlaps, and never cuts a word', () => {
    const words = Array.from({ length: 3000 }, (_, i) => `word${i}`);
    const text = words.join(' ');
    const chunks = chunkText(text, 300, 60);
    expect(chunks.length).toBeGreaterThan(50);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(300);
    const seen = new Set(chunks.flatMap((c) => c.split(' ')));
    for (const w of words) expect(seen.has(w)).toBe(true);
    for (const c of chunks) for (const w of c.split(' ')) expect(w).toMatch(/^word\d+$/);
    for (let i = 1; i < chunks.length; i++) {
      const prevTail = chunks[i - 1].split(' ').slice(-3);
      expect(chunks[i].split(' ').slice(0, 12)).toEqual(
        expect.arrayContaining([prevTail[prevTail.length - 1]]),
      );
    }
  });

  it('prefers paragraph and sentence boundaries', () => {
    const para = 'First sentence here. '.repeat(8).trim();
    const text = `${para}\n\n${para}\n\n${para}`;
    const chunks = chunkText(text, 200, 0);
    for (const c of chunks) expect(c.endsWith('.')).toBe(true);
  });

  it('terminates on text without any whitespace', () => {
    const chunks = chunkText('x'.repeat(1000), 300, 100);
    expect(chunks.every((c) => c.length <= 300)).toBe(true);
    expect(chunks.join('').length).toBeGreaterThanOrEqual(1000);
  });
});

describe('chunkRanges', () => {
  it('gives the bounds of the chunks chunkText gives, two offsets per chunk', () => {
    const text = `  ${Array.from({ length: 6_000 }, (_, i) => `Sentence ${i} says something.`).join(' ')}\n\n`;
    const ranges = chunkRanges(text, 1200, 200);
    const chunks: string[] = [];
    for (let i = 0; i < ranges.length; i += 2) chunks.push(text.slice(ranges[i], ranges[i + 1]));
    expect(chunks).toEqual(chunkText(text, 1200, 200));
    expect(chunks.length).toBeGreaterThan(100);
  });

  it('never cuts a surrogate pair in two where there is no break to cut at', () => {
    const text = 'a' + '\u{1f600}'.repeat(1000);
    for (const chunk of chunkText(text, 301, 50)) expect(/\p{Cs}/u.test(chunk)).toBe(false);
    const ranges = chunkRanges(text, 301, 50);
    for (const r of ranges) expect(text.charCodeAt(r) >= 0xdc00 && text.charCodeAt(r) <= 0xdfff).toBe(false);
  });
});
