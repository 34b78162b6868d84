import type { Queryable } from '@libs/database';
import { STORED_DATE_SQL } from '../metadata/metadata';

/** Values counted per facet key (the most frequent first). */
export const FACET_MAX_VALUES = 20;
/** Facet keys one search may ask for. */
export const MAX_FACETS = 10;

export interface SortSpec {
  key: string;
  direction: 'asc' | 'desc';
}

/**
 * Per facet key, how many of the given documents hold each value (a list counts once per distinct entry),
 * the FACET_MAX_VALUES most frequent (ties by value), in one statement over the whole match set. Values are
 * given as text (`true`, `3`, a date's ISO string). The match set is joined (`unnest`, hashed once) rather than
 * tested with `d.id = ANY(array)`, which the planner made a filter on a scan of every document of every store:
 * a third less time at 5,000 and 50,000 matching documents (test/load/reports/search-scale.md). The cost left
 * grows with the match set (its ids sent as one array, each document's metadata expanded): see that report.
 */
export async function facetCounts(
  db: Queryable,
  keys: string[],
  documentIds: string[],
): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = Object.fromEntries(keys.map((k) => [k, {}]));
  if (!keys.length || !documentIds.length) return out;
  const r = await db.query<{ key: string; value: string; n: number }>(
    `WITH v AS (
       SELECT DISTINCT f.key, d.id, e #>> '{}' AS value
       FROM unnest($2::uuid[]) AS m(id)
       JOIN search_documents d ON d.id = m.id
       CROSS JOIN unnest($1::text[]) AS f(key)
       CROSS JOIN LATERAL jsonb_array_elements(
         CASE WHEN jsonb_typeof(d.metadata -> f.key) = 'array' THEN d.metadata -> f.key
              ELSE jsonb_build_array(d.metadata -> f.key) END) AS e
       WHERE jsonb_typeof(e) NOT IN ('null', 'object', 'array')
     ),
     c AS (
       SELECT key, value, count(*)::int AS n,
         row_number() OVER (PARTITION BY key ORDER BY count(*) DESC, value COLLATE "C") AS r
       FROM v GROUP BY key, value
     )
     SELECT key, value, n FROM c WHERE r <= $3 ORDER BY key, n DESC, value COLLATE "C"`,
    [keys, documentIds, FACET_MAX_VALUES],
  );
  for (const row of r.rows) out[row.key][row.value] = Number(row.n);
  return out;
}

/**
 * The given documents (in relevance order) ordered by a metadata key: numbers by value, dates (stored as UTC
 * ISO strings) by time; documents without a number or date there come last; ties keep relevance order.
 */
export async function sortByMetadata(
  db: Queryable,
  documentIds: string[],
  sort: SortSpec,
): Promise<string[]> {
  if (documentIds.length < 2) return documentIds;
  const dir = sort.direction === 'desc' ? 'DESC' : 'ASC';
  const r = await db.query<{ id: string }>(
    `SELECT p.id FROM unnest($1::uuid[]) WITH ORDINALITY AS p(id, rank)
     JOIN search_documents d ON d.id = p.id
     ORDER BY
       CASE WHEN jsonb_typeof(d.metadata -> $2::text) = 'number' THEN (d.metadata -> $2::text)::numeric END ${dir} NULLS LAST,
       CASE WHEN jsonb_typeof(d.metadata -> $2::text) = 'string' AND (d.metadata ->> $2::text) ~ '${STORED_DATE_SQL}'
            THEN d.metadata ->> $2::text END COLLATE "C" ${dir} NULLS LAST,
       p.rank`,
    [documentIds, sort.key],
  );
  return r.rows.map((row) => row.id);
}
