import { ensureBuilt } from './build';

/**
 * Jest globalSetup of the hostile project: compiles the app once per test run (reused across runs while
 * the sources are unchanged) and hands its path to every hostile file through the environment, which
 * Jest's workers inherit — so a source edited mid-run does not trigger a second build.
 */
export default function globalSetup(): void {
  process.env.ATRIUM_HOSTILE_MAIN = ensureBuilt((msg) => process.stdout.write(`\n${msg}\n`));
}
