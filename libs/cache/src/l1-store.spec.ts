import { setTimeout as sleep } from 'node:timers/promises';
import { CacheEnvelope, createL1Keyv, entryBytes, L1_MAX_ENTRY_SHARE, L1Level } from './l1-store';

const KiB = 1024;
const env = (v: unknown): CacheEnvelope => ({ v, f: Date.now() + 60_000, s: Date.now() + 120_000 });
const level = (maxEntries: number, maxBytes: number): L1Level => {
  const { keyv, map } = createL1Keyv({ maxEntries, maxBytes });
  return new L1Level(keyv, map);
};

describe('L1Level', () => {
  it('reads back through Keyv what was written through it, with and without a TTL', async () => {
    const sut = level(100, 1024 * KiB);
    const value = env({ id: 1 });
    await sut.set('ns:t:a', value);
    const negative = env(null);
    await sut.keyv.set('ns:t:b', negative);
    expect(await sut.get('ns:t:a')).toBe(value); // no copy: entries are never mutated
    expect(await sut.get('ns:t:b')).toBe(negative);
    expect(await sut.get('ns:t:absent')).toBeUndefined();
    expect([sut.has('ns:t:a'), sut.size]).toEqual([true, 2]);
  });

  it('drops an entry at its stale deadline (the TTL Keyv passes to the store)', async () => {
    const sut = level(100, 1024 * KiB);
    await sut.set('ns:t:a', { v: 1, f: Date.now() + 5, s: Date.now() + 5 });
    await sleep(30);
    expect(sut.has('ns:t:a')).toBe(false);
    expect(await sut.get('ns:t:a')).toBeUndefined();
  });

  it('is bounded in bytes: large entries push older ones out long before the entry bound', async () => {
    const maxBytes = 1024 * KiB;
    const sut = level(10_000, maxBytes);
    const body = 'x'.repeat(100 * KiB); // a download-sized entry, scaled down
    const entry = env({ body });
    for (let i = 0; i < 50; i++) await sut.set(`ns:t:${i}`, entry);
    expect(sut.bytes).toBeLessThanOrEqual(maxBytes);
    expect(sut.size).toBeLessThan(11); // 1 MiB / ~100 KiB
    expect(sut.evictions).toBe(50 - sut.size);
    expect(await sut.get('ns:t:49')).toBe(entry); // the newest stay
    expect(sut.has('ns:t:0')).toBe(false); // the oldest went first
  });

  it(`keeps an entry larger than 1/${L1_MAX_ENTRY_SHARE} of the budget out (L2 and the source still serve it)`, async () => {
    const maxBytes = 1024 * KiB;
    const sut = level(100, maxBytes);
    await sut.set('ns:t:small', env('small'));
    await sut.set('ns:t:big', env('x'.repeat(maxBytes / L1_MAX_ENTRY_SHARE)));
    expect([sut.has('ns:t:big'), sut.has('ns:t:small')]).toEqual([false, true]);
    // an older value of the key is not left behind when the new one is too large
    await sut.set('ns:t:small', env('x'.repeat(maxBytes)));
    expect(sut.has('ns:t:small')).toBe(false);
  });

  it('is bounded in entries as before, counting evictions as lru-cache reports them', async () => {
    const sut = level(10, 1024 * KiB);
    for (let i = 0; i < 25; i++) await sut.set(`ns:t:${i}`, env(i));
    expect([sut.size, sut.evictions]).toEqual([10, 15]);
    expect(sut.delete(['ns:t:24', 'ns:t:0'])).toBe(1);
    expect(sut.evictions).toBe(15); // a delete is not an eviction
  });

  it('counts entries per key type', async () => {
    const sut = level(100, 1024 * KiB);
    sut.registerNamespace('a', 'building');
    sut.registerNamespace('b', 'search');
    await sut.set('a:t:1', env(1));
    await sut.set('a:t:2', env(2));
    expect(sut.sizeByKeyType()).toEqual({ building: 2, search: 0 });
  });
});

describe('entryBytes', () => {
  it('is the UTF-8 length of the JSON, and the whole budget for what JSON cannot hold', () => {
    expect(entryBytes({ a: 'é' }, 99)).toBe(Buffer.byteLength('{"a":"é"}'));
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(entryBytes(cycle, 99)).toBe(99);
    expect(entryBytes(undefined, 99)).toBe(1);
  });
});
