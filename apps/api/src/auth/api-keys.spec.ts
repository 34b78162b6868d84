import crypto from 'node:crypto';
import { ApiKeyStore, presentedKey } from './api-keys';

describe('ApiKeyStore', () => {
  const sut = new ApiKeyStore([
    { key: 'key-one-0123456789', tenant: 'demo' },
    { key: 'key-two-0123456789', tenant: '*' },
  ]);

  it('finds the tenant of a known key and a stable, non-secret fingerprint', () => {
    const found = sut.find('key-one-0123456789');
    expect(found?.tenant).toBe('demo');
    expect(found?.fingerprint).toMatch(/^key:[0-9a-f]{12}$/);
    expect(found?.fingerprint).not.toContain('key-one');
    expect(sut.find('key-two-0123456789')?.tenant).toBe('*');
  });

  it('rejects unknown keys, prefixes and extensions of known keys', () => {
    for (const k of ['', 'key-one', 'key-one-0123456789x', 'KEY-ONE-0123456789'])
      expect(sut.find(k)).toBeUndefined();
  });

  it('hashes a presented key once, whatever the number of configured keys', () => {
    const many = new ApiKeyStore(
      Array.from({ length: 500 }, (_, i) => ({
        key: `key-${String(i).padStart(4, '0')}-0123456789`,
        tenant: `t${i}`,
      })),
    );
    const hash = jest.spyOn(crypto, 'createHash');
    const compare = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      for (let round = 0; round < 3; round++) {
        expect(many.find('key-0499-0123456789')?.tenant).toBe('t499');
        expect(many.find('key-0000-0123456789')?.tenant).toBe('t0');
        expect(many.find('not-a-key-0123456789')).toBeUndefined();
      }
      // three distinct presented keys, each hashed on first sight only — never once per configured key
      expect(hash).toHaveBeenCalledTimes(3);
      // one constant-time comparison per lookup that found a candidate, not one per configured key
      expect(compare).toHaveBeenCalledTimes(6);
    } finally {
      hash.mockRestore();
      compare.mockRestore();
    }
  });

  it('keeps the memo of digests bounded and still answers for keys that fell out of it', () => {
    const small = new ApiKeyStore([{ key: 'key-one-0123456789', tenant: 'demo' }], 8);
    expect(small.find('key-one-0123456789')?.tenant).toBe('demo');
    for (let i = 0; i < 100; i++) expect(small.find(`random-${i}-0123456789`)).toBeUndefined();
    expect(small.memoEntries).toBe(8);
    expect(small.find('key-one-0123456789')?.tenant).toBe('demo');
  });

  it('reads Bearer or X-API-Key', () => {
    expect(presentedKey({ authorization: 'Bearer abc' })).toBe('abc');
    expect(presentedKey({ authorization: 'bearer   abc ' })).toBe('abc');
    expect(presentedKey({ 'x-api-key': 'def' })).toBe('def');
    expect(presentedKey({ 'x-api-key': ' def ' })).toBe('def');
    expect(presentedKey({ 'x-api-key': '   ' })).toBeUndefined();
    expect(presentedKey({ authorization: 'Basic abc' })).toBeUndefined();
    expect(presentedKey({})).toBeUndefined();
  });
});
