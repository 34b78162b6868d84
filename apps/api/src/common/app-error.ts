/**
 * Base of every domain error: a stable machine code, the HTTP status the global filter answers with,
 * and optional details that are safe to show a client. Features subclass it (BuildingNotFoundError…).
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Extra response headers (Retry-After, WWW-Authenticate…). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The error families of `errors_total{type}`: bounded, chosen from the code and status. */
export function errorFamily(status: number, code: string): string {
  if (
    code === 'VALIDATION_FAILED' ||
    code === 'MALFORMED_JSON' ||
    code.startsWith('INVALID_') ||
    code.startsWith('TENANT_REQUIRED') ||
    code === 'TENANT_INVALID'
  )
    return 'validation';
  if (status === 401 || status === 403) return code === 'URL_BLOCKED' ? 'blocked' : 'auth';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 413 || status === 415) return 'payload';
  if (status === 429) return 'rate_limit';
  if (status === 502) return 'upstream';
  if (status === 504) return 'timeout';
  if (status === 503) return 'unavailable';
  if (status >= 500) return 'internal';
  return 'client';
}
