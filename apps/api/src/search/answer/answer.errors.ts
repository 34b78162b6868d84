import { AppError, capacityExceeded } from '@app/errors';

/** answer=generate on a server without ANSWER_URL and ANSWER_MODEL. */
export class AnswerUnavailableError extends AppError {
  constructor() {
    super(
      503,
      'ANSWER_UNAVAILABLE',
      'answer=generate is not enabled on this server (ANSWER_URL and ANSWER_MODEL are not set); answer=extractive needs no model',
    );
  }
}

/**
 * The configured chat endpoint failed (network error, non-2xx status, a body that is not a chat
 * completion). It is Atrium's operator-configured dependency, like the building directory: the same codes,
 * a `dependency` fault. Never carries the upstream's body.
 */
export class AnswerUpstreamError extends AppError {
  override readonly fault = 'dependency';

  constructor(message: string, upstreamStatus?: number) {
    super(502, 'UPSTREAM_ERROR', message, upstreamStatus ? { upstreamStatus } : undefined);
  }
}

export class AnswerUpstreamTimeoutError extends AppError {
  override readonly fault = 'dependency';

  constructor(timeoutMs: number) {
    super(
      504,
      'UPSTREAM_TIMEOUT',
      `The answer model did not finish within ${timeoutMs} ms (ANSWER_TIMEOUT_MS)`,
    );
  }
}

/** Seconds a client refused for want of an answer slot is told to wait (Retry-After). */
const ANSWER_RETRY_AFTER_S = 2;

/**
 * answer=generate while this process's ANSWER_CONCURRENCY chat requests are all in flight and the request
 * waited ANSWER_QUEUE_WAIT_MS for one (or the waiting room, or its tenant's share of it, is full).
 */
export class AnswerCapacityError extends AppError {
  constructor(reason: string, limit: number, waitedMs: number) {
    super(
      ...capacityExceeded({
        pool: 'answer',
        message:
          'Every answer slot of this server is busy (ANSWER_CONCURRENCY), try again shortly; answer=extractive needs no model',
        retryAfterSeconds: ANSWER_RETRY_AFTER_S,
        reason,
        limit,
        waitedMs,
      }),
    );
  }
}
