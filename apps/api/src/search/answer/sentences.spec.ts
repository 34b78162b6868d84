import { ScoredSentence, selectSentences, splitSentences } from './sentences';

const texts = (text: string, partial = false) =>
  splitSentences(text, partial).map((s) => text.slice(s.start, s.end));

describe('splitSentences', () => {
  it('cuts at sentence ends and blank lines; offsets slice the passage to each sentence, trimmed', () => {
    const text =
      '  Bisect keeps a list sorted.  It inserts items in order!\n\nHeading line\nWhat about "quotes?" Yes, they close one.';
    const spans = splitSentences(text);
    expect(spans.map((s) => text.slice(s.start, s.end))).toEqual([
      'Bisect keeps a list sorted.',
      'It inserts items in order!',
      'Heading line\nWhat about "quotes?"',
      'Yes, they close one.',
    ]);
    expect(spans[0].start).toBe(2);
  });

  it('does not end a sentence before a lower-case word, a number inside, or an abbreviation', () => {
    expect(texts('Use e.g. the bisect module for this. Version 3.5 times faster, i.e. quick.')).toEqual([
      'Use e.g. the bisect module for this.',
      'Version 3.5 times faster, i.e. quick.',
    ]);
  });

  it('leaves out short fragments, and a lower-case first fragment of a chunk that starts mid-sentence', () => {
    expect(texts('ok. Fractions are exact rational numbers.')).toEqual([
      'Fractions are exact rational numbers.',
    ]);
    const mid = 'of the list stays sorted after insort. The copy module makes deep copies.';
    expect(texts(mid, true)).toEqual(['The copy module makes deep copies.']);
    expect(texts(mid, false)).toHaveLength(2);
  });

  it('cuts a run without sentence ends at a space, within the longest sentence kept', () => {
    const text = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    const spans = splitSentences(text);
    expect(spans.length).toBeGreaterThan(1);
    for (const s of spans) {
      expect(s.end - s.start).toBeLessThanOrEqual(400);
      expect(text.slice(s.start, s.end)).toMatch(/^word\d+( word\d+)*$/);
    }
    expect(spans.map((s) => text.slice(s.start, s.end)).join(' ')).toBe(text);
  });

  it('counts offsets in UTF-16 code units, as JavaScript strings do (astral characters are two)', () => {
    const text = '😀 Emoji first. Then Fractions are exact.';
    const spans = splitSentences(text);
    expect(text.slice(spans[1].start, spans[1].end)).toBe('Then Fractions are exact.');
    expect(spans[1].start).toBe(16);
  });
});

const s = (text: string, units: number[], density = 0.1, passage = 0, start = 0): ScoredSentence => ({
  text,
  units,
  density,
  passage,
  start,
  end: start + text.length,
});

describe('selectSentences', () => {
  it('picks the sentence holding the most query units first, then the one adding uncovered units', () => {
    const picked = selectSentences([
      s('Only sorted.', [0], 0.9),
      s('Sorted list insert.', [0, 1, 2], 0.2, 1),
      s('Sorted list again.', [0, 1], 0.5),
      s('Keeps order with bisect.', [3, 1], 0.1, 2),
    ]);
    expect(picked.map((p) => p.text)).toEqual([
      'Sorted list insert.',
      'Keeps order with bisect.',
      'Sorted list again.',
    ]);
  });

  it('never picks a sentence without a unit, nor one with less than half the first one’s units', () => {
    expect(selectSentences([s('Nothing here.', [])])).toEqual([]);
    const picked = selectSentences([s('a b c d.', [0, 1, 2, 3]), s('only a.', [0]), s('c and d.', [2, 3])]);
    expect(picked.map((p) => p.text)).toEqual(['a b c d.', 'c and d.']);
  });

  it('breaks ties by density, then the better passage, then the earlier sentence; repeats count once', () => {
    const picked = selectSentences(
      [
        s('Later one.', [0], 0.1, 1, 0),
        s('Earlier one.', [0], 0.1, 0, 50),
        s('Dense one.', [0], 0.3, 3, 0),
        s('dense  ONE.', [0], 0.3, 4),
      ],
      { maxSentences: 3, maxChars: 1000 },
    );
    expect(picked.map((p) => p.text)).toEqual(['Dense one.', 'Earlier one.', 'Later one.']);
  });

  it('stays within the sentence and character bounds (the first sentence is always whole)', () => {
    const long = 'x'.repeat(300);
    const picked = selectSentences([s(long, [0, 1]), s('y'.repeat(300), [0, 1]), s('z'.repeat(10), [0])], {
      maxSentences: 3,
      maxChars: 320,
    });
    expect(picked.map((p) => p.text.length)).toEqual([300, 10]);
    expect(selectSentences([s(long, [0]), s(long, [0])], { maxSentences: 1, maxChars: 10 })).toHaveLength(1);
  });
});
