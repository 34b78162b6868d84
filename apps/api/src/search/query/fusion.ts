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

/**
 * Hybrid mode's fusion (issue 22): the lexical ranking's first result stays first when it holds every term
 * of the query (`complete`: every group, as query/ranking.ts counts them), and reciprocal rank fusion
 * (equal weights, k = 60) orders everything else. A known-item search — an excerpt, the page's rare words, an
 * identifier, a typo or a prefix of what it says — names its page with every term, lexical ranking finds it
 * first (MRR@10 0.98–1.00 in the relevance benchmark), and a small embedding model is weakest exactly there;
 * plain RRF let the semantic list push that first hit down (0.63–0.78). A question whose words do not all
 * stand in one page (38 of the 70 benchmark questions) is fused as before. Chosen offline over weighted RRF,
 * a convex combination of normalised scores and tiers of every document holding all terms, on half of the
 * benchmark's queries and checked on the other half (test/search-relevance/fusion-tuning.ts, reported in
 * test/load/reports/search-relevance.md): the simplest rule that keeps every known-item style ≥ 0.95, with
 * no parameter of its own. Scores are RRF's (0–1); a kept first result scores 1.
 */
export function hybridFusion(
  lexical: Array<{ key: string; complete: boolean }>,
  semantic: string[],
): Array<{ key: string; score: number }> {
  const fused = reciprocalRankFusion([lexical.map((l) => l.key), semantic]);
  const first = lexical[0];
  if (!first?.complete) return fused;
  return [{ key: first.key, score: 1 }, ...fused.filter((f) => f.key !== first.key)];
}
