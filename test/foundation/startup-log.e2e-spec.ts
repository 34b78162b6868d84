// What the startup log tells an operator (issue 13): a warning when DOWNLOAD_ALLOW_PRIVATE=true is on, and
// whether PDF rendering is available — found by looking for the binary, without starting the browser.
// The real service in its own process (ChildApp), its JSON log lines parsed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { ChildApp } from '../support/child-app';

const CHROMIUM = '/usr/bin/chromium';
const WARN = 'warn';
const INFO = 'info';

type Line = Record<string, unknown>;
const allowPrivateLines = (app: ChildApp): Line[] =>
  app.lines.filter((l) => String(l.msg).includes('DOWNLOAD_ALLOW_PRIVATE'));
const pdfLines = (app: ChildApp): Line[] => app.lines.filter((l) => l.pdfRendering !== undefined);

/** The command lines of every process descended from `pid` (from /proc). */
function descendants(pid: number): string[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  const isDescendant = (p: number): boolean => {
    for (let q = parentOf.get(p); q !== undefined && q > 1; q = parentOf.get(q)) if (q === pid) return true;
    return false;
  };
  return [...parentOf.keys()].filter(isDescendant).map((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      return '';
    }
  });
}

describe('startup log', () => {
  let open: ChildApp;
  let plain: ChildApp;

  beforeAll(async () => {
    // two processes compiled and started side by side (each takes a while through @swc-node)
    [open, plain] = await Promise.all([
      ChildApp.spawn({
        DOWNLOAD_ALLOW_PRIVATE: 'true',
        CHROMIUM_PATH: '/nonexistent/chromium',
        BODY_READ_TIMEOUT_MS: '60000',
      }),
      ChildApp.spawn(existsSync(CHROMIUM) ? { CHROMIUM_PATH: CHROMIUM } : {}),
    ]);
    await Promise.all([open.waitReady(), plain.waitReady()]);
  }, 400_000);

  afterAll(async () => {
    await Promise.all([open?.close(), plain?.close()]);
  });

  it('warns, on one line, when DOWNLOAD_ALLOW_PRIVATE=true, saying what it allows', () => {
    const lines = allowPrivateLines(open);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: WARN, downloadAllowPrivate: true });
    expect(lines[0].msg).toMatch(/private, loopback and link-local addresses/);
    expect(lines[0].msg).toMatch(/local testing only/);
    expect(String(lines[0].msg)).not.toContain('\n');
  });

  it('says nothing of private addresses when they are refused (the default)', () => {
    expect(allowPrivateLines(plain)).toEqual([]);
  });

  it('names a retired variable that is still set, and what replaced it (once, a warning)', () => {
    const retired = (app: ChildApp): Line[] => app.lines.filter((l) => l.retiredVariable !== undefined);
    expect(retired(open)).toEqual([
      expect.objectContaining({ level: WARN, retiredVariable: 'BODY_READ_TIMEOUT_MS' }),
    ]);
    expect(String(retired(open)[0].msg)).toMatch(/no longer read: .*BODY_IDLE_TIMEOUT_MS/);
    expect(retired(plain)).toEqual([]);
  });

  it('says PDF rendering is unavailable when CHROMIUM_PATH names no file, and what PDFs answer', () => {
    expect(pdfLines(open)).toEqual([
      expect.objectContaining({
        level: INFO,
        pdfRendering: 'unavailable',
        chromiumPath: '/nonexistent/chromium',
        msg: expect.stringMatching(/no Chromium at \/nonexistent\/chromium .*503 PDF_UNAVAILABLE/),
      }),
    ]);
  });

  (existsSync(CHROMIUM) ? it : it.skip)(
    'says PDF rendering is available when Chromium is found, without starting the browser',
    async () => {
      expect(pdfLines(plain)).toEqual([
        expect.objectContaining({ level: INFO, pdfRendering: 'available', chromiumPath: CHROMIUM }),
      ]);
      // the process tree has its parser children, but no browser
      expect(descendants(plain.pid!).filter((cmd) => /chrom/i.test(cmd))).toEqual([]);
    },
  );
});
