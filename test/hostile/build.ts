import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
/** Ignored by git (.gitignore): compiled copies of the app, one per source hash. */
export const BUILD_ROOT = join(ROOT, 'test', 'hostile', '.tmp');

/** Every file the build reads, in a stable order: sources and data under apps/ and libs/, the build's configs, the lockfile. */
function buildInputs(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (!name.endsWith('.spec.ts')) files.push(path);
    }
  };
  for (const top of ['apps', 'libs']) walk(join(ROOT, top));
  for (const f of ['tsconfig.json', 'tsconfig.build.json', 'package-lock.json']) files.push(join(ROOT, f));
  return files;
}

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const file of buildInputs()) {
    hash.update(relative(ROOT, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Compiles the app as `npm run build` does (tsc + tsc-alias + the runtime data folders) into
 * test/hostile/.tmp/build-<hash of the sources>/ and returns the path of its main.js. A build of the
 * same sources is reused (a second hostile file, or a re-run with no source change, costs a hash of
 * the tree); a changed source builds anew and older builds are removed. Concurrent callers (Jest
 * workers, two terminals) each build into a private directory and rename it into place: whoever
 * renames first wins, the other's copy is discarded — never a half-written build.
 */
export function ensureBuilt(log: (msg: string) => void = () => undefined): string {
  const hash = sourceHash();
  const dir = join(BUILD_ROOT, `build-${hash}`);
  const main = join(dir, 'apps', 'api', 'src', 'main.js');
  if (existsSync(join(dir, 'COMPLETE'))) return main;

  mkdirSync(BUILD_ROOT, { recursive: true });
  const work = join(BUILD_ROOT, `work-${hash}-${process.pid}-${Date.now()}`);
  log(`hostile: building the app into ${relative(ROOT, dir)} (tsc + tsc-alias, as npm run build)`);
  const bin = (name: string): string => join(ROOT, 'node_modules', '.bin', name);
  try {
    const run = (cmd: string): void => {
      try {
        execFileSync(bin(cmd), ['-p', 'tsconfig.build.json', '--outDir', work], {
          cwd: ROOT,
          stdio: 'pipe',
        });
      } catch (err) {
        const out = err as { stdout?: Buffer; stderr?: Buffer };
        throw new Error(
          `hostile: ${cmd} failed:\n${out.stdout?.toString() ?? ''}${out.stderr?.toString() ?? ''}`,
        );
      }
    };
    run('tsc');
    run('tsc-alias');
    // as scripts/copy-assets.js: runtime data folders (bundled sample buildings…) go next to the code
    const copyData = (src: string): void => {
      for (const name of readdirSync(src)) {
        const path = join(src, name);
        if (!statSync(path).isDirectory()) continue;
        if (name === 'data') cpSync(path, join(work, relative(ROOT, path)), { recursive: true });
        else copyData(path);
      }
    };
    for (const top of ['apps', 'libs']) copyData(join(ROOT, top));
    writeFileSync(join(work, 'COMPLETE'), `${new Date().toISOString()}\n`);
    try {
      renameSync(work, dir);
    } catch {
      // another process renamed its identical build into place first
      rmSync(work, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  // older builds (other source hashes) are dead weight; a build another process is still writing is left alone
  for (const name of readdirSync(BUILD_ROOT))
    if (name.startsWith('build-') && name !== `build-${hash}`)
      rmSync(join(BUILD_ROOT, name), { recursive: true, force: true });
  return main;
}
