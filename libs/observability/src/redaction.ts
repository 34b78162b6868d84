export const REDACTED = '[REDACTED]';

/** pino redact paths: credentials in headers, cookies and secrets anywhere one level down. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.authorization',
  '*["x-api-key"]',
  '*.cookie',
  '*.password',
  '*.secret',
  '*.token',
  '*.apiKey',
  '*.webhookSecret',
  '*["x-signature"]',
  '*["x-atrium-signature"]',
];

const SENSITIVE_PARAM = /sig|signature|token|key|secret|pass|auth|credential|session|code|^x-amz-|^x-goog-/i;

/**
 * Masks query values that look like credentials (signed-URL signatures, tokens, keys). A `url` parameter
 * holding another URL is masked the same way, recursively, so a signed download URL never reaches the logs.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const path = url.slice(0, q);
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(url.slice(q + 1));
  } catch {
    return `${path}?${REDACTED}`;
  }
  const out: string[] = [];
  for (const [k, v] of params) {
    let value = v;
    if (SENSITIVE_PARAM.test(k)) value = REDACTED;
    else if (/^https?:\/\//i.test(v)) value = redactUrl(v);
    out.push(`${encodeURIComponent(k)}=${value === REDACTED ? value : encodeURIComponent(value)}`);
  }
  return `${path}?${out.join('&')}`;
}
