import { isCssSelector, MAX_SELECTOR_CHARS } from './css-selector.validator';

describe('isCssSelector (include, exclude, waitFor)', () => {
  it.each([
    'main article',
    '#root > .content p',
    'a[href^="http"], img[alt]',
    'li:nth-child(2n+1)',
    '.a:not(.b)',
  ])('accepts %s', (s) => expect(isCssSelector(s)).toBe(true));
  it.each(['div[', '#a >', '> p', '', '   ', 'p,,', 'p'.repeat(MAX_SELECTOR_CHARS + 1)])('refuses %j', (s) =>
    expect(isCssSelector(s)).toBe(false),
  );
  it('refuses non-strings', () => expect(isCssSelector(42)).toBe(false));
});
