// The README's "Try it in five minutes", run as written (issue 13): so the README cannot drift from the code.
//
// The section's code blocks are marked with HTML comments a reader does not see:
//   <!-- walkthrough: setup … -->  install, build and start: not run here — the app is built as `npm run build`
//                                   builds it (test/hostile/build.ts, shared with the hostile tier) and started as
//                                   `npm run start:prod` starts it, with the variables the block sets on that line;
//   <!-- walkthrough -->            commands, run in order in ONE bash session (variables and background helpers
//                                   carry over, as in the reader's terminal);
//   <!-- walkthrough: output -->    what the block before it prints: each line must match a whole output line, in
//                                   order (`...` matches anything — ids, times).
// Only the ports (3000 the app, 8000 the origin, 9000 the webhook receiver) and `/tmp/` are swapped for free ports
// and a private directory, so parallel runs do not collide.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureBuilt } from '../hostile/build';
import { freePort } from '../support/redis-server';
import { poll } from '../support/wait';

const ROOT = resolve(__dirname, '..', '..');
const SECTION = '## Try it in five minutes';
/** A hang bound for the whole walkthrough (its polling loops wait for a job and a webhook): ≥ 5× a loaded run. */
const SCRIPT_BOUND_MS = 180_000;

interface Block {
  kind: 'setup' | 'run' | 'output';
  lang: string;
  code: string;
}

/** The marked code blocks of the README's walkthrough section, in order. */
function walkthroughBlocks(readme: string): Block[] {
  const start = readme.indexOf(`\n${SECTION}\n`);
  if (start < 0) throw new Error(`README.md has no "${SECTION}" section`);
  // the section ends at the next `## ` heading outside a code block (an output block may show markdown)
  const lines = readme.slice(start + 1).split('\n');
  let fenced = false;
  const end = lines.findIndex((l, i) => {
    if (l.startsWith('```')) fenced = !fenced;
    return i > 0 && !fenced && l.startsWith('## ');
  });
  const section = lines.slice(0, end < 0 ? undefined : end).join('\n');
  const blocks: Block[] = [];
  const marked = /<!-- walkthrough(?::\s*(setup|output)\b[^>]*)? -->\n```(\w*)\n([\s\S]*?)```/g;
  for (const m of section.matchAll(marked))
    blocks.push({ kind: (m[1] as 'setup' | 'output' | undefined) ?? 'run', lang: m[2], code: m[3] });
  return blocks;
}

/** `VAR=value … npm run start:prod` in the setup block → { VAR: value }. */
function startEnvironment(setup: Block[]): Record<string, string> {
  const line = setup.flatMap((b) => b.code.split('\n')).find((l) => /\bnpm run start:prod\b/.test(l));
  if (!line) throw new Error('the walkthrough does not start the app with npm run start:prod');
  const prefix = line.slice(0, line.indexOf('npm run start:prod')).trim();
  return Object.fromEntries(
    prefix
      .split(/\s+/)
      .filter(Boolean)
      .map((a) => {
        const m = /^([A-Z][A-Z0-9_]*)=(\S*)$/.exec(a);
        if (!m) throw new Error(`unexpected word before npm run start:prod: ${a}`);
        return [m[1], m[2]];
      }),
  );
}

/** An expected output line as a whole-line pattern: `...` matches anything, the rest literally. */
const linePattern = (expected: string): RegExp =>
  new RegExp(
    `^${expected
      .split('...')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/** Whether every expected line matches an output line, in order; else what did not match. */
function matchInOrder(expected: string[], actual: string[]): string | undefined {
  let at = 0;
  for (const want of expected) {
    const pattern = linePattern(want);
    const found = actual.findIndex((line, i) => i >= at && pattern.test(line));
    if (found < 0) return want;
    at = found + 1;
  }
  return undefined;
}

describe('README walkthrough ("Try it in five minutes")', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = walkthroughBlocks(readme);
  const work = mkdtempSync(join(tmpdir(), 'atrium-walkthrough-'));
  let app: ChildProcess | undefined;
  let appLog = '';
  let ports: { app: number; origin: number; hook: number };
  let outputs: string[][] = [];
  let script = '';
  let scriptExit: number | null = null;
  let scriptLog = '';

  /** The README's text with the ports and /tmp swapped for this run's. */
  const localise = (code: string): string =>
    code
      .replace(/\b3000\b/g, String(ports.app))
      .replace(/\b8000\b/g, String(ports.origin))
      .replace(/\b9000\b/g, String(ports.hook))
      .replace(/\/tmp\//g, `${work}/`);

  beforeAll(async () => {
    const main = ensureBuilt((msg) => process.stdout.write(`${msg}\n`));
    ports = { app: await freePort(), origin: await freePort(), hook: await freePort() };

    // as `npm run start:prod` (node dist/apps/api/src/main.js) with the walkthrough's variables, and nothing else
    // of this machine's environment but PATH
    app = spawn(process.execPath, [main], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: work,
        ...startEnvironment(blocks.filter((b) => b.kind === 'setup')),
        PORT: String(ports.app),
        HOST: '127.0.0.1',
        DATA_DIR: join(work, 'data'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    app.stdout!.on('data', (d: Buffer) => (appLog += d.toString()));
    app.stderr!.on('data', (d: Buffer) => (appLog += d.toString()));
    const ready = await poll(
      async () => {
        if (app!.exitCode !== null) return 'exited';
        const res = await fetch(`http://127.0.0.1:${ports.app}/health/ready`).catch(() => undefined);
        return res?.status === 200 ? 'ready' : undefined;
      },
      180_000,
      200,
    );
    if (ready !== 'ready') throw new Error(`the app is not ready (${ready ?? 'timeout'}):\n${appLog}`);

    // every run block, in order, in one bash session; a marker line before each to split the output
    const runs = blocks.filter((b) => b.kind === 'run');
    script = runs.map((b, i) => `echo '@@block ${i}@@'\n${localise(b.code)}`).join('\n');
    const bash = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], {
      cwd: work,
      env: { PATH: process.env.PATH ?? '', HOME: work },
      // its own process group: the background helpers (origin, receiver) are ended with it
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    bash.stdout.on('data', (d: Buffer) => (scriptLog += d.toString()));
    bash.stderr.on('data', (d: Buffer) => (scriptLog += d.toString()));
    const hang = setTimeout(() => process.kill(-bash.pid!, 'SIGKILL'), SCRIPT_BOUND_MS);
    scriptExit = await new Promise<number | null>((r) => bash.once('exit', (code) => r(code)));
    clearTimeout(hang);
    try {
      process.kill(-bash.pid!, 'SIGTERM');
    } catch {
      // no helper left
    }
    outputs = scriptLog
      .split(/^@@block \d+@@\n/m)
      .slice(1)
      .map((o) => o.split('\n').map((l) => l.trimEnd())); // HTTP header lines end in \r
  }, 600_000);

  afterAll(async () => {
    if (app && app.exitCode === null) {
      const exited = new Promise((r) => app!.once('exit', r));
      app.kill('SIGTERM');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('has the setup (install, build, start:prod) and the blocks this test runs', () => {
    const setup = blocks.filter((b) => b.kind === 'setup').map((b) => b.code);
    expect(setup.join('\n')).toMatch(/^npm ci$/m);
    expect(setup.join('\n')).toMatch(/^npm run build$/m);
    expect(startEnvironment(blocks.filter((b) => b.kind === 'setup'))).toMatchObject({
      DOWNLOAD_ALLOW_PRIVATE: 'true',
    });
    expect(blocks.filter((b) => b.kind === 'run').length).toBeGreaterThanOrEqual(4);
    for (const b of blocks) expect([b.kind, b.lang]).toEqual([b.kind, b.kind === 'output' ? 'text' : 'bash']);
    // what the test swaps is all the README's blocks depend on: no other port of this machine
    for (const b of blocks.filter((b) => b.kind === 'run'))
      for (const [, port] of b.code.matchAll(/(?:localhost|127\.0\.0\.1):(\d+)/g))
        expect(['3000', '8000', '9000']).toContain(port);
  });

  it('the app warns at startup that private addresses are allowed, as the walkthrough says', () => {
    expect(appLog).toContain(
      'DOWNLOAD_ALLOW_PRIVATE=true: downloads, batch webhooks and rendered pages may reach',
    );
    expect(readme).toContain(
      'DOWNLOAD_ALLOW_PRIVATE=true: downloads, batch webhooks and rendered pages may reach',
    );
  });

  it('every block runs to the end', () => {
    expect({ exit: scriptExit, log: scriptExit === 0 ? '' : scriptLog }).toEqual({ exit: 0, log: '' });
    expect(outputs).toHaveLength(blocks.filter((b) => b.kind === 'run').length);
  });

  it('each block prints what the README shows after it', () => {
    let run = -1;
    const checked: number[] = [];
    for (const [i, b] of blocks.entries()) {
      if (b.kind === 'run') run++;
      if (b.kind !== 'output') continue;
      expect(blocks[i - 1]?.kind).toBe('run'); // an output block follows the block it shows
      const expected = b.code.split('\n').filter((l) => l.trim() !== '');
      const missing = matchInOrder(expected, outputs[run] ?? []);
      expect({ block: run, missing, output: missing ? outputs[run] : undefined }).toEqual({
        block: run,
        missing: undefined,
        output: undefined,
      });
      checked.push(run);
    }
    expect(checked.length).toBeGreaterThanOrEqual(4);
  });
});
