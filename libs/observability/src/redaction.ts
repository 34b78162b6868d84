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
  '*.passwd',
  '*.pwd',
  '*.secret',
  '*.token',
  '*.apiKey',
  '*.webhookSecret',
  '*["x-signature"]',
  '*["x-atrium-signature"]',
];

/** Query parameter names whose values are credentials: signatures, tokens, keys, passwords (`pwd`, `passwd`…). */
const SENSITIVE_PARAM =
  /sig|signature|token|key|secret|pass|pwd|^pw$|auth|credential|session|code|cookie|jwt|bearer|private|^x-amz-|^x-goog-/i;

/** `scheme://user:password@` or a protocol-relative `//user@`: the userinfo of a URL, up to its last `@` before the path. */
const USERINFO = /(^|[^/])(\/\/)[^/?#\s]*@/g;
/** A value that is (or starts like) a URL of any scheme — http, redis, postgres… — or a protocol-relative one. */
const URL_LIKE = /^\s*(?:[a-z][a-z0-9+.-]*:)?\/\//i;

/**
 * Masks what must not reach a log line in a URL (a request's, or one given as a value): the userinfo of
 * any URL (`http://u:secret@host/` → `http://[REDACTED]@host/`), query values whose parameter name looks
 * like a credential (signed-URL signatures, tokens, keys, `password`, `pwd`…), and — recursively — the
 * same inside any query value that is itself a URL (`?url=http://u:secret@host/?token=…`).
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const path = rawPath.includes('@') ? maskUserinfo(rawPath) : rawPath;
  if (q < 0) return path;
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
    else if (URL_LIKE.test(v) || v.includes('@')) value = redactUrl(v);
    out.push(`${encodeURIComponent(k)}=${value === REDACTED ? value : encodeURIComponent(value)}`);
  }
  return `${path}?${out.join('&')}`;
}

function maskUserinfo(text: string): string {
  return text.replace(USERINFO, `$1$2${REDACTED}@`);
}
