/**
 * What both levels store for a key: the value (null = a cached "not found"), when it stops being
 * fresh and when it must be dropped (end of the stale window). Absolute epoch milliseconds, so an
 * entry read from L2 keeps the deadlines the writer gave it.
 */
export interface CacheEnvelope<T = unknown> {
  v: T | null;
  /** fresh until (ms since epoch) */
  f: number;
  /** kept (servable as stale) until (ms since epoch); >= f */
  s: number;
  /** 1 when this is a negative (not found) entry */
  n?: 1;
}

interface Slot {
  env: CacheEnvelope;
  keyType: string;
}

/**
 * L1: a bounded in-process LRU of envelopes, shared by every namespace of the process. Map keeps
 * insertion order, so re-inserting on read makes the first key the least recently used.
 * (`cacheable`'s CacheableMemory is not installed; this is the 80 lines we need of it.)
 */
export class LruStore {
  private readonly map = new Map<string, Slot>();
  private readonly sizes = new Map<string, number>();
  evictions = 0;

  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.map.size;
  }

  /** The envelope when it is still within its stale window; expired entries are dropped on read. */
  get(key: string, now = Date.now()): CacheEnvelope | undefined {
    const slot = this.map.get(key);
    if (!slot) return undefined;
    if (slot.env.s <= now) {
      this.remove(key, slot);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, slot);
    return slot.env;
  }

  set(key: string, keyType: string, env: CacheEnvelope): void {
    const existing = this.map.get(key);
    if (existing) this.remove(key, existing);
    this.map.set(key, { env, keyType });
    this.sizes.set(keyType, (this.sizes.get(keyType) ?? 0) + 1);
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value as string;
      this.remove(oldest, this.map.get(oldest)!);
      this.evictions++;
    }
  }

  delete(key: string): boolean {
    const slot = this.map.get(key);
    if (!slot) return false;
    this.remove(key, slot);
    return true;
  }

  /** Removes every key starting with `prefix` (a tenant of a namespace); O(n), used rarely. */
  deleteByPrefix(prefix: string): number {
    let n = 0;
    for (const [key, slot] of this.map) {
      if (key.startsWith(prefix)) {
        this.remove(key, slot);
        n++;
      }
    }
    return n;
  }

  has(key: string, now = Date.now()): boolean {
    return this.get(key, now) !== undefined;
  }

  /** Entries per key type (the cache_size gauge). */
  sizeByKeyType(): Record<string, number> {
    return Object.fromEntries(this.sizes);
  }

  clear(): void {
    this.map.clear();
    this.sizes.clear();
  }

  private remove(key: string, slot: Slot): void {
    this.map.delete(key);
    this.sizes.set(slot.keyType, (this.sizes.get(slot.keyType) ?? 1) - 1);
  }
}
