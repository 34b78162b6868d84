// mulberry32: a tiny seeded PRNG with a full 2^32 period, so generated corpora, queries and load
// sequences are the same on every run. One implementation for the tests and the benchmarks.

/** The next unsigned 32-bit integer of the sequence that `seed` starts. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

/** Integers in [0, n). */
export function seededInt(seed: number): (n: number) => number {
  const next = mulberry32(seed);
  return (n) => next() % n;
}
