import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bootId,
  DATA_DIR_LOCK_FILE,
  DataDirLock,
  DataDirLockedError,
  processStartTime,
  readDataDirHolder,
} from './data-dir-lock';

describe('DataDirLock', () => {
  let dir: string;
  const lockFile = () => join(dir, DATA_DIR_LOCK_FILE);
  const writeHolder = (holder: Record<string, unknown>) =>
    writeFileSync(lockFile(), `${JSON.stringify(holder)}\n`);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'atrium-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records this process (PID, start time, boot id) and removes the file on release', () => {
    const lock = DataDirLock.acquire(dir);
    expect(lock.recovered).toBeUndefined();
    expect(readDataDirHolder(dir)).toMatchObject({
      pid: process.pid,
      startTime: processStartTime('self'),
      bootId: bootId(),
    });
    expect(processStartTime('self')).toMatch(/^\d+$/);
    lock.release();
    lock.release(); // idempotent
    expect(existsSync(lockFile())).toBe(false);
  });

  it('refuses a folder held by a live process, naming the folder and the PID', () => {
    // the parent of this Jest worker: alive, and its real start time
    const pid = process.ppid;
    writeHolder({ pid, startTime: processStartTime(pid), bootId: bootId(), hostname: hostname() });
    let err: unknown;
    try {
      DataDirLock.acquire(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).toContain(`process ${pid}`);
    expect(readDataDirHolder(dir)?.pid).toBe(pid); // left as it was
  });

  it('never takes over a lock written on another host, whose processes it cannot see', () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeHolder({ pid: dead, startTime: '1', bootId: 'another-boot', hostname: 'other-host' });
    expect(() => DataDirLock.acquire(dir)).toThrow(
      `the data folder ${dir} is in use by process ${dead} on host other-host (lock ${lockFile()}); this host ` +
        `cannot see whether it still runs: stop it, or once no process on other-host uses the folder any more, ` +
        `delete ${lockFile()}`,
    );
  });

  it('refuses a second lock on a folder this process already holds', () => {
    const lock = DataDirLock.acquire(dir);
    expect(() => DataDirLock.acquire(dir)).toThrow(DataDirLockedError);
    lock.release();
    DataDirLock.acquire(dir).release();
  });

  it('takes over a lock whose process is gone', () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeHolder({ pid: dead, startTime: '1', bootId: bootId(), hostname: hostname() });
    const lock = DataDirLock.acquire(dir);
    expect(lock.recovered).toBe(`process ${dead} is gone`);
    expect(readDataDirHolder(dir)?.pid).toBe(process.pid);
    lock.release();
  });

  it('takes over a lock whose PID now belongs to another process', () => {
    const pid = process.ppid;
    writeHolder({
      pid,
      startTime: `${Number(processStartTime(pid)) + 1}`,
      bootId: bootId(),
      hostname: hostname(),
    });
    const lock = DataDirLock.acquire(dir);
    expect(lock.recovered).toBe(`PID ${pid} now belongs to another process`);
    lock.release();
  });

  it('takes over a lock written before the last reboot, and one naming no process', () => {
    writeHolder({
      pid: process.ppid,
      startTime: processStartTime(process.ppid),
      bootId: 'another-boot',
      hostname: hostname(),
    });
    const a = DataDirLock.acquire(dir);
    expect(a.recovered).toBe('written before the last reboot');
    a.release();
    writeFileSync(lockFile(), '');
    const b = DataDirLock.acquire(dir);
    expect(b.recovered).toBe('the lock file names no process');
    expect(JSON.parse(readFileSync(lockFile(), 'utf8'))).toMatchObject({ pid: process.pid });
    b.release();
  });
});
