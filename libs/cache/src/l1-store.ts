import { Keyv } from 'keyv';
import { LRUCache } from 'lru-cache';

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

export interface L1Bounds {
  /** Entries, all namespaces together (CACHE_L1_MAX_ENTRIES). */
  maxEntries: number;
  /** Bytes of entries, all namespaces together (CACHE_L1_MAX_BYTES), as measured by `entryBytes`. */
  maxBytes: number;
}

/** The share of `maxBytes` one entry may take; a larger one is not kept in L1 (L2 and the source still serve it). */
export const L1_MAX_ENTRY_SHARE = 8;

/**
 * The size an L1 entry is counted at: the UTF-8 length of its JSON (what it costs in Redis too), at least
 * 1. Opaque: it measures what Keyv hands the store, whatever its shape. Strings in V8 take one or two
 * bytes per character and objects some overhead, so this is an estimate, not a heap measurement; a
 * value JSON cannot represent (a cycle, a BigInt) counts as the whole entry budget, and is so kept out.
 */
export function entryBytes(value: unknown, tooLarge: number): number {
  try {
    const json = JSON.stringify(value);
    return json === undefined ? 1 : Math.max(1, Buffer.byteLength(json));
  } catch {
    return tooLarge;
  }
}

/**
 * The Map-like store under L1's Keyv (Keyv accepts any store with get/set/delete/clear): lru-cache with its
 * documented bounds — `max` entries, `maxSize` bytes through `sizeCalculation`, `maxEntrySize` — the TTL
 * Keyv passes on each set, and a count of evictions from its `dispose` reason.
 */
export class L1Map {
  evictions = 0;
  readonly lru: LRUCache<string, object>;
  /** Told of every get and set with its duration in seconds (cache_operations_total / _duration_seconds). */
  onOperation?: (operation: 'get' | 'set', seconds: number) => void;

  constructor(readonly bounds: L1Bounds) {
    const maxEntrySize = Math.max(1, Math.floor(bounds.maxBytes / L1_MAX_ENTRY_SHARE));
    this.lru = new LRUCache<string, object>({
      max: bounds.maxEntries,
      maxSize: bounds.maxBytes,
      maxEntrySize,
      sizeCalculation: (value) => entryBytes(value, maxEntrySize + 1),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
  }

  get(key: string): object | undefined {
    if (!this.onOperation) return this.lru.get(key);
    const started = process.hrtime.bigint();
    const value = this.lru.get(key);
    this.onOperation('get', Number(process.hrtime.bigint() - started) / 1e9);
    return value;
  }

  /** Keyv's store contract: `ttl` in ms, or none (kept until evicted or deleted). */
  set(key: string, value: object, ttl?: number): boolean {
    const started = process.hrtime.bigint();
    // an entry over maxEntrySize is not stored; an older value of its key is dropped (lru-cache does so)
    this.lru.set(key, value, typeof ttl === 'number' && ttl > 0 ? { ttl } : undefined);
    this.onOperation?.('set', Number(process.hrtime.bigint() - started) / 1e9);
    return true;
  }

  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  has(key: string): boolean {
    return this.lru.has(key);
  }
}

/** The Keyv store of L1: lru-cache bounded in entries and bytes for all namespaces together. */
export function createL1Keyv(bounds: L1Bounds): { keyv: Keyv<CacheEnvelope>; map: L1Map } {
  const map = new L1Map(bounds);
  // no serializer (values stay objects in process), no key prefix (keys are namespace:tenant:key already)
  const keyv = new Keyv<CacheEnvelope>({
    store: map,
    namespace: undefined,
    useKeyPrefix: false,
    serialize: undefined,
    deserialize: undefined,
  });
  return { keyv, map };
}

/**
 * L1 beside the cache manager: reads and writes go through the cache manager, whose first store is the Keyv
 * over L1Map; the LRU underneath answers the synchronous questions (has, size, entries per key type), counts
 * evictions, and drops keys synchronously when another replica invalidates them. Entries expire with their
 * stale deadline, so L1 never returns an envelope past it.
 */
export class L1Level {
  /** key prefix (namespace) → metrics key type, filled as namespaces are created */
  private readonly keyTypes = new Map<string, string>();

  constructor(
    readonly keyv: Keyv<CacheEnvelope>,
    readonly map: L1Map,
  ) {}

  get maxEntries(): number {
    return this.map.bounds.maxEntries;
  }

  get maxBytes(): number {
    return this.map.bounds.maxBytes;
  }

  /** Bytes held now, as counted against `maxBytes`. */
  get bytes(): number {
    return this.map.lru.calculatedSize;
  }

  get evictions(): number {
    return this.map.evictions;
  }

  /** Names the key type (metrics label) of a namespace's keys. */
  registerNamespace(namespace: string, keyType: string): void {
    this.keyTypes.set(namespace, keyType);
  }

  get(key: string): Promise<CacheEnvelope | undefined> {
    return this.keyv.get(key);
  }

  async set(key: string, env: CacheEnvelope, now = Date.now()): Promise<void> {
    const ttl = env.s - now;
    if (ttl > 0) await this.keyv.set(key, env, ttl);
  }

  /** Removes keys; returns how many were present. */
  delete(keys: string[]): number {
    let n = 0;
    for (const key of keys) if (this.map.delete(key)) n++;
    return n;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  get size(): number {
    return this.map.lru.size;
  }

  /** Entries per key type (the cache_size gauge); counted when asked, O(entries). */
  sizeByKeyType(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const keyType of this.keyTypes.values()) out[keyType] = 0;
    for (const key of this.map.lru.keys()) {
      const keyType = this.keyTypes.get(key.slice(0, key.indexOf(':')));
      if (keyType) out[keyType]++;
    }
    return out;
  }

  clear(): void {
    this.map.clear();
  }
}
