import { AppError } from '@app/errors';

// The directory is Atrium's own configured dependency (BUILDING_DIRECTORY_URL or _FILE): its failures are
// `dependency` faults, unlike a downloader caller's URL (`target`).

export class BuildingNotFoundError extends AppError {
  constructor(buildingId: string) {
    super(404, 'BUILDING_NOT_FOUND', `Building ${buildingId} not found`, { buildingId });
  }
}

export class BuildingInactiveError extends AppError {
  constructor(buildingId: string) {
    super(422, 'BUILDING_INACTIVE', `Building ${buildingId} is inactive`, { buildingId });
  }
}

/** The directory failed (network error, 5xx, unexpected status, unusable body). Never carries its body. */
export class UpstreamError extends AppError {
  override readonly fault = 'dependency';

  constructor(
    message: string,
    readonly errorType: 'http_error' | 'parse_error' | 'unknown',
    upstreamStatus?: number,
  ) {
    super(502, 'UPSTREAM_ERROR', message, upstreamStatus ? { upstreamStatus } : undefined);
  }
}

export class UpstreamTimeoutError extends AppError {
  override readonly fault = 'dependency';
  readonly errorType = 'timeout' as const;
  constructor(message = 'The building directory did not answer in time') {
    super(504, 'UPSTREAM_TIMEOUT', message);
  }
}

export class SignatureInvalidError extends AppError {
  constructor() {
    super(401, 'SIGNATURE_INVALID', 'Missing or invalid X-Signature', undefined, {
      'WWW-Authenticate': 'Signature header="X-Signature", algorithm="hmac-sha256"',
    });
  }
}

/**
 * Without BUILDING_DIRECTORY_WEBHOOK_SECRET the change feed is refused (an unsigned feed could wipe caches):
 * 404, as for a route that is not there — anyone may post to it, and that is not Atrium failing.
 */
export class WebhookNotConfiguredError extends AppError {
  constructor() {
    super(
      404,
      'WEBHOOK_NOT_CONFIGURED',
      'The building directory webhook is not enabled on this server (BUILDING_DIRECTORY_WEBHOOK_SECRET is not set)',
    );
  }
}
