import { testConfig } from '@app/config';
import { poll } from '../../../../test/support/wait';
import { collectGarbageReducingMemory, IdleMemoryReducer } from './idle-memory';

describe('collectGarbageReducingMemory', () => {
  it("runs V8's collector without --expose-gc on the command line and frees what nothing holds", () => {
    let garbage: number[][] | undefined = Array.from({ length: 200 }, () =>
      new Array<number>(50_000).fill(1.5),
    );
    const held = process.memoryUsage().heapUsed;
    expect(garbage.length).toBe(200);
    garbage = undefined;
    expect(collectGarbageReducingMemory()).toBe(true);
    // 200 × 50,000 doubles ≈ 80 MB were on the heap and are gone
    expect(held - process.memoryUsage().heapUsed).toBeGreaterThan(40 * 1024 * 1024);
    expect(garbage).toBeUndefined();
  });
});

describe('IdleMemoryReducer', () => {
  const MB = 1024 * 1024;
  function reducer(interval = '5000'): {
    sut: IdleMemoryReducer;
    collect: jest.Mock;
    memory: { rss: number };
  } {
    const sut = new IdleMemoryReducer(testConfig({ MEMORY_IDLE_GC_INTERVAL_MS: interval }));
    const collect = jest.fn(() => true);
    // the process's own RSS is whatever the allocator and Jest make it: the test says what it is
    const memory = { rss: 200 * MB };
    sut.collect = collect;
    sut.rss = () => memory.rss;
    return { sut, collect, memory };
  }
  const IDLE = 0.005;
  const BUSY = 0.3;

  it('collects after 3 idle seconds from start-up, then after each interval of idle seconds if RSS grew 16 MB', () => {
    const { sut, collect, memory } = reducer('5000');
    expect([IDLE, IDLE, IDLE].map((u) => sut.step(u))).toEqual(['idling', 'idling', 'collected']);
    // a whole interval idle, nothing grew
    expect([IDLE, IDLE, IDLE, IDLE, IDLE].map((u) => sut.step(u))).toEqual([
      'idling',
      'idling',
      'idling',
      'idling',
      'unchanged',
    ]);
    memory.rss += 15 * MB; // grown, but by less than 16 MB
    expect([IDLE, IDLE, IDLE, IDLE, IDLE].map((u) => sut.step(u)).at(-1)).toBe('unchanged');
    memory.rss += 2 * MB;
    expect([IDLE, IDLE, IDLE, IDLE, IDLE].map((u) => sut.step(u)).at(-1)).toBe('collected');
    expect(collect).toHaveBeenCalledTimes(2);
  });

  it('a busy second starts the idle count again: steady traffic never collects', () => {
    const { sut, collect } = reducer('5000');
    const steps = Array.from({ length: 60 }, (_, i) => sut.step(i % 3 === 2 ? BUSY : IDLE));
    expect(new Set(steps)).toEqual(new Set(['idling', 'busy']));
    expect(sut.step(IDLE)).toBe('idling');
    expect(sut.step(IDLE)).toBe('idling');
    expect(sut.step(IDLE)).toBe('collected'); // three idle seconds in a row
    expect(collect).toHaveBeenCalledTimes(1);
  });

  it('runs on its own once the app is up, and not at all with MEMORY_IDLE_GC_INTERVAL_MS=0', async () => {
    const on = reducer('1000');
    const off = reducer('0');
    on.sut.onApplicationBootstrap();
    off.sut.onApplicationBootstrap();
    try {
      // the first collection needs one idle second here; 10× that as the bound
      await poll(() => on.collect.mock.calls.length > 0, 10_000, 100);
      expect(on.collect).toHaveBeenCalledTimes(1);
      expect(off.collect).not.toHaveBeenCalled();
    } finally {
      on.sut.onApplicationShutdown();
      off.sut.onApplicationShutdown();
    }
  });

  it('stops where the runtime offers no collector', () => {
    const { sut, collect } = reducer('1000');
    collect.mockReturnValue(false);
    expect(sut.step(IDLE)).toBe('unavailable');
  });
});
