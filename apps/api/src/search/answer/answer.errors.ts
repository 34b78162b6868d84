import { AppError } from '@app/common';

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
