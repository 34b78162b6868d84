import { setTimeout as sleep } from 'node:timers/promises';
import { CacheEnvelope, createL1Keyv, L1Level } from './l1-store';

describe('L1Level.peek', () => {
  const env = (v: unknown): CacheEnvelope => ({ v, f: Date.now() + 60_000, s: Date.now() + 120_000 });

  it("reads what Keyv's get resolves to: an entry with and without a TTL, an absent key", async () => {
    const keyv = createL1Keyv(100);
    const l1 = new L1Level(keyv, 100);
    const withTtl = env({ id: 1 });
    const withoutTtl = env(null);
    await keyv.set('ns:t:a', withTtl, 60_000);
    await keyv.set('ns:t:b', withoutTtl);
    for (const key of ['ns:t:a', 'ns:t:b', 'ns:t:absent'])
      expect(l1.peek(key)?.env).toEqual(await keyv.get(key));
    expect(l1.peek('ns:t:a')?.env).toBe(withTtl);
    expect(l1.peek('ns:t:absent')).toEqual({ env: undefined });
  });

  it('gives nothing for an entry past its TTL, as Keyv does', async () => {
    const keyv = createL1Keyv(100);
    const l1 = new L1Level(keyv, 100);
    await keyv.set('ns:t:a', env(1), 5);
    await sleep(30);
    expect(l1.peek('ns:t:a')?.env).toBeUndefined();
    expect(await keyv.get('ns:t:a')).toBeUndefined();
  });

  it("answers undefined (ask Keyv) for a record that is not Keyv's {value, expires}", () => {
    const keyv = createL1Keyv(100);
    const l1 = new L1Level(keyv, 100);
    l1.memory.set('ns:t:serialized', '{"value":1}');
    expect(l1.peek('ns:t:serialized')).toBeUndefined();
  });
});
