import { charsetOf, decodeText, withCharset } from './extract';

describe('the charset every format decodes with', () => {
  const utf8 = Buffer.from('<p>9–17, café</p>', 'utf8');

  it('is the declared one, else a <meta charset>, else UTF-8 (also for an unknown label)', () => {
    expect(charsetOf(utf8, 'text/html; charset=ISO-8859-1')).toBe('windows-1252');
    expect(charsetOf(Buffer.from('<meta charset="shift_jis"><p>x'), 'text/html')).toBe('shift_jis');
    expect(
      charsetOf(
        Buffer.from('<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'),
        'text/html',
      ),
    ).toBe('koi8-r');
    expect(charsetOf(utf8, 'text/html')).toBe('utf-8');
    expect(charsetOf(utf8, 'text/html; charset=no-such-charset')).toBe('utf-8');
    expect(decodeText(utf8, 'text/html')).toBe('<p>9–17, café</p>');
  });

  it('is made explicit for the browser on HTML and text, other types unchanged', () => {
    expect(withCharset(utf8, 'text/html')).toBe('text/html; charset=utf-8');
    expect(withCharset(utf8, 'TEXT/HTML; charset=latin1')).toBe('text/html; charset=windows-1252');
    expect(withCharset(utf8, 'text/plain')).toBe('text/plain; charset=utf-8');
    expect(withCharset(utf8, 'image/png')).toBe('image/png');
  });
});
