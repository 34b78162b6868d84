// Windows device names stay reserved with any extension ("con.txt"), so the stem is what counts.
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i;

/**
 * Names of the characters a file name may not hold, for the refusal message. Hand-written (no library: the one
 * that names every code point loads ~12 MB of tables into the API process for a message): every C0 and C1
 * control, DEL, the bidirectional controls, the common invisible format characters and the lookalike
 * separators. Another character of the same classes is named by its class alone.
 */
const C0 = [
  'NULL', 'START OF HEADING', 'START OF TEXT', 'END OF TEXT', 'END OF TRANSMISSION', 'ENQUIRY', 'ACKNOWLEDGE',
  'ALERT', 'BACKSPACE', 'CHARACTER TABULATION', 'LINE FEED', 'LINE TABULATION', 'FORM FEED', 'CARRIAGE RETURN',
  'SHIFT OUT', 'SHIFT IN', 'DATA LINK ESCAPE', 'DEVICE CONTROL ONE', 'DEVICE CONTROL TWO', 'DEVICE CONTROL THREE',
  'DEVICE CONTROL FOUR', 'NEGATIVE ACKNOWLEDGE', 'SYNCHRONOUS IDLE', 'END OF TRANSMISSION BLOCK', 'CANCEL',
  'END OF MEDIUM', 'SUBSTITUTE', 'ESCAPE', 'INFORMATION SEPARATOR FOUR', 'INFORMATION SEPARATOR THREE',
  'INFORMATION SEPARATOR TWO', 'INFORMATION SEPARATOR ONE',
]; // prettier-ignore
const C1 = [
  'PADDING CHARACTER', 'HIGH OCTET PRESET', 'BREAK PERMITTED HERE', 'NO BREAK HERE', 'INDEX', 'NEXT LINE',
  'START OF SELECTED AREA', 'END OF SELECTED AREA', 'CHARACTER TABULATION SET',
  'CHARACTER TABULATION WITH JUSTIFICATION', 'LINE TABULATION SET', 'PARTIAL LINE FORWARD',
  'PARTIAL LINE BACKWARD', 'REVERSE LINE FEED', 'SINGLE SHIFT TWO', 'SINGLE SHIFT THREE', 'DEVICE CONTROL STRING',
  'PRIVATE USE ONE', 'PRIVATE USE TWO', 'SET TRANSMIT STATE', 'CANCEL CHARACTER', 'MESSAGE WAITING',
  'START OF GUARDED AREA', 'END OF GUARDED AREA', 'START OF STRING', 'SINGLE GRAPHIC CHARACTER INTRODUCER',
  'SINGLE CHARACTER INTRODUCER', 'CONTROL SEQUENCE INTRODUCER', 'STRING TERMINATOR', 'OPERATING SYSTEM COMMAND',
  'PRIVACY MESSAGE', 'APPLICATION PROGRAM COMMAND',
]; // prettier-ignore
const NAMES: Record<number, string> = {
  0x7f: 'DELETE',
  0xad: 'SOFT HYPHEN',
  0x61c: 'ARABIC LETTER MARK',
  0x180e: 'MONGOLIAN VOWEL SEPARATOR',
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2060: 'WORD JOINER',
  0x2061: 'FUNCTION APPLICATION',
  0x2062: 'INVISIBLE TIMES',
  0x2063: 'INVISIBLE SEPARATOR',
  0x2064: 'INVISIBLE PLUS',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE',
  0xfff9: 'INTERLINEAR ANNOTATION ANCHOR',
  0xfffa: 'INTERLINEAR ANNOTATION SEPARATOR',
  0xfffb: 'INTERLINEAR ANNOTATION TERMINATOR',
  0xfffd: 'REPLACEMENT CHARACTER',
  0x2024: 'ONE DOT LEADER',
  0x2025: 'TWO DOT LEADER',
  0x2026: 'HORIZONTAL ELLIPSIS',
  0x2044: 'FRACTION SLASH',
  0x2215: 'DIVISION SLASH',
  0x2216: 'SET MINUS',
  0x2571: 'BOX DRAWINGS LIGHT DIAGONAL UPPER RIGHT TO LOWER LEFT',
  0x2572: 'BOX DRAWINGS LIGHT DIAGONAL UPPER LEFT TO LOWER RIGHT',
  0x27cb: 'MATHEMATICAL RISING DIAGONAL',
  0x27cd: 'MATHEMATICAL FALLING DIAGONAL',
  0x29f5: 'REVERSE SOLIDUS OPERATOR',
  0x29f8: 'BIG SOLIDUS',
  0x29f9: 'BIG REVERSE SOLIDUS',
  0x2cf9: 'COPTIC OLD NUBIAN FULL STOP',
  0x3002: 'IDEOGRAPHIC FULL STOP',
  0xfe52: 'SMALL FULL STOP',
  0xfe68: 'SMALL REVERSE SOLIDUS',
  0xff0e: 'FULLWIDTH FULL STOP',
  0xff0f: 'FULLWIDTH SOLIDUS',
  0xff3c: 'FULLWIDTH REVERSE SOLIDUS',
  0xff61: 'HALFWIDTH IDEOGRAPHIC FULL STOP',
  0x2f: 'SOLIDUS',
  0x5c: 'REVERSE SOLIDUS',
  0x2e: 'FULL STOP',
};

/**
 * Slashes and dots that look like a path separator or a dot but are not one, and do not become one under
 * NFKC (those that do — U+FF0F, U+2024, U+FE52… — are found by normalising each character).
 */
const LOOKALIKE_SEPARATORS = new Map<number, string>([
  ...[0x2044, 0x2215, 0x2571, 0x27cb, 0x29f8].map((cp) => [cp, '/'] as const),
  ...[0x2216, 0x2572, 0x27cd, 0x29f5, 0x29f9].map((cp) => [cp, '\\'] as const),
  ...[0x2cf9, 0x3002, 0xff61].map((cp) => [cp, '.'] as const),
]);

/** Bidirectional controls (UAX #9): embeddings, overrides, isolates and the three marks. */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** "U+202E RIGHT-TO-LEFT OVERRIDE": the code point and its Unicode name (or its class, for one not listed). */
export function describeCodePoint(cp: number, kind?: string): string {
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = cp < 0x20 ? C0[cp] : cp >= 0x80 && cp < 0xa0 ? C1[cp - 0x80] : NAMES[cp];
  return name ? `${hex} ${name}` : `${hex} (${kind ?? 'character'})`;
}

/**
 * A refused name as it is echoed in the rejection: every control, format (bidirectional, invisible) and lone
 * surrogate character spelled out as `<U+202E>`, so the answer cannot spoof what the client shows.
 */
export function visibleFilename(name: string): string {
  return name.replace(
    /[\p{Cc}\p{Cf}\p{Cs}]/gu,
    (ch) => `<U+${(ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}>`,
  );
}

/** The file name as stored and shown: NFKC, so a fullwidth or compatibility form is its plain equivalent. */
export function normaliseFilename(name: string): string {
  return name.normalize('NFKC');
}

/**
 * Returns why a client-supplied file name is unsafe to keep, naming the offending character ("U+202E
 * RIGHT-TO-LEFT OVERRIDE"), or undefined when it is fine. Names are only ever metadata here (nothing is
 * written under them), but they come back to clients and may end up as download names elsewhere, so
 * spoofing and path tricks are refused rather than rewritten: bidirectional controls, invisible format
 * characters (Cf), controls (Cc), lookalike separators (fullwidth, division slash, one-dot leader…),
 * percent-encoded separators, and bytes that were not UTF-8 (the multipart parser turns them into U+FFFD).
 * The remaining rules (no `/`, `\`, `..`, device names, trailing dot or space, 255 bytes) apply to the NFKC
 * form, which is what is stored.
 */
export function unsafeFilenameReason(name: string | undefined): string | undefined {
  if (name === undefined || name.trim() === '') return 'the file name is empty';
  if (Buffer.byteLength(name, 'utf8') > 255) return 'the file name is longer than 255 bytes';
  if (/\p{Cs}/u.test(name) || name.includes('\ufffd'))
    return `the file name is not valid UTF-8 (it holds ${describeCodePoint(0xfffd)} where the bytes could not be decoded)`;
  for (const ch of name) {
    const cp = ch.codePointAt(0) as number;
    if (BIDI_CONTROLS.test(ch))
      return `the file name contains ${describeCodePoint(cp)}, a bidirectional control character`;
    if (/\p{Cc}/u.test(ch))
      return `the file name contains ${describeCodePoint(cp, 'control character')}, a control character`;
    if (/\p{Cf}/u.test(ch))
      return `the file name contains ${describeCodePoint(cp, 'format character')}, an invisible format character`;
    const compat = ch.normalize('NFKC');
    const looksLike =
      LOOKALIKE_SEPARATORS.get(cp) ?? (compat !== ch && /[./\\]/.test(compat) ? compat : undefined);
    if (looksLike)
      return `the file name contains ${describeCodePoint(cp, 'lookalike separator')}, which looks like "${looksLike}"`;
  }
  const encoded = percentEncodedSeparator(name);
  if (encoded) return encoded;
  const nfkc = normaliseFilename(name);
  if (Buffer.byteLength(nfkc, 'utf8') > 255) return 'the file name is longer than 255 bytes';
  if (/\p{Cc}|\p{Cf}/u.test(nfkc))
    return 'the file name contains control or format characters once normalised';
  if (nfkc.includes('/')) return `the file name contains ${describeCodePoint(0x2f)}`;
  if (nfkc.includes('\\')) return `the file name contains ${describeCodePoint(0x5c)}`;
  if (nfkc.includes('..')) return 'the file name contains ".."';
  if (nfkc === '.') return 'the file name is "."';
  const stem = nfkc.split('.')[0].trim();
  if (RESERVED.test(stem)) return `"${stem}" is a reserved device name`;
  if (/[. ]$/.test(nfkc)) return 'the file name ends with a dot or a space';
  return undefined;
}

/**
 * A name whose percent-encoding (decoded up to three times: `%252e` is `%2e` once decoded) spells a slash,
 * a backslash, a dot or a control character is a path in disguise for whatever decodes it later.
 */
function percentEncodedSeparator(name: string): string | undefined {
  let current = name;
  for (let round = 0; round < 3 && /%[0-9a-f]{2}/i.test(current); round++) {
    const sequence = /%(2e|2f|5c|[01][0-9a-f]|7f)/i.exec(current);
    if (sequence) {
      const cp = parseInt(sequence[1], 16);
      return `the file name contains "${sequence[0]}", a percent-encoded ${describeCodePoint(cp, 'control character')}`;
    }
    current = current.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  return undefined;
}
