import { CacheableMemory, CacheableMemoryHooks, KeyvCacheableMemory } from '@cacheable/memory';
import { Keyv } from 'keyv';

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

/** The Keyv store of L1: @cacheable/memory's LRU, bounded to `maxEntries` for all namespaces together. */
export function createL1Keyv(maxEntries: number): Keyv<CacheEnvelope> {
  // useClone false: entries are never mutated, and structuredClone on every hit would cost more than the
  // lookup; one hash bucket: a Map per bucket is only worth it past millions of keys.
  const adapter = new KeyvCacheableMemory({ lruSize: maxEntries, useClone: false, storeHashSize: 1 });
  // no serializer (values stay objects in process), no key prefix (keys are namespace:tenant:key already)
  return new Keyv<CacheEnvelope>({
    store: adapter,
    namespace: undefined,
    useKeyPrefix: false,
    serialize: undefined,
    deserialize: undefined,
  });
}

/**
 * L1 as TieredCache sees it: reads and writes go through the cache manager's first store (a Keyv
 * over KeyvCacheableMemory); the LRU underneath answers the synchronous questions (has, size) and
 * counts evictions. Entries expire with their stale deadline, so L1 never returns an envelope past it.
 */
export class L1Level {
  readonly memory: CacheableMemory;
  evictions = 0;
  /** key prefix (namespace) → metrics key type, filled as namespaces are created */
  private readonly keyTypes = new Map<string, string>();

  constructor(
    readonly keyv: Keyv<CacheEnvelope>,
    readonly maxEntries: number,
  ) {
    this.memory = (keyv.store as KeyvCacheableMemory).store;
    // The LRU evicts by deleting inside set(): a delete between BEFORE_SET and AFTER_SET is an eviction.
    let setting = false;
    this.memory.onHook(CacheableMemoryHooks.BEFORE_SET, () => {
      setting = true;
    });
    this.memory.onHook(CacheableMemoryHooks.AFTER_SET, () => {
      setting = false;
    });
    this.memory.onHook(CacheableMemoryHooks.BEFORE_DELETE, () => {
      if (setting) this.evictions++;
    });
  }

  /** Names the key type (metrics label) of a namespace's keys. */
  registerNamespace(namespace: string, keyType: string): void {
    this.keyTypes.set(namespace, keyType);
  }

  get(key: string): Promise<CacheEnvelope | undefined> {
    return this.keyv.get(key);
  }

  /**
   * What `get` resolves to, read synchronously from the LRU under the Keyv store: Keyv keeps
   * `{value, expires}` there (no serializer), and its `get` is that value unless `expires` has passed —
   * after two async hops, its hooks and the LRU's hooks on each. `undefined` when the record is not of
   * that shape (another Keyv format: the caller then asks Keyv).
   */
  peek(key: string): { env: CacheEnvelope | undefined } | undefined {
    const record: unknown = this.memory.get(key);
    if (record === undefined) return { env: undefined };
    if (typeof record !== 'object' || record === null || !('value' in record)) return undefined;
    const { value, expires } = record as { value: CacheEnvelope; expires?: unknown };
    return { env: typeof expires === 'number' && Date.now() > expires ? undefined : value };
  }

  async set(key: string, env: CacheEnvelope, now = Date.now()): Promise<void> {
    const ttl = env.s - now;
    if (ttl > 0) await this.keyv.set(key, env, ttl);
  }

  /** Removes keys; returns how many were present. */
  delete(keys: string[]): number {
    let n = 0;
    for (const key of keys)
      if (this.memory.has(key)) {
        this.memory.delete(key);
        n++;
      }
    return n;
  }

  has(key: string): boolean {
    return this.memory.has(key);
  }

  get size(): number {
    return this.memory.size;
  }

  /** Entries per key type (the cache_size gauge); counted when asked, O(entries). */
  sizeByKeyType(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const keyType of this.keyTypes.values()) out[keyType] = 0;
    for (const key of this.memory.keys) {
      const keyType = this.keyTypes.get(key.slice(0, key.indexOf(':')));
      if (keyType) out[keyType]++;
    }
    return out;
  }

  clear(): void {
    this.memory.clear();
  }
}
