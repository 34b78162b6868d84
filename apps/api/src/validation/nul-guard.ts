import type { FastifyInstance } from 'fastify';
import { ValidationFailedError } from './validation';

/** 400 VALIDATION_FAILED naming each field (path param, query parameter or JSON path) that holds a NUL. */
export class NulCharacterError extends ValidationFailedError {
  constructor(fields: string[]) {
    super(Object.fromEntries(fields.map((f) => [f, [`${f} must not contain NUL (\\u0000) characters`]])));
  }
}

/**
 * The dotted paths (`urls.0.url`, as validation errors name them) of every string value or key in
 * `value` that contains a NUL character. PostgreSQL text cannot hold one (`invalid byte sequence for
 * encoding "UTF8": 0x00`), and no field of the API has a use for it.
 */
export function nulFields(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return value.includes('\0') ? [prefix || '(body)'] : [];
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (key.includes('\0')) out.push(path);
    else out.push(...nulFields(child, path));
  }
  return out;
}

/**
 * Refuses a NUL in any path parameter or query parameter of any route, before guards and pipes run:
 * one global check instead of a rule on every DTO. A NUL can only arrive percent-encoded (the HTTP
 * parser refuses a raw one in the request line), so requests without `%00` in their URL pay one
 * substring search.
 */
export function installNulGuard(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (!request.url.includes('%00')) return done();
    const fields = [...nulFields(request.params), ...nulFields(request.query)];
    done(fields.length ? new NulCharacterError(fields) : undefined);
  });
}
