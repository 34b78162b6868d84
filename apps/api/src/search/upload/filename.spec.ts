import { unsafeFilenameReason } from './filename';

describe('unsafeFilenameReason', () => {
  it.each(['report.pdf', 'Quarterly report (final).docx', 'notes.v2.md', 'über-straße.txt', 'a', '.hidden'])(
    'accepts %p',
    (name) => expect(unsafeFilenameReason(name)).toBeUndefined(),
  );

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

  it('allows exactly 255 bytes', () => {
    expect(unsafeFilenameReason(`${'x'.repeat(251)}.txt`)).toBeUndefined();
  });

  it('refuses a missing name', () => expect(unsafeFilenameReason(undefined)).toBeDefined());
});
