import { describeCodePoint, normaliseFilename, unsafeFilenameReason, visibleFilename } from './filename';

describe('unsafeFilenameReason', () => {
  it.each([
    'report.pdf',
    'Quarterly report (final).docx',
    'notes.v2.md',
    'über-straße.txt',
    'a',
    '.hidden',
    'a%20b.txt',
    '50%off.txt',
    'résumé (נסיון).txt',
  ])('accepts %p', (name) => expect(unsafeFilenameReason(name)).toBeUndefined());

  it.each([
    ['../../etc/passwd'],
    ['..'],
    ['a..b.txt'],
    ['dir/file.txt'],
    ['dir\\file.txt'],
    ['/etc/passwd'],
    ['C:\\boot.ini'],
    ['nul\u0000.txt'],
    ['bell\u0007.txt'],
    ['line\nbreak.txt'],
    ['del\u007f.txt'],
    ['c1\u0085.txt'],
    ['CON'],
    ['con.txt'],
    ['Nul.tar.gz'],
    ['COM1.md'],
    ['lpt9'],
    ['trailing.'],
    ['trailing '],
    [''],
    ['   '],
    ['x'.repeat(256)],
    [`${'é'.repeat(128)}`], // 256 bytes in UTF-8
  ])('refuses %p', (name) => expect(unsafeFilenameReason(name)).toEqual(expect.any(String)));

  // issue 25, item 5: each example refused with the character named by code point and Unicode name
  it.each([
    ['\u202etxt.exe', 'U+202E RIGHT-TO-LEFT OVERRIDE'],
    ['\uff0e\uff0e\uff0fetc\uff0fpasswd.txt', 'U+FF0E FULLWIDTH FULL STOP'],
    ['\u2024\u2024\u2215x.txt', 'U+2024 ONE DOT LEADER'],
    ['x\u2215y.txt', 'U+2215 DIVISION SLASH'],
    ['x\u2044y.txt', 'U+2044 FRACTION SLASH'],
    ['etc\uff0fpasswd', 'U+FF0F FULLWIDTH SOLIDUS'],
    ['%2e%2e%2fx.txt', '"%2e", a percent-encoded U+002E FULL STOP'],
    ['%2E%2E%2Fx.txt', '"%2E", a percent-encoded U+002E FULL STOP'],
    ['x%2fy.txt', '"%2f", a percent-encoded U+002F SOLIDUS'],
    ['x%5cy.txt', '"%5c", a percent-encoded U+005C REVERSE SOLIDUS'],
    ['%252e%252e%252fx.txt', '"%2e", a percent-encoded U+002E FULL STOP'], // encoded twice
    ['x%00.txt', '"%00", a percent-encoded U+0000 NULL'],
    ['in\u200bvisible.txt', 'U+200B ZERO WIDTH SPACE'],
    ['\ufeffbom.txt', 'U+FEFF ZERO WIDTH NO-BREAK SPACE'],
    ['word\u2060joiner.txt', 'U+2060 WORD JOINER'],
    ['soft\u00adhyphen.txt', 'U+00AD SOFT HYPHEN'],
    ['a\u2066b\u2069.txt', 'U+2066 LEFT-TO-RIGHT ISOLATE'],
    ['a\u200eb.txt', 'U+200E LEFT-TO-RIGHT MARK'],
    ['a\u200fb.txt', 'U+200F RIGHT-TO-LEFT MARK'],
    ['a\u061cb.txt', 'U+061C ARABIC LETTER MARK'],
    ['a\u202ab.txt', 'U+202A LEFT-TO-RIGHT EMBEDDING'],
    ['a\u{e0041}b.txt', 'U+E0041 (format character)'],
    ['bell\u0007.txt', 'U+0007 ALERT'],
    ['c1\u0085.txt', 'U+0085 NEXT LINE'],
    ['del\u007f.txt', 'U+007F DELETE'],
    ['a\ufffdb.txt', 'not valid UTF-8 (it holds U+FFFD REPLACEMENT CHARACTER'],
    ['a\ud800b.txt', 'not valid UTF-8'],
    ['a\ufe52\ufe52b.txt', 'U+FE52 SMALL FULL STOP'],
    ['a\uff3cb.txt', 'U+FF3C FULLWIDTH REVERSE SOLIDUS'],
    ['a\u2025b.txt', 'U+2025 TWO DOT LEADER'],
  ])('refuses %p naming %p', (name, named) => {
    expect(unsafeFilenameReason(name)).toContain(named);
  });

  it('judges the NFKC form: a compatibility character that becomes a device name or "/" is refused', () => {
    expect(unsafeFilenameReason('\uff23\uff2f\uff2e.txt')).toBe('"CON" is a reserved device name'); // fullwidth CON
    expect(normaliseFilename('\uff52\uff45\uff50\uff4f\uff52\uff54.txt')).toBe('report.txt');
    expect(unsafeFilenameReason('\uff52\uff45\uff50\uff4f\uff52\uff54.txt')).toBeUndefined();
  });

  it('allows exactly 255 bytes', () => {
    expect(unsafeFilenameReason(`${'x'.repeat(251)}.txt`)).toBeUndefined();
  });

  it('refuses a missing name', () => expect(unsafeFilenameReason(undefined)).toBeDefined());
});

describe('describeCodePoint', () => {
  it('names a character by code point and Unicode name, or by its class when it is not listed', () => {
    expect(describeCodePoint(0x202e)).toBe('U+202E RIGHT-TO-LEFT OVERRIDE');
    expect(describeCodePoint(0)).toBe('U+0000 NULL');
    expect(describeCodePoint(0x9f)).toBe('U+009F APPLICATION PROGRAM COMMAND');
    expect(describeCodePoint(0x13430, 'format character')).toBe('U+13430 (format character)');
  });
});

describe('visibleFilename', () => {
  it('spells out controls, format characters and lone surrogates; leaves everything else', () => {
    expect(visibleFilename('\u202etxt.exe')).toBe('<U+202E>txt.exe');
    expect(visibleFilename('a\u200bb\u0007c\ud800.txt')).toBe('a<U+200B>b<U+0007>c<U+D800>.txt');
    expect(visibleFilename('\uff0e\uff0e\uff0fetc.txt')).toBe('\uff0e\uff0e\uff0fetc.txt');
  });
});
