// A Node.js older than the one the project needs (issue 20, item 6): one line saying which Node is needed
// and how the README provides it, before anything else runs — not an unrelated error from deep inside a
// dependency. The service's own entry file is run by an older Node found on the machine (this image's
// /usr/bin/node is Node 20; `npm run` puts the pinned Node 24 first on PATH, a bare `node` is the system's).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { nodeVersionProblem, REQUIRED_NODE_MAJOR } from '@app/node-version';

const ROOT = resolve(__dirname, '..', '..');

/** A Node.js binary outside node_modules older than the required major, if the machine has one. */
function olderNode(): { path: string; version: string } | undefined {
  for (const path of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(path)) continue;
    const version = spawnSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
    if (Number(version.split('.')[0]) < REQUIRED_NODE_MAJOR) return { path, version };
  }
  return undefined;
}

describe('an older Node.js', () => {
  it('is told in words which Node the project needs', () => {
    expect(nodeVersionProblem('24.0.0')).toBeUndefined();
    expect(nodeVersionProblem('25.1.0')).toBeUndefined();
    expect(nodeVersionProblem('20.20.2')).toBe(
      'atrium: Node.js 24 is required, this is Node.js 20.20.2. Start through npm (npm start, npm run ' +
        'start:prod): the project pins Node.js 24 as an npm devDependency ("node"), which npm ci installs and ' +
        'npm run puts first on PATH (see the README, Quick start).',
    );
  });

  const old = olderNode();
  // No older Node on this machine: nothing to run the entry file with (the words are checked above).
  (old ? it : it.skip)(
    `running the service prints that one line and exits 1 (${old?.path ?? 'none'})`,
    () => {
      const run = spawnSync(
        old!.path,
        ['-r', '@swc-node/register', '-r', 'tsconfig-paths/register', 'apps/api/src/main.ts'],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '', SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'), PORT: '0' },
          timeout: 120_000,
        },
      );
      expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
        status: 1,
        stdout: '',
        stderr: `${nodeVersionProblem(old!.version)}\n`,
      });
    },
  );
});
