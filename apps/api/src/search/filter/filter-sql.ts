import { STORED_DATE_SQL } from '../metadata/metadata';
import { FilterNode, FilterValue } from './filter-parser';

/** Adds a value to the statement's parameters and returns its placeholder (`$4`). */
export type Param = (value: unknown) => string;

/**
 * A parsed filter as a SQL condition on a document's metadata (`column`, a jsonb expression): every key and
 * value is a parameter, never part of the text. Equality and IN are jsonb containment (`@>`), which the GIN
 * index on `search_documents.metadata` serves; a key holding a list matches when one entry equals the value.
 * Ranges compare numbers with numbers, dates with dates (stored as UTC ISO strings: text order is time
 * order) and strings with strings (byte order); a key of another type, or missing, does not match. Each
 * condition is true or false, never NULL, so NOT is the plain complement (`k != v` matches documents
 * without `k`).
 */
export function filterSql(node: FilterNode, column: string, param: Param): string {
  switch (node.type) {
    case 'and':
    case 'or':
      return `(${node.items.map((n) => filterSql(n, column, param)).join(node.type === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `(NOT ${filterSql(node.item, column, param)})`;
    case 'exists':
      return `(${column} ? ${param(node.key)}::text)`;
    case 'in':
      return `(${node.values.map((v) => equals(column, node.key, v, param)).join(' OR ')})`;
    case 'compare':
      if (node.op === '=') return equals(column, node.key, node.value, param);
      if (node.op === '!=') return `(NOT ${equals(column, node.key, node.value, param)})`;
      return range(column, node.key, node.op, node.value, param);
  }
}

function equals(column: string, key: string, value: FilterValue, param: Param): string {
  const one = `${column} @> ${param(JSON.stringify({ [key]: value.value }))}::jsonb`;
  if (value.kind !== 'string' && value.kind !== 'date') return one;
  // a list of strings holding it
  return `(${one} OR ${column} @> ${param(JSON.stringify({ [key]: [value.value] }))}::jsonb)`;
}

function range(column: string, key: string, op: string, value: FilterValue, param: Param): string {
  const k = param(key);
  const field = `${column} -> ${k}::text`;
  let left: string;
  let right: string;
  if (value.kind === 'number') {
    left = `CASE WHEN jsonb_typeof(${field}) = 'number' THEN (${field})::numeric END`;
    right = `${param(String(value.value))}::numeric`;
  } else if (value.kind === 'date') {
    left = `CASE WHEN jsonb_typeof(${field}) = 'string' AND (${column} ->> ${k}::text) ~ '${STORED_DATE_SQL}' THEN ${column} ->> ${k}::text END`;
    right = `${param(value.value)}::text COLLATE "C"`;
  } else {
    left = `CASE WHEN jsonb_typeof(${field}) = 'string' THEN ${column} ->> ${k}::text END`;
    right = `${param(value.value)}::text COLLATE "C"`;
  }
  return `coalesce(${left} ${op} ${right}, false)`;
}
