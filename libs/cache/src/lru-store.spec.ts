import { LruStore } from './lru-store';

const env = (f: number, s = f) => ({ v: 'x', f, s });

describe('LruStore', () => {
  it('evicts the least recently used entry beyond maxEntries', () => {
    const sut = new LruStore(2);
    sut.set('a', 't', env(1e15));
    sut.set('b', 't', env(1e15));
    sut.get('a'); // a is now the most recent
    sut.set('c', 't', env(1e15));
    expect(sut.has('a')).toBe(true);
    expect(sut.has('b')).toBe(false);
    expect(sut.has('c')).toBe(true);
    expect(sut.evictions).toBe(1);
    expect(sut.sizeByKeyType()).toEqual({ t: 2 });
  });

  it('drops entries whose stale window has ended, keeps them while stale', () => {
    const sut = new LruStore(10);
    sut.set('a', 't', env(100, 200));
    expect(sut.get('a', 150)).toBeDefined();
    expect(sut.get('a', 200)).toBeUndefined();
    expect(sut.size).toBe(0);
    expect(sut.sizeByKeyType()).toEqual({ t: 0 });
  });

  it('deletes by prefix and counts sizes per key type', () => {
    const sut = new LruStore(10);
    sut.set('ns:t1:a', 'building', env(1e15));
    sut.set('ns:t1:b', 'building', env(1e15));
    sut.set('ns:t2:a', 'building', env(1e15));
    sut.set('other:t1:a', 'search', env(1e15));
    expect(sut.deleteByPrefix('ns:t1:')).toBe(2);
    expect(sut.sizeByKeyType()).toEqual({ building: 1, search: 1 });
  });
});
