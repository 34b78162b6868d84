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

  it('reads Bearer or X-API-Key', () => {
    expect(presentedKey({ authorization: 'Bearer abc' })).toBe('abc');
    expect(presentedKey({ authorization: 'bearer   abc ' })).toBe('abc');
    expect(presentedKey({ 'x-api-key': 'def' })).toBe('def');
    expect(presentedKey({ authorization: 'Basic abc' })).toBeUndefined();
    expect(presentedKey({})).toBeUndefined();
  });
});
