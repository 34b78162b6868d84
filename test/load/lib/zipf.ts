import { seededRandom } from '../../support/seeded-random';

/**
 * Zipf-distributed ranks over 0..n-1: rank k is drawn with probability ∝ 1/(k+1)^s. The cumulative
 * table is built once (n = 10,000 → 80 KB); each draw is a binary search. Ranks are mapped through a
 * seeded permutation so the hot keys are spread over the key space, not bld-00000..bld-00009.
 */
export class ZipfSampler {
  private readonly cdf: Float64Array;
  private readonly permutation: Uint32Array;
  private readonly random: () => number;

  constructor(
    readonly n: number,
    readonly s = 1,
    seed = 42,
  ) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      sum += 1 / Math.pow(k + 1, s);
      this.cdf[k] = sum;
    }
    for (let k = 0; k < n; k++) this.cdf[k] /= sum;
    this.random = seededRandom(seed);
    this.permutation = new Uint32Array(n);
    for (let k = 0; k < n; k++) this.permutation[k] = k;
    const shuffle = seededRandom(seed ^ 0x5bd1e995);
    for (let k = n - 1; k > 0; k--) {
      const j = Math.floor(shuffle() * (k + 1));
      [this.permutation[k], this.permutation[j]] = [this.permutation[j], this.permutation[k]];
    }
  }

  /** Probability mass of the `top` most popular keys (what an ideal cache of that size would hit). */
  headMass(top: number): number {
    return top <= 0 ? 0 : this.cdf[Math.min(top, this.n) - 1];
  }

  /** The next key index. */
  next(): number {
    return this.permutation[this.nextRank()];
  }

  /** The next draw's popularity rank itself (0 = the most popular), without the permutation. */
  nextRank(): number {
    const u = this.random();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
