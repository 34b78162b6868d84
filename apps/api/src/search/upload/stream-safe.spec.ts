import { CGJ, StreamSafeText, streamSafe } from './stream-safe';

const ACUTE = '\u0301'; // class 230
const GRAVE_BELOW = '\u0316'; // class 220

/** Positions (code unit offsets) of every CGJ in a text. */
const cgjAt = (text: string): number[] => [...text.matchAll(/\u034f/g)].map((m) => m.index);

describe('streamSafe (UAX #15 Stream-Safe Text Format)', () => {
  it('leaves ordinary text unchanged, as the same string', () => {
    for (const text of [
      '',
      'plain ASCII, with punctuation.\n',
      'Crème brûlée, façade, naïve — Ångström',
      'e\u0301 and a\u0308\u0304 with a few marks',
      'Ελληνικά, русский, עברית, العربية, हिन्दी, 中文, 한국어, 😀👍🏽',
      'ﬁ ligature, ① circled, ｆｕｌｌｗｉｄｔｈ',
    ])
      expect(streamSafe(text)).toBe(text);
  });

  it('allows 30 non-starters in a row and inserts a CGJ before the 31st', () => {
    expect(streamSafe('a' + ACUTE.repeat(30))).toBe('a' + ACUTE.repeat(30));
    const out = streamSafe('a' + ACUTE.repeat(31));
    expect(out).toBe('a' + ACUTE.repeat(30) + CGJ + ACUTE);
    expect(cgjAt(out)).toEqual([31]);
  });

  it('inserts a CGJ after every 30 non-starters of a long run: the issue payload shape', () => {
    const text = 'word' + ACUTE.repeat(100) + GRAVE_BELOW.repeat(100);
    const out = streamSafe(text);
    // 200 marks: a CGJ after the 30th, 60th, … 180th mark (6 of them), each shifting the later ones by one
    expect(cgjAt(out)).toEqual([34, 65, 96, 127, 158, 189]);
    expect(out.replace(/\u034f/g, '')).toBe(text);
    const runs = out.split(/[^\u0301\u0316]/).map((r) => r.length);
    expect(Math.max(...runs)).toBe(30);
  });

  it('counts the non-starters of a decomposition: a precomposed letter ends a run with its trailing mark', () => {
    // é is e + U+0301 under NFKD: one trailing non-starter, so 29 more marks fit and the 30th needs a CGJ
    expect(streamSafe('\u00e9' + ACUTE.repeat(29))).toBe('\u00e9' + ACUTE.repeat(29));
    expect(cgjAt(streamSafe('\u00e9' + ACUTE.repeat(30)))).toEqual([30]);
    // U+0344 decomposes to two non-starters: with 29 before it the run would be 31
    expect(cgjAt(streamSafe('a' + ACUTE.repeat(29) + '\u0344'))).toEqual([30]);
    expect(streamSafe('a' + ACUTE.repeat(28) + '\u0344')).toBe('a' + ACUTE.repeat(28) + '\u0344');
  });

  it('a starter (any letter, a space, a line end) starts the count again', () => {
    const text = ('a' + ACUTE.repeat(30) + ' ').repeat(5) + '\n' + 'b' + GRAVE_BELOW.repeat(30);
    expect(streamSafe(text)).toBe(text);
  });

  it('is idempotent', () => {
    const text = 'x' + ACUTE.repeat(1000) + '\u00e9' + GRAVE_BELOW.repeat(77) + '\u{1d165}'.repeat(40);
    const once = streamSafe(text);
    expect(once).not.toBe(text);
    expect(streamSafe(once)).toBe(once);
  });

  it('counts astral non-starters (U+1D165 MUSICAL SYMBOL COMBINING STEM, class 216) one per code point', () => {
    const out = streamSafe('a' + '\u{1d165}'.repeat(31));
    expect(cgjAt(out)).toEqual([1 + 30 * 2]);
  });

  it('makes NFC of the issue payload cheap and keeps every mark', () => {
    const text = 'word' + ACUTE.repeat(50_000) + GRAVE_BELOW.repeat(50_000);
    const safe = streamSafe(text);
    expect(cgjAt(safe)).toHaveLength(Math.floor((100_000 - 1) / 30));
    const nfc = safe.normalize('NFC');
    expect(nfc.replace(/\u034f/g, '').length).toBe(text.length);
  });

  it('gives the same output whatever the text is cut into (a run across pieces, a surrogate pair cut in two)', () => {
    const text =
      'start ' +
      ACUTE.repeat(45) +
      '\u00e9' +
      GRAVE_BELOW.repeat(70) +
      '\u{1d165}'.repeat(35) +
      ' end\u{1f600}';
    const whole = streamSafe(text);
    for (const size of [1, 2, 3, 7, 29, 30, 31, 64]) {
      const s = new StreamSafeText();
      let out = '';
      for (let i = 0; i < text.length; i += size) out += s.push(text.slice(i, i + size));
      out += s.end();
      expect(out).toBe(whole);
    }
  });
});
