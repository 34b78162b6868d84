import { percentile as nearestRank, r2 } from '../load/lib/latency';
import { RelevanceQuery, score, Style, STYLES } from './queries';

/** One search as the evaluation sees it: the filenames of the top 10, in order, and how long it took. */
export interface SearchOutcome {
  filenames: string[];
  /** Client-observed milliseconds. */
  ms: number;
  /** What the response said about itself. */
  tookMs: number;
  cache: string | null;
}

export interface QueryResult extends RelevanceQuery {
  /** 1-based rank of the target in the top 10, 0 when absent. */
  rank: number;
  top: string[];
  ms: number;
  tookMs: number;
}

export interface StyleScore {
  style: Style;
  queries: number;
  mrr: number;
  recall: number;
}

/** Runs every query once, in order (one in flight: latency without self-inflicted queueing). */
export async function runQueries(
  queries: RelevanceQuery[],
  search: (q: string) => Promise<SearchOutcome>,
  expectCache?: string,
): Promise<QueryResult[]> {
  const out: QueryResult[] = [];
  for (const q of queries) {
    const r = await search(q.query);
    if (expectCache && r.cache !== expectCache)
      throw new Error(`search ${JSON.stringify(q.query)}: X-Cache ${r.cache}, expected ${expectCache}`);
    out.push({
      ...q,
      rank: r.filenames.indexOf(q.target) + 1,
      top: r.filenames.slice(0, 3),
      ms: r.ms,
      tookMs: r.tookMs,
    });
  }
  return out;
}

export function scoreByStyle(results: QueryResult[]): StyleScore[] {
  return STYLES.map((style) => {
    const ranks = results.filter((r) => r.style === style).map((r) => r.rank);
    return { style, queries: ranks.length, ...score(ranks) };
  }).filter((s) => s.queries > 0);
}

/** The nearest-rank percentile `p` of `values` (any order), rounded to 0.01. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return r2(nearestRank(sorted, p));
}

/** A hand-written question (questions.ts) scored by the best-ranked of its target pages. */
export interface QuestionResult {
  id: string;
  question: string;
  targets: string[];
  /** 1-based rank of the best-ranked target in the top 10, 0 when none is there. */
  rank: number;
  top: string[];
  ms: number;
  tookMs: number;
}

/** Runs every question once, in order, one in flight. */
export async function runQuestions(
  questions: ReadonlyArray<{ id: string; question: string; targets: string[] }>,
  search: (q: string) => Promise<SearchOutcome>,
  expectCache?: string,
): Promise<QuestionResult[]> {
  const out: QuestionResult[] = [];
  for (const q of questions) {
    const r = await search(q.question);
    if (expectCache && r.cache !== expectCache)
      throw new Error(`search ${JSON.stringify(q.question)}: X-Cache ${r.cache}, expected ${expectCache}`);
    const ranks = q.targets.map((t) => r.filenames.indexOf(t) + 1).filter((n) => n > 0);
    out.push({
      id: q.id,
      question: q.question,
      targets: q.targets,
      rank: ranks.length ? Math.min(...ranks) : 0,
      top: r.filenames.slice(0, 3),
      ms: r.ms,
      tookMs: r.tookMs,
    });
  }
  return out;
}
