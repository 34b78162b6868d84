import { negotiateFormat } from './formats';

describe('negotiateFormat', () => {
  it.each([
    [undefined, 'text'],
    ['', 'text'],
    ['*/*', 'text'],
    ['text/plain', 'text'],
    ['text/markdown', 'markdown'],
    ['text/html', 'html'],
    ['application/json', 'json'],
    ['application/pdf', 'pdf'],
    ['application/octet-stream', 'raw'],
    ['text/html;q=0.5, application/json', 'json'],
    ['text/markdown;q=0.9, text/html;q=0.9', 'markdown'],
    ['application/pdf;q=0, text/html', 'html'],
    ['image/png', 'text'],
    ['TEXT/HTML', 'html'],
  ])('%j → %s', (accept, format) => {
    expect(negotiateFormat(accept)).toBe(format);
  });
});
