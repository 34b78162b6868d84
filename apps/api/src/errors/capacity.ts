/** What a 503 CAPACITY_EXCEEDED says: which bound of this server is full and when to try again. */
export interface CapacityExceededOptions {
  /** `details.pool`: the bound that is full (answer, upload_memory, extraction, pdf…). */
  pool: string;
  message: string;
  /** `Retry-After`, in seconds. */
  retryAfterSeconds: number;
  /** `details.reason`: why no room was had (wait_timeout, queue_full…). */
  reason?: string;
  /** `details.limit`: the size of the bound. */
  limit?: number;
  /** Further details, after pool, reason and limit (budgetBytes, scope…). */
  details?: Record<string, unknown>;
  /** `details.waitedMs` (last, rounded): how long the request waited for room. */
  waitedMs?: number;
  /** Headers beside Retry-After (Connection: close when the body was left unread). */
  headers?: Record<string, string>;
}

/**
 * AppError's arguments for a 503 CAPACITY_EXCEEDED (docs/api.md): `details` `{pool, reason?, limit?, …details,
 * waitedMs?}` in that order, `Retry-After` and the extra headers. Every capacity error is built from it,
 * `super(...capacityExceeded({...}))`, whatever AppError subclass it extends (the downloader's extends
 * DownloaderError, to be counted in downloader_errors_total).
 */
export function capacityExceeded(
  o: CapacityExceededOptions,
): [
  status: 503,
  code: 'CAPACITY_EXCEEDED',
  message: string,
  Record<string, unknown>,
  Record<string, string>,
] {
  return [
    503,
    'CAPACITY_EXCEEDED',
    o.message,
    {
      pool: o.pool,
      ...(o.reason !== undefined ? { reason: o.reason } : {}),
      ...(o.limit !== undefined ? { limit: o.limit } : {}),
      ...o.details,
      ...(o.waitedMs !== undefined ? { waitedMs: Math.round(o.waitedMs) } : {}),
    },
    { 'Retry-After': String(o.retryAfterSeconds), ...o.headers },
  ];
}
