import { execFile } from 'node:child_process';

const probes = new Map<string, Promise<boolean>>();

/**
 * Whether this Node starts with `flag` on its command line. Node's own options and the V8 options Node
 * lets through NODE_OPTIONS (`--max-old-space-size`, `--max-semi-space-size`…) are in
 * `process.allowedNodeEnvironmentFlags` and need no probe; any other V8 option is tried once — `node
 * <flag> -e ''` must exit 0 — because a V8 that does not know it makes the process refuse to start.
 * Remembered for the process.
 */
export function nodeAccepts(flag: string): Promise<boolean> {
  if (process.allowedNodeEnvironmentFlags.has(flag.split('=')[0])) return Promise.resolve(true);
  let probe = probes.get(flag);
  if (!probe) {
    probe = new Promise<boolean>((resolve) =>
      execFile(process.execPath, [flag, '-e', ''], { timeout: 30_000 }, (err) => resolve(!err)),
    );
    probes.set(flag, probe);
  }
  return probe;
}

/** The flags of `wanted` this Node accepts (in order), and the ones it does not. */
export async function acceptedFlags(wanted: string[]): Promise<{ accepted: string[]; refused: string[] }> {
  const ok = await Promise.all(wanted.map(nodeAccepts));
  return { accepted: wanted.filter((_, i) => ok[i]), refused: wanted.filter((_, i) => !ok[i]) };
}
