import { STATUS_CODES } from 'node:http';

export interface ErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
  requestId?: string;
  details?: Record<string, unknown>;
}

export function errorBody(
  statusCode: number,
  code: string,
  message: string,
  requestId: string | undefined,
  details?: Record<string, unknown>,
): ErrorBody {
  const body: ErrorBody = {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    code,
    message,
    requestId,
  };
  if (details && Object.keys(details).length) body.details = details;
  return body;
}
