import { cpus, totalmem } from 'node:os';

/** The machine a benchmark ran on, as its report records it. */
export function machine(): { cpu: string; cpus: number; memoryGiB: number; node: string } {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}
