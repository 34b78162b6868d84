// One process per embedded data folder (issue 20, item 1). A second start on the same DATA_DIR used to
// open PGlite on the folder before failing on the port (or, on another port, to run beside the first, each
// seeing only its own writes) and left the folder broken. Now `DATA_DIR/atrium.pid` (PID, start time, boot
// id) is taken before anything opens the data: a live holder makes the second process exit non-zero at
// once naming the folder and the PID; a holder killed with SIGKILL leaves a stale lock that the next start
// takes over, with every document still searchable. The port is checked before the data is opened, and the
// backup/restore commands refuse a folder in use. All of it with real child processes on real folders.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { form } from '../fixtures/documents/builders';
import { ChildApp } from '../support/child-app';

const ROOT = resolve(__dirname, '..', '..');
/** Hang bound for a child start through @swc-node on a busy 2-core machine (ChildApp.waitReady's). */
const START_MS = 180_000;

type Run = { code: number | null; stdout: string; stderr: string };

/** `npm run data:backup|data:restore -- <file>` as the README gives it (the same command line). */
function dataCli(command: 'backup' | 'restore', file: string, dataDir: string): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        '-r',
        'tsconfig-paths/register',
        'apps/api/src/data-cli.ts',
        command,
        file,
      ],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          DATA_DIR: dataDir,
          SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

const DOCS: Array<[string, string]> = [
  ['orchard.txt', 'The quince orchard behind the mill is pruned every February.'],
  ['harbour.txt', 'Harbour cranes are inspected by the marine surveyor each spring.'],
  ['archive.txt', 'The municipal archive keeps the original blueprints of the lighthouse.'],
];

/** Every stored document is listed and found by a word of its own. */
async function expectAllSearchable(app: ChildApp, ids: Record<string, string>): Promise<void> {
  const listed = await app.request('/api/v1/stores/lock/documents');
  expect(listed.status).toBe(200);
  expect(listed.body.documents.map((d: { id: string }) => d.id).sort()).toEqual(Object.values(ids).sort());
  for (const [name, word] of [
    ['orchard.txt', 'quince'],
    ['harbour.txt', 'surveyor'],
    ['archive.txt', 'lighthouse'],
  ]) {
    const found = await app.request(`/api/v1/search?store=lock&q=${word}`);
    expect({ word, status: found.status }).toEqual({ word, status: 200 });
    expect(found.body.results.map((r: { documentId: string }) => r.documentId)).toEqual([ids[name]]);
  }
}

describe('one process per embedded data folder', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'atrium-lock-e2e-'));
  const scratch = mkdtempSync(join(tmpdir(), 'atrium-lock-backup-'));
  let holder: ChildApp;
  const others: ChildApp[] = [];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    holder = await ChildApp.spawn({}, { dataDir });
    await holder.waitReady();
    const store = await holder.request('/api/v1/stores', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lock' }),
    });
    expect(store.status).toBe(201);
    const res = await holder.request('/api/v1/stores/lock/documents', { method: 'POST', body: form(DOCS) });
    expect(res.status).toBe(201);
    for (const d of res.body.documents as Array<{ id: string; filename: string }>) ids[d.filename] = d.id;
    expect(Object.keys(ids).sort()).toEqual(DOCS.map(([n]) => n).sort());
  }, START_MS);

  afterAll(async () => {
    for (const o of others) await o.kill();
    await holder?.close(); // removes dataDir
    rmSync(scratch, { recursive: true, force: true });
  }, 30_000);

  it(
    'refuses a second start on the folder (another port, or the same one): non-zero at once, naming the folder ' +
      'and the PID; the first keeps serving its data',
    async () => {
      for (const port of [undefined, holder.port]) {
        const second = await ChildApp.spawn({}, { dataDir, port });
        others.push(second);
        const exit = await second.waitExit();
        expect(exit.code).toBe(75);
        const lines = second.log.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`the data folder ${dataDir} is in use by process ${holder.pid}`);
        // it never got as far as Nest: no log line of the app
        expect(second.lines).toEqual([]);
      }
      expect(JSON.parse(readFileSync(join(dataDir, 'atrium.pid'), 'utf8'))).toMatchObject({
        pid: holder.pid,
      });
      expect((await holder.request('/health/ready')).status).toBe(200);
      await expectAllSearchable(holder, ids);
    },
    START_MS,
  );

  it(
    'refuses a backup or a restore while the service holds the folder',
    async () => {
      for (const command of ['backup', 'restore'] as const) {
        const run = await dataCli(command, join(scratch, 'refused.tar.gz'), dataDir);
        expect({ command, code: run.code }).toEqual({ command, code: 1 });
        expect(run.stderr).toContain(`in use by process ${holder.pid}`);
      }
      expect(existsSync(join(scratch, 'refused.tar.gz'))).toBe(false);
      await expectAllSearchable(holder, ids);
    },
    START_MS,
  );

  it(
    'after kill -9 of the holder, the next start takes over the stale lock with every document intact',
    async () => {
      const killed = holder.pid;
      await holder.kill('SIGKILL');
      expect(JSON.parse(readFileSync(join(dataDir, 'atrium.pid'), 'utf8'))).toMatchObject({ pid: killed });
      await holder.restart();
      expect(JSON.parse(readFileSync(join(dataDir, 'atrium.pid'), 'utf8'))).toMatchObject({
        pid: holder.pid,
      });
      expect(holder.lines).toContainEqual(
        expect.objectContaining({ level: 'warn', staleLock: `process ${killed} is gone` }),
      );
      await expectAllSearchable(holder, ids);
    },
    START_MS,
  );

  it(
    'a graceful stop releases the folder; backup, then restore into a new folder, serves every document',
    async () => {
      await holder.kill('SIGTERM');
      expect((await holder.waitExit()).code).toBe(0);
      expect(existsSync(join(dataDir, 'atrium.pid'))).toBe(false);

      const file = join(scratch, 'atrium-backup.tar.gz');
      const backup = await dataCli('backup', file, dataDir);
      expect({ code: backup.code, stderr: backup.stderr }).toEqual({ code: 0, stderr: '' });
      expect(backup.stdout).toContain(`backed up ${join(dataDir, 'pglite')} to ${file}`);
      expect(existsSync(join(dataDir, 'atrium.pid'))).toBe(false);

      const restoredDir = join(scratch, 'restored');
      const restore = await dataCli('restore', file, restoredDir);
      expect({ code: restore.code, stderr: restore.stderr }).toEqual({ code: 0, stderr: '' });
      const restored = await ChildApp.spawn({}, { dataDir: restoredDir });
      others.push(restored);
      await restored.waitReady();
      await expectAllSearchable(restored, ids);
      await restored.kill('SIGTERM');
    },
    START_MS,
  );
});

describe('a start that cannot listen does not touch the data', () => {
  let blocker: Server;
  afterAll(() => new Promise<void>((r) => blocker?.close(() => r())));

  it(
    'exits non-zero naming the address before the embedded database is opened',
    async () => {
      blocker = createServer();
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
      const port = (blocker.address() as { port: number }).port;
      const app = await ChildApp.spawn({}, { port, freshDataDir: true });
      try {
        const exit = await app.waitExit();
        expect(exit.code).toBe(1);
        expect(app.log.trim()).toBe(
          `atrium: refusing to start: cannot listen on 127.0.0.1:${port} (the port is in use by another process); ` +
            `set PORT (or HOST) to a free one. The data in ${app.dataDir} was not opened.`,
        );
        expect(existsSync(join(app.dataDir, 'pglite'))).toBe(false);
        // the lock was released on the way out
        expect(existsSync(join(app.dataDir, 'atrium.pid'))).toBe(false);
      } finally {
        app.cleanup();
      }
    },
    START_MS,
  );
});

describe('an embedded database that cannot be opened', () => {
  it(
    'fails the start non-zero naming the folder, the problem and how to recover (it used to exit 0 in silence)',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'atrium-broken-'));
      // a data folder PGlite cannot open: a PG_VERSION and nothing else
      mkdirSync(join(dataDir, 'pglite'));
      writeFileSync(join(dataDir, 'pglite', 'PG_VERSION'), '17\n');
      const app = await ChildApp.spawn({}, { dataDir });
      try {
        const exit = await app.waitExit();
        expect(exit.code).toBe(1);
        const said = app.output
          .join('')
          .split('\n')
          .filter((l) => l.startsWith('atrium:'));
        expect(said).toEqual([
          `atrium: failed to start: cannot open the embedded database in ${join(dataDir, 'pglite')}: ` +
            'PGlite failed to initialize properly. To recover: restore a backup (npm run data:restore -- <file>), ' +
            `or move ${dataDir} aside to start empty; see the README, "Embedded data: backup, restore, recovery"`,
        ]);
        expect(existsSync(join(dataDir, 'atrium.pid'))).toBe(false);
      } finally {
        app.cleanup();
      }
    },
    START_MS,
  );
});
