// Unicode's Stream-Safe Text Format (UAX #15, section 13), hand-written: no maintained package implements it.
// Runs in the extraction child (no @app imports). Canonical ordering inside NFC sorts each run of
// non-starters (combining marks, ccc > 0) by insertion, so one word followed by 50,000 + 50,000 marks of two
// classes costs billions of steps; once no run is longer than 30, normalisation is linear in the text.

/** U+034F COMBINING GRAPHEME JOINER: a starter that renders as nothing, the format's run breaker. */
export const CGJ = '\u034f';
/** The longest run of non-starters the format allows. */
export const MAX_NON_STARTERS = 30;

/**
 * Whether one code point of an NFKD decomposition is a non-starter (canonical combining class > 0), asked of
 * the engine's own Unicode data: canonical ordering moves a mark of class 1–239 in front of U+0345 (class
 * 240, the highest, held by U+0345 alone) and never moves a starter, so NFD changes `U+0345 d` exactly when
 * d is a non-starter other than U+0345 itself.
 */
function isNonStarter(d: string): boolean {
  if (d === '\u0345') return true;
  const probe = `\u0345${d}`;
  return probe.normalize('NFD') !== probe;
}

/**
 * Per code point: its NFKD decomposition's leading non-starters (bits 0–4), trailing non-starters (bits 5–9),
 * and whether it is made of non-starters only (bit 10). Computed once per distinct code point.
 */
const profiles = new Map<number, number>();

function profile(cp: number): number {
  let p = profiles.get(cp);
  if (p !== undefined) return p;
  const parts = [...String.fromCodePoint(cp).normalize('NFKD')];
  const flags = parts.map(isNonStarter);
  let lead = 0;
  while (lead < flags.length && flags[lead]) lead++;
  let trail = 0;
  while (trail < flags.length && flags[flags.length - 1 - trail]) trail++;
  p = lead | (trail << 5) | (lead === flags.length ? 1 << 10 : 0);
  profiles.set(cp, p);
  return p;
}

/**
 * The Stream-Safe Text Process over a text that arrives in pieces: feed each piece to `push`, then call
 * `end`; the output is the same whatever the cuts (a surrogate pair cut in two, a run of marks spanning
 * pieces). Before a character whose leading non-starters would take the current run past 30, a CGJ is
 * inserted and the count starts again. A piece that needs no CGJ comes back as the same string (no copy).
 */
export class StreamSafeText {
  /** Non-starters at the end of what was pushed so far. */
  private run = 0;
  /** A high surrogate that ended the last piece, waiting for its low half. */
  private pending = '';

  push(piece: string): string {
    let text = this.pending + piece;
    this.pending = '';
    const lastUnit = text.charCodeAt(text.length - 1);
    if (lastUnit >= 0xd800 && lastUnit <= 0xdbff) {
      this.pending = text[text.length - 1];
      text = text.slice(0, -1);
    }
    return this.scan(text);
  }

  /** What is still held back (a lone high surrogate at the very end), after the last `push`. */
  end(): string {
    const rest = this.scan(this.pending);
    this.pending = '';
    return rest;
  }

  private scan(text: string): string {
    let out: string[] | undefined;
    let copied = 0;
    let run = this.run;
    for (let i = 0; i < text.length; i++) {
      const unit = text.charCodeAt(i);
      if (unit < 0x80) {
        run = 0; // ASCII: a starter that decomposes to itself
        continue;
      }
      const cp = text.codePointAt(i) as number;
      const p = profile(cp);
      const lead = p & 31;
      if (run + lead > MAX_NON_STARTERS) {
        (out ??= []).push(text.slice(copied, i), CGJ);
        copied = i;
        run = 0;
      }
      run = p & (1 << 10) ? run + lead : (p >> 5) & 31;
      if (cp > 0xffff) i++;
    }
    this.run = run;
    if (!out) return text;
    out.push(text.slice(copied));
    return out.join('');
  }
}

/** The Stream-Safe Text Format of a whole text (UAX #15): no run of more than 30 non-starters. */
export function streamSafe(text: string): string {
  const s = new StreamSafeText();
  return s.push(text) + s.end();
}
