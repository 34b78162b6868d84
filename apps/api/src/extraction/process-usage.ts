import { readFile } from 'node:fs/promises';

export interface ProcessUsage {
  rssBytes: number;
  /** User + system CPU time since the process started. */
  cpuMs: number;
}

// Linux reports CPU times in clock ticks; USER_HZ is 100 on every architecture Node ships for.
const TICKS_PER_SECOND = 100;

/**
 * Resident memory and CPU time of another process, read from /proc (Linux, the container image):
 * RSS counts what the V8 heap limit does not — typed arrays, WASM memory, zlib buffers. Undefined where
 * /proc does not exist or the process is gone; the caller then relies on the heap and wall-clock limits.
 */
export async function processUsage(pid: number): Promise<ProcessUsage | undefined> {
  try {
    const [status, stat] = await Promise.all([
      readFile(`/proc/${pid}/status`, 'utf8'),
      readFile(`/proc/${pid}/stat`, 'utf8'),
    ]);
    const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? NaN);
    // Fields after the command name (which may contain spaces and parentheses): utime is the 12th, stime the 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    if (!Number.isFinite(rssKb) || !Number.isFinite(ticks)) return undefined;
    return { rssBytes: rssKb * 1024, cpuMs: (ticks * 1000) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}
