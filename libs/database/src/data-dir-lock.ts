import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** The lock file inside the data folder (as PostgreSQL's `postmaster.pid`). */
export const DATA_DIR_LOCK_FILE = 'atrium.pid';

/** Who holds a data folder: what the lock file records. */
export interface DataDirHolder {
  pid: number;
  /** The process's start time (clock ticks since boot, /proc/<pid>/stat field 22); '' where unknown. */
  startTime: string;
  /** /proc/sys/kernel/random/boot_id of the boot the holder ran in; '' where unknown. */
  bootId: string;
  hostname: string;
}

/** A live process holds the folder: the embedded database is single-writer, a second opener would break it. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: DataDirHolder,
  ) {
    const lock = join(dataDir, DATA_DIR_LOCK_FILE);
    super(
      foreignHost(holder)
        ? `the data folder ${dataDir} is in use by process ${holder.pid} on host ${holder.hostname} (lock ${lock}); ` +
            `this host cannot see whether it still runs: stop it, or once no process on ${holder.hostname} uses ` +
            `the folder any more, delete ${lock}`
        : `the data folder ${dataDir} is in use by process ${holder.pid} (lock ${lock}): stop that process or ` +
            `give this one another DATA_DIR`,
    );
    this.name = 'DataDirLockedError';
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command, which may hold spaces); '' without /proc. */
export function processStartTime(pid: number | 'self'): string {
  const stat = readOr(`/proc/${pid}/stat`, '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): field 22 is fields[19]
  return fields[19] ?? '';
}

export function bootId(): string {
  return readOr('/proc/sys/kernel/random/boot_id', '');
}

/** Whether a process with this PID exists (EPERM: it does, under another user). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseHolder(text: string): DataDirHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<DataDirHolder>;
    if (typeof h.pid !== 'number' || !Number.isInteger(h.pid) || h.pid <= 0) return undefined;
    return {
      pid: h.pid,
      startTime: typeof h.startTime === 'string' ? h.startTime : '',
      bootId: typeof h.bootId === 'string' ? h.bootId : '',
      hostname: typeof h.hostname === 'string' ? h.hostname : '',
    };
  } catch {
    return undefined;
  }
}

/** The holder ran under another host name: another machine, or another container on a shared volume. */
function foreignHost(holder: DataDirHolder): boolean {
  return holder.hostname !== '' && holder.hostname !== hostname();
}

/** Folders this process holds: a second lock on one of them in the same process is refused too. */
const held = new Set<string>();

/**
 * Why a recorded holder no longer holds the folder, or undefined when it is alive. A lock is stale when
 * the PID is gone, when the machine booted since (another boot id: its PIDs mean nothing now), or when
 * the PID now belongs to another process (another start time: PIDs are reused, a container's node is
 * PID 1 at every start). A lock written under another host name is never taken over: that process cannot
 * be seen from here (the message says how to clear it by hand).
 */
export function staleReason(holder: DataDirHolder, dataDir: string): string | undefined {
  // Another host (or container: its own PID namespace) shares the folder: its PIDs cannot be checked here.
  if (foreignHost(holder)) return undefined;
  const boot = bootId();
  if (holder.bootId && boot && holder.bootId !== boot) return 'written before the last reboot';
  if (holder.pid === process.pid)
    return held.has(dataDir) ? undefined : 'left by an earlier process with this PID';
  if (!pidAlive(holder.pid)) return `process ${holder.pid} is gone`;
  const start = processStartTime(holder.pid);
  if (holder.startTime && start && holder.startTime !== start)
    return `PID ${holder.pid} now belongs to another process`;
  return undefined;
}

/** The holder recorded in a data folder's lock, when the file exists and names one. */
export function readDataDirHolder(dataDir: string): DataDirHolder | undefined {
  return parseHolder(readOr(join(dataDir, DATA_DIR_LOCK_FILE), ''));
}

/**
 * An exclusive lock on a data folder, the way PostgreSQL uses `postmaster.pid`: `atrium.pid` holds the PID,
 * the process's start time and the boot id. The file appears atomically with its contents (written to a
 * private temporary file, then hard-linked into place: link(2) fails when the name exists, as O_EXCL does),
 * so a reader never sees a half-written lock. A lock whose holder is gone (killed, crashed, another boot,
 * PID reused) is stale: it is replaced, and `recovered` says why. A live holder: DataDirLockedError.
 *
 * Released by release() (graceful shutdown) and, as a last resort, when the process exits; a SIGKILL
 * leaves the file behind, which the next start finds stale.
 */
export class DataDirLock {
  private released = false;
  private readonly onExit = (): void => this.release();

  private constructor(
    readonly dataDir: string,
    readonly path: string,
    /** Why an existing lock was taken over (a stale one), or undefined. */
    readonly recovered: string | undefined,
  ) {
    held.add(dataDir);
    process.once('exit', this.onExit);
  }

  static acquire(dataDir: string): DataDirLock {
    mkdirSync(dataDir, { recursive: true });
    const path = join(dataDir, DATA_DIR_LOCK_FILE);
    const me: DataDirHolder = {
      pid: process.pid,
      startTime: processStartTime('self'),
      bootId: bootId(),
      hostname: hostname(),
    };
    const tmp = join(dataDir, `.${DATA_DIR_LOCK_FILE}.${process.pid}.${Date.now()}`);
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeSync(fd, `${JSON.stringify(me)}\n`);
    } finally {
      closeSync(fd);
    }
    let recovered: string | undefined;
    try {
      // a few rounds: a stale lock is removed, and another starter may win the race to replace it
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          linkSync(tmp, path);
          return new DataDirLock(dataDir, path, recovered);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const text = readOr(path, '');
        const holder = parseHolder(text);
        // unreadable or foreign content: nothing proves a live holder (files appear whole, see above)
        const why = holder ? staleReason(holder, dataDir) : 'the lock file names no process';
        if (holder && !why) throw new DataDirLockedError(dataDir, holder);
        // remove only the stale file we read, not one another starter has just put in its place
        if (readOr(path, '') === text) rmSync(path, { force: true });
        recovered = why;
      }
      throw new Error(`could not lock the data folder ${dataDir}: ${path} keeps reappearing`);
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** Removes the lock file (only while it still names this process). Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.removeListener('exit', this.onExit);
    held.delete(this.dataDir);
    const holder = parseHolder(readOr(this.path, ''));
    if (holder?.pid === process.pid) {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone
      }
    }
  }
}
