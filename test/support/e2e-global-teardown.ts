import { rmSync } from 'node:fs';
import { TEMPLATE_DIR_ENV } from './pglite-template';

/** Jest globalTeardown of the e2e project: the run's template folder goes with the run. */
export default function globalTeardown(): void {
  const dir = process.env[TEMPLATE_DIR_ENV];
  if (dir) rmSync(dir, { recursive: true, force: true });
}
