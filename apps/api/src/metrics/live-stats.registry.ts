import { Injectable } from '@nestjs/common';

export interface ConcurrencyPoolStats {
  limit: number;
  active: number;
  queued?: number;
}

/**
 * Where feature modules publish what /metrics/live shows: concurrency pools
 * (download, pdf, batch) and named sections (extraction). Kept as callbacks so the snapshot is
 * read at request time, never copied on a hot path.
 */
@Injectable()
export class LiveStatsRegistry {
  private readonly pools = new Map<string, () => ConcurrencyPoolStats>();
  private readonly sections = new Map<string, () => unknown>();

  registerPool(name: string, read: () => ConcurrencyPoolStats): void {
    this.pools.set(name, read);
  }

  registerSection(name: string, read: () => unknown): void {
    this.sections.set(name, read);
  }

  poolSnapshot(): Record<string, ConcurrencyPoolStats & { utilisation: number }> {
    const out: Record<string, ConcurrencyPoolStats & { utilisation: number }> = {};
    for (const [name, read] of this.pools) {
      const s = read();
      out[name] = { ...s, utilisation: s.limit > 0 ? Math.round((s.active / s.limit) * 1000) / 1000 : 0 };
    }
    return out;
  }

  section(name: string): unknown {
    return this.sections.get(name)?.();
  }
}
