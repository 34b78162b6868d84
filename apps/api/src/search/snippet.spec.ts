import { escapeHtml, normaliseQuery, renderSnippet } from './snippet';

describe('renderSnippet', () => {
  it('escapes everything and turns only the hit markers into <mark>', () => {
    expect(renderSnippet('a <script>x</script> & "\uE000hit\uE001" \'q\'')).toBe(
      'a &lt;script&gt;x&lt;/script&gt; &amp; &quot;<mark>hit</mark>&quot; &#39;q&#39;',
    );
  });

  it('cannot be tricked by text that looks like a mark tag', () => {
    expect(renderSnippet('<mark>fake</mark> \uE000real\uE001')).toBe(
      '&lt;mark&gt;fake&lt;/mark&gt; <mark>real</mark>',
    );
  });

  it('collapses whitespace', () => {
    expect(renderSnippet('  a\n\n b\t c ')).toBe('a b c');
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

  it('keeps what changes the meaning', () => {
    expect(normaliseQuery('"a b"')).not.toBe(normaliseQuery('a b'));
    expect(normaliseQuery('a -b')).not.toBe(normaliseQuery('a b'));
  });
});
