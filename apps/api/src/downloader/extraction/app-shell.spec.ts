import { ARTICLE_HTML } from '../../../../../test/fixtures/origin-server';
import { APP_SHELL_MAX_BYTES, looksLikeAppShell } from './extract';

const HTML = 'text/html; charset=utf-8';
const shell = (root: string, extra = ''): Buffer =>
  Buffer.from(
    `<!doctype html><html><head><title>My App</title><script src="/bundle.js" defer></script></head>` +
      `<body><noscript>You need to enable JavaScript to run this app.</noscript>${root}${extra}</body></html>`,
  );

describe('looksLikeAppShell (render=auto)', () => {
  it.each([
    '<div id="root"></div>',
    '<div id="app" data-v-app></div>',
    '<main id="__next">\n</main>',
    '<app-root></app-root>',
  ])('an empty script-filled root %s with little text is a shell', (root) => {
    expect(looksLikeAppShell(shell(root), HTML)).toBe(true);
  });

  it('a server-rendered article is not, nor a page with text beside its root, nor one without scripts', () => {
    expect(looksLikeAppShell(Buffer.from(ARTICLE_HTML), HTML)).toBe(false);
    expect(looksLikeAppShell(shell('<div id="root"></div>', `<p>${'words '.repeat(60)}</p>`), HTML)).toBe(
      false,
    );
    expect(looksLikeAppShell(Buffer.from('<html><body><div id="root"></div></body></html>'), HTML)).toBe(
      false,
    );
  });

  it('only HTML, and only up to APP_SHELL_MAX_BYTES, is looked at', () => {
    expect(looksLikeAppShell(shell('<div id="root"></div>'), 'application/json')).toBe(false);
    const big = shell('<div id="root"></div>', `<!--${'x'.repeat(APP_SHELL_MAX_BYTES)}-->`);
    expect(looksLikeAppShell(big, HTML)).toBe(false);
  });

  it('hostile markup (unclosed tags, endless attributes, script openings without end) is one pass', () => {
    const n = APP_SHELL_MAX_BYTES - 1024;
    for (const unit of ['<div id=', '<script', '<div id="a" ', '<a-b ', '<!--', '<'])
      expect(looksLikeAppShell(Buffer.from(unit.repeat(Math.floor(n / unit.length))), HTML)).toBe(false);
    const spaces = Buffer.from(`<script></script><div ${' '.repeat(n)}id="root"></div>`);
    expect(looksLikeAppShell(spaces, HTML)).toBe(true);
  });
});
