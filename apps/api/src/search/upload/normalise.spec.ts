import { normaliseText } from './normalise';
import { CGJ, streamSafe } from './stream-safe';

/** The same rules applied to the whole text in one pass: what the segmented normaliseText must equal. */
function reference(text: string): string {
  return (
    streamSafe(text)
      .normalize('NFC')
      .replace(/\r\n?/g, '\n')
      // eslint-disable-next-line no-control-regex -- the rule under test
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\uE000\uE001]/g, '')
      .replace(/[ \t]+\n/g, '\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim()
  );
}

describe('normaliseText', () => {
  it('NFC, LF line ends, no controls or snippet markers, blank lines collapsed, trimmed', () => {
    expect(normaliseText('  cafe\u0301 \t\r\nnul\u0000 and bell\u0007\r\n\n\n\n\ue000mark\ue001  \n')).toBe(
      'café\nnul and bell\n\nmark',
    );
  });

  it('cuts a run of more than 30 combining marks with a CGJ before composing (UAX #15 Stream-Safe)', () => {
    const text = `word${'\u0301'.repeat(50_000)}${'\u0316'.repeat(50_000)}`;
    const out = normaliseText(text);
    expect(out.split(CGJ)).toHaveLength(Math.floor((100_000 - 1) / 30) + 1);
    expect(out.replace(/\u034f/g, '').length).toBe(text.length);
  });

  it('gives what one pass over the whole text gives, for a text of many segments', () => {
    // CRLF and CR line ends, trailing blanks, NULs and control characters, runs of blank lines, decomposed
    // accents and runs of marks spread over ~5 Mi characters, so every segment cut meets them
    const line = (i: number) =>
      [
        `line ${i} caf\u0065\u0301 \t`,
        `nul\u0000 here\r\n`,
        `\r`,
        `\n\n\n\n`,
        `word${i}\u0007 `,
        `x${'\u0301'.repeat(40)}`,
      ][i % 6];
    const parts: string[] = [];
    for (let i = 0, n = 0; n < 5 * (1 << 20); i++) {
      const l = line(i) + (i % 3 === 0 ? '\n' : '');
      parts.push(l);
      n += l.length;
    }
    const text = `  \n${parts.join('')}\n\n  `;
    const out = normaliseText(text);
    expect(out).toBe(reference(text));
    expect(out.includes('\u0000') || out.includes('\r') || out.includes('\n\n\n')).toBe(false);
    expect(out).toContain('caf\u00e9');
  });
});
