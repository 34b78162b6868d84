import { KIND_WEIGHT, type QueryPlan } from './query-plan';

// BM25's usual constants: term-frequency saturation and length normalisation.
const K1 = 1.2;
const B = 0.75;
/** Cover density (ts_rank_cd, no normalisation) of one tight cover of all terms is 0.1: bucket 4. */
const PROXIMITY_BUCKETS = 4;

/** What the matching statement read for a plan (see SearchRepository.match). */
export interface MatchRows {
  /** Documents in the store and their total length in tokens. */
  documents: number;
  totalTerms: number;
  /** One per (lexeme, document) holding it. */
  postings: Array<{ lexeme: string; documentId: string; tf: number; dl: number }>;
  /** Documents holding an excluded word or phrase. */
  excluded: string[];
  /** Per multi-lexeme variant (index into plan.variants): documents with the lexemes adjacent in a chunk. */
  phrases: Array<{ variant: number; documentId: string }>;
  /**
   * Documents with a chunk holding every group: the best cover density, and `seq` 2 when a chunk says
   * exactly what was typed (plan.verbatim), 1 when it holds the terms in the typed order (plan.sequence).
   */
  proximity: Array<{ documentId: string; cd: number; seq: number }>;
}

export interface RankedDocument {
  documentId: string;
  /** Indexes into plan.units of the terms the document holds. */
  units: number[];
  /** 0–1, descending down the list. */
  score: number;
  /** Holds every group of the query (a chunk: in itself) — what hybrid fusion keeps first (query/fusion.ts). */
  complete: boolean;
}

export interface Ranking {
  total: number;
  /** Some results hold fewer than all groups (too few documents held them all). */
  relaxed: boolean;
  /** Every matching document, best first. */
  documents: RankedDocument[];
}

interface Candidate {
  documentId: string;
  groups: Map<number, { score: number; weight: number }>;
  units: Set<number>;
  matched: number;
  untyped: number;
  exact: number;
  bm25: number;
  seq: number;
  proximity: number;
}

/**
 * Ranks the documents of a store for a query plan, as Meilisearch orders its buckets, with BM25 last:
 * 1. groups (terms) matched — every group first; when fewer than `pageSize` documents match them all,
 *    matching relaxes to the largest number of groups that fills the page (documents holding more groups
 *    first; BM25's idf then favours the rarer terms, so the least selective term is the first dropped);
 * 2. groups matched without a typo correction;
 * 3. a chunk saying exactly what was typed (stop words included), or holding the terms in the typed order;
 * 4. how close the terms stand in one chunk (cover density, 5 buckets);
 * 5. groups matched exactly rather than as a prefix completion;
 * 6. BM25 (k1 = 1.2, b = 0.75; tf summed over the document's chunks, idf over the store; each group scores
 *    its best variant, weighted 1 exact, 0.7 completion, 0.5 / typos correction); then the document id.
 * A document holding an excluded term is never returned. `score` packs the same order into 0–1.
 */
export function rankDocuments(plan: QueryPlan, rows: MatchRows, pageSize: number): Ranking {
  const n = plan.groupCount;
  const N = Math.max(1, rows.documents);
  const avgdl = Math.max(1, rows.totalTerms / N);
  const df = new Map<string, number>();
  for (const p of rows.postings) df.set(p.lexeme, (df.get(p.lexeme) ?? 0) + 1);
  const postings = new Map<string, Map<string, { tf: number; dl: number }>>();
  for (const p of rows.postings) {
    let byDoc = postings.get(p.lexeme);
    if (!byDoc) postings.set(p.lexeme, (byDoc = new Map<string, { tf: number; dl: number }>()));
    byDoc.set(p.documentId, { tf: p.tf, dl: p.dl });
  }
  const phraseDocs = new Map<number, Set<string>>();
  for (const p of rows.phrases) {
    let docs = phraseDocs.get(p.variant);
    if (!docs) phraseDocs.set(p.variant, (docs = new Set()));
    docs.add(p.documentId);
  }
  const excluded = new Set(rows.excluded);

  const candidates = new Map<string, Candidate>();
  // Required groups first, so an optional word only ever adds to documents that already match.
  const order = plan.variants
    .map((variant, v) => ({ variant, v }))
    .sort((a, b) => Number(!!a.variant.optional) - Number(!!b.variant.optional));
  for (const { variant, v } of order) {
    // Documents holding every lexeme of the variant, and the variant's BM25 part in each.
    const lists = variant.lexemes.map((l) => postings.get(l));
    if (lists.some((l) => !l)) continue;
    const [first, ...rest] = lists as Array<Map<string, { tf: number; dl: number }>>;
    for (const [documentId] of first) {
      if (excluded.has(documentId) || rest.some((l) => !l.has(documentId))) continue;
      if (variant.lexemes.length > 1 && !phraseDocs.get(v)?.has(documentId)) continue;
      let s = 0;
      variant.lexemes.forEach((lexeme, i) => {
        const { tf, dl } = (lists[i] as Map<string, { tf: number; dl: number }>).get(documentId) as {
          tf: number;
          dl: number;
        };
        const d = df.get(lexeme) ?? 1;
        const idf = Math.log(1 + (N - d + 0.5) / (d + 0.5));
        s += (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * dl) / avgdl));
      });
      const score = variant.weight * s;
      let c = candidates.get(documentId);
      if (!c) {
        if (variant.optional) continue; // an optional word alone does not make a match
        c = {
          documentId,
          groups: new Map(),
          units: new Set(),
          matched: 0,
          untyped: 0,
          exact: 0,
          bm25: 0,
          seq: 0,
          proximity: 0,
        };
        candidates.set(documentId, c);
      }
      c.units.add(variant.unit);
      if (variant.optional) {
        c.bm25 += score;
        continue;
      }
      const g = c.groups.get(variant.group);
      if (!g) c.groups.set(variant.group, { score, weight: variant.weight });
      else {
        g.score = Math.max(g.score, score);
        g.weight = Math.max(g.weight, variant.weight);
      }
    }
  }

  const byMatched = new Array<number>(n + 1).fill(0);
  for (const c of candidates.values()) {
    c.matched = c.groups.size;
    for (const g of c.groups.values()) {
      if (g.weight >= KIND_WEIGHT.prefix) c.untyped++;
      if (g.weight >= KIND_WEIGHT.exact) c.exact++;
      c.bm25 += g.score;
    }
    byMatched[c.matched]++;
  }
  for (const p of rows.proximity) {
    const c = candidates.get(p.documentId);
    if (!c) continue;
    c.seq = p.seq;
    c.proximity = Math.min(PROXIMITY_BUCKETS, Math.floor(p.cd * 10 * PROXIMITY_BUCKETS));
  }
  // Relaxation: the largest k such that the documents matching at least k groups fill the page.
  let k = 1;
  for (let m = n, cumulative = 0; m >= 1; m--) {
    cumulative += byMatched[m];
    if (cumulative >= pageSize) {
      k = m;
      break;
    }
  }

  const rank = (c: Candidate): number =>
    (((c.matched * (n + 1) + c.untyped) * 3 + c.seq) * (PROXIMITY_BUCKETS + 1) + c.proximity) * (n + 1) +
    c.exact +
    c.bm25 / (c.bm25 + 1);
  const maxRank =
    (((n * (n + 1) + n) * 3 + 2) * (PROXIMITY_BUCKETS + 1) + PROXIMITY_BUCKETS) * (n + 1) + n + 1;
  const ranked = [...candidates.values()]
    .filter((c) => c.matched >= k)
    .map((c) => ({ c, rank: rank(c) }))
    .sort((a, b) => b.rank - a.rank || (a.c.documentId < b.c.documentId ? -1 : 1));
  return {
    total: ranked.length,
    relaxed: ranked.some((r) => r.c.matched < n),
    documents: ranked.map((r) => ({
      documentId: r.c.documentId,
      units: [...r.c.units].sort((a, b) => a - b),
      score: r.rank / maxRank,
      complete: n > 0 && r.c.matched === n,
    })),
  };
}

/** A chunk of a ranked document (group=chunks): groups it holds and its own proximity signals. */
export interface ChunkRow {
  documentId: string;
  chunkIndex: number;
  units: number[];
  cd: number;
  seq: number;
}

export interface RankedChunk extends RankedDocument {
  chunkIndex: number;
}

/**
 * Ranks the chunks of the ranked documents (group=chunks): groups in the chunk, the typed words or
 * sequence in it, its cover density, then its document's rank; `score` packs that order into 0–1.
 */
export function rankChunks(plan: QueryPlan, documents: RankedDocument[], chunks: ChunkRow[]): RankedChunk[] {
  const n = plan.groupCount;
  const docScore = new Map(documents.map((d) => [d.documentId, d.score]));
  const groupOf = (u: number) => plan.variants.find((v) => v.unit === u)?.group;
  const maxRank = (n * 3 + 2) * (PROXIMITY_BUCKETS + 1) + PROXIMITY_BUCKETS + 1;
  return chunks
    .filter((c) => docScore.has(c.documentId))
    .map((c) => {
      const groups = new Set(c.units.map(groupOf)).size;
      // the optional word's group is numbered after the required ones (query-plan.ts)
      const required = new Set(c.units.map(groupOf).filter((g) => g !== undefined && g < n)).size;
      const proximity = Math.min(PROXIMITY_BUCKETS, Math.floor(c.cd * 10 * PROXIMITY_BUCKETS));
      const rank =
        (groups * 3 + c.seq) * (PROXIMITY_BUCKETS + 1) + proximity + (docScore.get(c.documentId) ?? 0);
      return {
        documentId: c.documentId,
        chunkIndex: c.chunkIndex,
        units: c.units,
        score: rank / maxRank,
        complete: n > 0 && required === n,
      };
    })
    .sort(
      (a, b) =>
        b.score - a.score ||
        (a.documentId < b.documentId ? -1 : a.documentId > b.documentId ? 1 : a.chunkIndex - b.chunkIndex),
    );
}
