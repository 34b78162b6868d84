import { inTurn } from './in-turn';

describe('inTurn', () => {
  const deferred = () => {
    let resolve!: (v: number) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<number>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };

  it('runs at most `max` calls at once, the rest in the order they came, each finish handing its turn on', async () => {
    const calls = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    let active = 0;
    let peak = 0;
    const limited = inTurn(2, async (i: number) => {
      started.push(i);
      peak = Math.max(peak, ++active);
      try {
        return await calls[i].promise;
      } finally {
        active--;
      }
    });
    const results = [0, 1, 2, 3, 4].map((i) => limited(i));
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    calls[1].resolve(1);
    await results[1];
    // a call made now waits behind the ones already waiting (no slipping past them)
    const late = limited(4);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    calls[0].reject(new Error('failed'));
    await expect(results[0]).rejects.toThrow('failed'); // a failure hands its turn on too
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2, 3]);
    for (const i of [2, 3, 4]) calls[i].resolve(i);
    await expect(Promise.all([results[2], results[3], results[4], late])).resolves.toEqual([2, 3, 4, 4]);
    expect(peak).toBe(2);
  });
});
