/** The k of reciprocal rank fusion (Cormack et al. 2009; what Elasticsearch, OpenSearch and Azure AI Search use). */
export const RRF_K = 60;

/**
 * Reciprocal rank fusion: each key scores Σ 1 / (k + rank) over the rankings holding it (rank 1-based), the
 * score divided by what a key first in every ranking would get (so 0–1). Ties keep the order of the best
 * rank any ranking gave, then the first ranking's order.
 */
export function reciprocalRankFusion(rankings: string[][], k = RRF_K): Array<{ key: string; score: number }> {
  const scores = new Map<string, { score: number; best: number; first: number }>();
  let seen = 0;
  for (const ranking of rankings)
    ranking.forEach((key, i) => {
      const entry = scores.get(key) ?? { score: 0, best: Infinity, first: seen++ };
      entry.score += 1 / (k + i + 1);
      entry.best = Math.min(entry.best, i);
      scores.set(key, entry);
    });
  const max = rankings.length / (k + 1);
  return [...scores.entries()]
    .sort(([, a], [, b]) => b.score - a.score || a.best - b.best || a.first - b.first)
    .map(([key, e]) => ({ key, score: e.score / max }));
}
