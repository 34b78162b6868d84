import { cpSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A migrated, empty embedded database for e2e apps to start on, made once per Jest run.
 *
 * A first start on an empty `DATA_DIR` runs PGlite's initdb (~2.5 s of CPU here), restarts the worker and
 * runs every migration: about 3 s per app, and the e2e tier starts a hundred apps. What a spec is about is
 * almost never that first start, so `startApp` copies this template into the app's `DATA_DIR/pglite` — a
 * clean restart on an existing database, exactly what a production restart does. A spec about the first
 * start (initdb, the migrations it runs, their log lines) passes `freshDataDir: true`; the README
 * walkthrough, `data-dir-lock` and the child-process specs start on empty folders as before.
 *
 * The template is made by the app of this run's sources (started on an empty folder, closed cleanly, its
 * `pglite` folder copied), in a folder the e2e project's globalSetup creates for the run
 * (`ATRIUM_E2E_TEMPLATE_DIR`, removed by its teardown), so it can never be older than the migrations under
 * test. Outside such a run (a script importing test/support) there is no template and apps start fresh.
 */
export const TEMPLATE_DIR_ENV = 'ATRIUM_E2E_TEMPLATE_DIR';

let making: Promise<string | undefined> | undefined;

/**
 * The template's `pglite` folder, making it on first use in this run. `make` starts an app on an empty
 * DATA_DIR, closes it and returns that DATA_DIR (removed here once copied).
 */
export function pgliteTemplate(make: () => Promise<string>): Promise<string | undefined> {
  const runDir = process.env[TEMPLATE_DIR_ENV];
  if (!runDir || !existsSync(runDir)) return Promise.resolve(undefined);
  const template = join(runDir, 'pglite');
  if (existsSync(join(runDir, 'COMPLETE'))) return Promise.resolve(template);
  making ??= (async () => {
    const dataDir = await make();
    try {
      const work = `${template}-work-${process.pid}`;
      cpSync(join(dataDir, 'pglite'), work, { recursive: true });
      try {
        renameSync(work, template);
        writeFileSync(join(runDir, 'COMPLETE'), `${new Date().toISOString()}\n`);
      } catch {
        rmSync(work, { recursive: true, force: true }); // another worker was first
      }
      return existsSync(join(runDir, 'COMPLETE')) ? template : undefined;
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  })().finally(() => (making = undefined));
  return making;
}

/** Jest globalSetup of the e2e project: a folder for this run's template, handed down through the environment. */
export function createTemplateRunDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'atrium-e2e-run-'));
  process.env[TEMPLATE_DIR_ENV] = dir;
  return dir;
}

/** Copies the template into `DATA_DIR/pglite`; false when there is none (the app then starts fresh). */
export async function seedDataDir(dataDir: string, make: () => Promise<string>): Promise<boolean> {
  const template = await pgliteTemplate(make);
  if (!template) return false;
  cpSync(template, join(dataDir, 'pglite'), { recursive: true });
  return true;
}
