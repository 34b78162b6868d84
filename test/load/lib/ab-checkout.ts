// The A side of an A/B benchmark (`--ab <rev>`): that revision in a git worktree beside this tree.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AbCheckout {
  dir: string;
  commit: string;
  /** The commit's subject, cut to 100 characters. */
  subject: string;
  /** Removes the worktree (safe to call twice). */
  remove(): void;
}

const git = (cwd: string, ...a: string[]): string => execFileSync('git', a, { cwd, encoding: 'utf8' }).trim();

/**
 * Checks out `rev` of the repository at `root` into a temporary git worktree. The app runs from source and only
 * reads node_modules: with the same package-lock.json the worktree links this tree's; with another, it runs
 * `npm ci` (an older revision's dependencies).
 */
export function checkoutRevision(root: string, rev: string, log: (msg: string) => void): AbCheckout {
  const commit = git(root, 'rev-parse', '--verify', `${rev}^{commit}`);
  const dir = join(mkdtempSync(join(tmpdir(), 'atrium-ab-')), 'src');
  git(root, 'worktree', 'add', '--detach', dir, commit);
  const lock = (d: string) => readFileSync(join(d, 'package-lock.json'), 'utf8');
  if (lock(dir) === lock(root)) symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  else {
    log(`${rev}'s package-lock.json differs from this tree's: npm ci in its worktree`);
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dir,
      stdio: 'inherit',
    });
  }
  return {
    dir,
    commit,
    subject: git(root, 'log', '-1', '--format=%s', commit).slice(0, 100),
    remove: () => {
      if (existsSync(dir)) git(root, 'worktree', 'remove', '--force', dir);
    },
  };
}
