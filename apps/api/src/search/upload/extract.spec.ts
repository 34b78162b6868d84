import { normaliseText, normaliseTextYielding } from './extract';

describe('normaliseTextYielding', () => {
  it('gives exactly what normaliseText gives, for a text of many segments', async () => {
    // CRLF and CR line ends, trailing blanks, NULs and control characters, runs of blank lines and
    // decomposed accents (e + U+0301) spread over ~5 Mi characters, so every segment cut meets them
    const line = (i: number) =>
      [`line ${i} caf\u0065\u0301 \t`, `nul\u0000 here\r\n`, `\r`, `\n\n\n\n`, `word${i}\u0007 `][i % 5];
    const parts: string[] = [];
    for (let i = 0, n = 0; n < 5 * (1 << 20); i++) {
      const l = line(i) + (i % 3 === 0 ? '\n' : '');
      parts.push(l);
      n += l.length;
    }
    const text = `  \n${parts.join('')}\n\n  `;
    const yielded = await normaliseTextYielding(text);
    expect(yielded).toBe(normaliseText(text));
    expect(yielded.includes('\u0000') || yielded.includes('\r') || yielded.includes('\n\n\n')).toBe(false);
    expect(yielded).toContain('caf\u00e9');
  });

  it('lets the event loop run between segments', async () => {
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    await normaliseTextYielding('word and more words\n'.repeat(300_000)); // ~6 Mi characters
    clearInterval(timer);
    expect(turns).toBeGreaterThan(1);
  });
});
