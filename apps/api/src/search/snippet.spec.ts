import { escapeHtml, normaliseQuery, PASSAGE_WORDS, renderPassage } from './snippet';

describe('renderPassage', () => {
  const words = (...w: string[]) => new Set(w);

  it('escapes everything the document says and marks only the hits', () => {
    const { html, hits } = renderPassage(
      'a <script>alert(1)</script> & "hit" \'q\' <mark>fake</mark>',
      words('hit', 'alert'),
    );
    expect(html).toBe(
      'a &lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt; &amp; &quot;<mark>hit</mark>&quot; &#39;q&#39; &lt;mark&gt;fake&lt;/mark&gt;',
    );
    expect([...hits].sort()).toEqual(['alert', 'hit']);
    expect(html).not.toMatch(/<(?!\/?mark>)/);
  });

  it('marks the parts of URLs and identifiers, and a compound by its joined form', () => {
    expect(renderPassage('see https://github.com/foo/bar for details', words('github', 'details')).html).toBe(
      'see https://<mark>github</mark>.com/foo/bar for <mark>details</mark>',
    );
    expect(renderPassage('install node.js first', words('nodejs')).html).toBe(
      'install <mark>node</mark>.<mark>js</mark> first',
    );
  });

  it('shows the window with the most distinct hits, with a lead-in and … where text was cut', () => {
    const filler = (n: number, w: string) => Array.from({ length: n }, (_, i) => `${w}${i}`).join(' ');
    const text = `${filler(50, 'x')} alpha ${filler(3, 'y')} beta. ${filler(50, 'z')}`;
    const { html } = renderPassage(text, words('alpha', 'beta'));
    expect(html.startsWith('… x45 x46 x47 x48 x49 <mark>alpha</mark>')).toBe(true);
    expect(html).toContain('<mark>beta</mark>.');
    expect(html.endsWith(' …')).toBe(true);
    expect(
      html
        .replace(/<\/?mark>|…/g, '')
        .trim()
        .split(/\s+/),
    ).toHaveLength(PASSAGE_WORDS);
  });

  it('shows the start of a text without hits, and a short text whole, whitespace collapsed', () => {
    expect(renderPassage('  a\n\n b\t c ', words()).html).toBe('a b c');
  });

  it('escapeHtml escapes the five characters', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
  });
});

describe('normaliseQuery', () => {
  it('ignores case, spacing and Unicode form', () => {
    expect(normaliseQuery('  Parental   LEAVE ')).toBe(normaliseQuery('parental leave'));
    expect(normaliseQuery('ﬁle')).toBe('file');
  });

  it('keeps what changes the meaning, the OR operator included', () => {
    expect(normaliseQuery('"a b"')).not.toBe(normaliseQuery('a b'));
    expect(normaliseQuery('a -b')).not.toBe(normaliseQuery('a b'));
    expect(normaliseQuery('a OR b')).not.toBe(normaliseQuery('a or b'));
  });
});
