import { ValidationFailedError } from '@app/validation';
import { hasUnsafeCharacters } from '../unsafe-text';

/** The multipart field naming the caller's own key for the file part that follows it. */
export const EXTERNAL_ID_FIELD = 'externalId';
export const EXTERNAL_ID_MAX_CHARS = 256;

/**
 * Why an `externalId` is refused, or undefined when it is fine: 1–256 characters, no control characters, no
 * leading or trailing white space (a key that differs only by those would be another key without anyone
 * seeing it). Compared exactly (case and Unicode form as sent).
 */
export function externalIdProblem(value: string, truncated = false): string | undefined {
  if (truncated || value.length > EXTERNAL_ID_MAX_CHARS)
    return `externalId must be at most ${EXTERNAL_ID_MAX_CHARS} characters long`;
  if (value.length === 0) return 'externalId must not be empty';
  if (hasUnsafeCharacters(value)) return 'externalId must not hold control characters (NUL, newlines, …)';
  if (value.trim() !== value) return 'externalId must not start or end with white space';
  return undefined;
}

export function invalidExternalId(message: string): ValidationFailedError {
  return new ValidationFailedError({ [EXTERNAL_ID_FIELD]: [message] });
}
