import { Injectable } from '@nestjs/common';
import { Database } from '@libs/database';
import { QueryPlan, unitOperands } from '../query/query-plan';

/** What the database found in one sentence: the query's units it holds, and their cover density. */
export interface SentenceMatch {
  units: number[];
  density: number;
}

@Injectable()
export class AnswerRepository {
  constructor(private readonly db: Database) {}

  /**
   * Which of the plan's units each sentence holds, in one statement: a sentence is indexed exactly as a
   * chunk is (`search_index_text`, English stemming), and matched against each unit's variants (its stems,
   * completions and corrections, phrases with their gaps), so a sentence holds a word when ranking would
   * say its chunk does. Sentences holding none are left out of the answer (undefined at their index).
   */
  async matchSentences(plan: QueryPlan, sentences: string[]): Promise<Array<SentenceMatch | undefined>> {
    const out: Array<SentenceMatch | undefined> = sentences.map(() => undefined);
    if (!plan.anyGroup || sentences.length === 0) return out;
    const r = await this.db.query<{ i: number; units: number[]; density: number }>(
      `SELECT s.i::int AS i,
         ARRAY(SELECT (q.u - 1)::int FROM unnest($2::tsquery[]) WITH ORDINALITY AS q(t, u)
               WHERE q.t IS NOT NULL AND s.tsv @@ q.t ORDER BY q.u) AS units,
         ts_rank_cd(s.tsv, $3::tsquery, 0)::float8 AS density
       FROM (SELECT t.i, to_tsvector('english'::regconfig, search_index_text(t.txt)) AS tsv
             FROM unnest($1::text[]) WITH ORDINALITY AS t(txt, i)) s
       WHERE s.tsv @@ $3::tsquery`,
      [sentences, unitOperands(plan), plan.anyGroup],
    );
    for (const row of r.rows)
      out[Number(row.i) - 1] = { units: row.units.map(Number), density: Number(row.density) };
    return out;
  }
}
