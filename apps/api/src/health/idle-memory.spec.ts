import { testConfig } from '@app/config';
import { collectGarbageReducingMemory, IdleMemoryReducer } from './idle-memory';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Keeps the event loop busy (synchronously) for `ms`. */
function spin(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

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
  function reducer(interval = '10000'): { sut: IdleMemoryReducer; collect: jest.Mock } {
    const sut = new IdleMemoryReducer(testConfig({ MEMORY_IDLE_GC_INTERVAL_MS: interval }));
    const collect = jest.fn(() => true);
    sut.collect = collect;
    return { sut, collect };
  }

  it('collects once when the loop was idle, then only after RSS grew by 16 MB', async () => {
    const { sut, collect } = reducer();
    sut.onApplicationBootstrap();
    try {
      await sleep(300);
      expect(sut.check()).toBe('collected');
      await sleep(300);
      expect(sut.check()).toBe('unchanged');
      const grown = Array.from({ length: 48 }, () => Buffer.alloc(1024 * 1024, 1)); // touched: RSS
      spin(100);
      expect(sut.check()).toBe('busy'); // allocating was work
      await sleep(300);
      expect(sut.check()).toBe('collected');
      expect(grown).toHaveLength(48);
      expect(collect).toHaveBeenCalledTimes(2);
    } finally {
      sut.onApplicationShutdown();
    }
  });

  it('does nothing while the loop is busy (traffic keeps its young generation)', async () => {
    const { sut, collect } = reducer();
    sut.onApplicationBootstrap();
    try {
      await sleep(50);
      spin(300);
      expect(sut.check()).toBe('busy');
      expect(collect).not.toHaveBeenCalled();
    } finally {
      sut.onApplicationShutdown();
    }
  });

  it('checks on its own schedule after start-up, and not at all with MEMORY_IDLE_GC_INTERVAL_MS=0', async () => {
    const on = reducer('1000');
    const off = reducer('0');
    on.sut.onApplicationBootstrap();
    off.sut.onApplicationBootstrap();
    try {
      // the first check comes after min(3 s, the interval): 1 s here; 5× that as the bound
      for (let i = 0; i < 50 && !on.collect.mock.calls.length; i++) await sleep(100);
      expect(on.collect).toHaveBeenCalledTimes(1);
      expect(off.collect).not.toHaveBeenCalled();
    } finally {
      on.sut.onApplicationShutdown();
      off.sut.onApplicationShutdown();
    }
  });

  it('stops checking where the runtime offers no collector', async () => {
    const { sut, collect } = reducer('1000');
    collect.mockReturnValue(false);
    sut.onApplicationBootstrap();
    try {
      for (let i = 0; i < 50 && !collect.mock.calls.length; i++) await sleep(100);
      expect(collect).toHaveBeenCalledTimes(1);
      await sleep(2500); // two more intervals
      expect(collect).toHaveBeenCalledTimes(1);
    } finally {
      sut.onApplicationShutdown();
    }
  });
});
