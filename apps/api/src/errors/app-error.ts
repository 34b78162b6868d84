/**
 * Whose fault an error answer is — the `fault` label of errors_total (docs/observability.md, "Whose fault"):
 * `atrium` its own bug or overload, `dependency` a store it needs (database, Redis, the building directory
 * it is configured with), `target` a URL a caller gave (its origin, a webhook receiver), `client` the
 * caller's request. SLO alerts and the health score count `atrium` and `dependency` only.
 */
export type Fault = 'atrium' | 'dependency' | 'target' | 'client';
export const FAULTS: readonly Fault[] = ['atrium', 'dependency', 'target', 'client'];

/** Faults that are Atrium's to fix: what the SLOs and the health score count. */
export const isOwnFault = (fault: Fault | undefined): boolean => fault === 'atrium' || fault === 'dependency';

/** The fault of an answer nothing classified: a 5xx is Atrium's, anything else the request's. */
export const faultOfStatus = (status: number): Fault => (status >= 500 ? 'atrium' : 'client');

/** Codes that always mean a store Atrium needs did not answer (whoever raised them). */
const DEPENDENCY_CODES = new Set([
  'DATABASE_TIMEOUT',
  'DATABASE_UNAVAILABLE',
  'SEARCH_TIMEOUT',
  'JOB_QUEUE_UNAVAILABLE',
]);

/** The fault of an answer known only by its status and code (e.g. an upload whose every file was refused). */
export const faultOf = (status: number, code: string | undefined): Fault =>
  code !== undefined && DEPENDENCY_CODES.has(code) ? 'dependency' : faultOfStatus(status);

/**
 * Base of every domain error: a stable machine code, the HTTP status the global filter answers with,
 * and optional details that are safe to show a client. Features subclass it (BuildingNotFoundError…);
 * a subclass whose failure is a dependency's or a caller's target's says so by overriding `fault`.
 */
export class AppError extends Error {
  readonly fault: Fault;

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
    this.fault = faultOf(status, code);
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
