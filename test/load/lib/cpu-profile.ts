import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Only samples in [end - startBeforeEndUs, end - endBeforeEndUs] count: the load, not startup or shutdown. */
export interface ProfileWindow {
  startBeforeEndUs: number;
  endBeforeEndUs: number;
}

export interface FrameCost {
  frame: string;
  where: string;
  selfMs: number;
  selfPct: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of busy (non-idle) time. */
  busyMs: number;
  topFrames: FrameCost[];
  /** Self time grouped by where the code lives: an npm package, node internals, Atrium's own code, GC. */
  byOwner: Array<{ owner: string; selfMs: number; selfPct: number }>;
}

/** Who owns a frame: `pkg:fastify`, `atrium:apps/api/src/http-pipeline.js`, `node`, `(gc)`… */
export function ownerOf(url: string, functionName: string, root: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return `pkg:${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const path = url.replace(/^file:\/\//, '');
  const rel = relative(root, path).replace(/^test\/load\/\.tmp\/dist\//, '');
  const parts = rel.split('/');
  // group Atrium's own code per folder (apps/api/src/metrics, libs/cache/src, …)
  return `atrium:${parts.slice(0, Math.min(parts.length - 1, 4)).join('/') || rel}`;
}

/**
 * Self time per frame from a V8 .cpuprofile (sample deltas attributed to the sampled leaf node),
 * aggregated by function + location, and by owner. Idle time is left out of the percentages.
 */
export function summariseCpuProfile(
  file: string,
  root: string,
  opts: { top?: number; window?: ProfileWindow } = {},
): ProfileSummary {
  const top = opts.top ?? 25;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const from = opts.window ? profile.endTime - opts.window.startBeforeEndUs : -Infinity;
  const to = opts.window ? profile.endTime - opts.window.endBeforeEndUs : Infinity;
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const frames = new Map<string, { frame: string; where: string; us: number }>();
  const owners = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const path = url ? relative(root, url.replace(/^file:\/\//, '')) : '';
    const where = path ? `${path.replace(/^.*node_modules\//, '')}:${lineNumber + 1}` : '';
    const key = `${functionName}@${where}`;
    const entry = frames.get(key) ?? { frame: functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    frames.set(key, entry);
    const owner = ownerOf(url, functionName, root);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
  }
  const busy = total - idle;
  const pct = (us: number): number => Math.round((us / Math.max(1, busy)) * 1000) / 10;
  return {
    totalMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    topFrames: [...frames.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ frame: f.frame, where: f.where, selfMs: Math.round(f.us / 1000), selfPct: pct(f.us) })),
    byOwner: [...owners.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([owner, us]) => ({ owner, selfMs: Math.round(us / 1000), selfPct: pct(us) })),
  };
}
