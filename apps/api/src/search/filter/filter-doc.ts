import { FILTER_LIMITS } from './filter-parser';

export const FILTER_MAX_CHARS = FILTER_LIMITS.chars;

/** The filter language in one paragraph, for the OpenAPI document (docs/api.md has the full description). */
export const FILTER_DESCRIPTION =
  'Metadata filter: `key = value`, `!=`, `<`, `<=`, `>`, `>=`, `key IN (a, b)`, `key NOT IN (…)`, `key EXISTS`, ' +
  '`key NOT EXISTS`, `NOT`, `AND`, `OR`, parentheses. Values: numbers, true/false, ISO dates (2026-01-01), ' +
  'bare words or "quoted strings". Example: `type = pdf AND tags = policy AND uploadedAt >= 2026-01-01`. ' +
  `At most ${FILTER_LIMITS.chars} characters, ${FILTER_LIMITS.conditions} conditions, ${FILTER_LIMITS.depth} levels of nesting; ` +
  'otherwise 400 INVALID_FILTER with the position.';
