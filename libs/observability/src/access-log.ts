import pino, { Logger } from 'pino';

/** The fields of one access line (`request completed`), in the order they are written. */
export interface AccessLine {
  requestId?: string;
  tenantId?: string;
  method: string;
  /** Route template (`/api/v1/buildings/:buildingId`), or `unmatched`. */
  route: string;
  /** Already masked (redactUrl). */
  url: string;
  status: number;
  /** ms, 2 decimals */
  duration: number;
  errorCode?: string;
}

interface PinoInternals {
  [pino.symbols.streamSym]: { write(line: string): unknown };
  [pino.symbols.chindingsSym]: string;
}

const MSG = ',"msg":"request completed"}\n';

// Strings JSON writes as they are, between quotes (no quote, backslash, control character or surrogate).
// eslint-disable-next-line no-control-regex -- control characters are exactly what JSON must escape
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** `JSON.stringify(s)` for a string, without calling it for the plain ones (ids, tenants, most URLs). */
function quote(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

/** ISO time of now, formatted once per millisecond (many lines share one under load). */
function isoTimeCache(): () => string {
  let ms = -1;
  let iso = '';
  return () => {
    const now = Date.now();
    if (now !== ms) {
      ms = now;
      iso = new Date(now).toISOString();
    }
    return iso;
  };
}

/**
 * The access line writer: one line per request, the same JSON the root logger would write for
 * `logger.info({requestId, tenantId, method, route, url, status, duration, errorCode}, 'request completed')`
 * (`level` as a label, ISO `time`, the logger's bindings, then the fields; `error` level from 500 on),
 * but built from pre-serialised parts — the prefix with the bindings once, each route template's JSON
 * once — and handed to the logger's own destination (the buffered stdout, or a test's sink). It skips
 * what pino does per line that this line does not need: the mixin (the fields carry the request id and
 * tenant), redaction (every value is safe or already masked), generic serialisation of each value.
 */
export function createAccessLog(logger: Logger): (line: AccessLine) => void {
  const internals = logger as unknown as PinoInternals;
  const bindings = internals[pino.symbols.chindingsSym] ?? '';
  const routes = new Map<string, string>();
  const routeJson = (route: string): string => {
    let json = routes.get(route);
    if (json === undefined) {
      json = JSON.stringify(route);
      if (routes.size < 1000) routes.set(route, json); // templates are few; bounded all the same
    }
    return json;
  };
  const methods = new Map<string, string>();
  const methodJson = (method: string): string => {
    let json = methods.get(method);
    if (json === undefined) {
      json = JSON.stringify(method);
      if (methods.size < 64) methods.set(method, json);
    }
    return json;
  };
  const isoTime = isoTimeCache();
  return (l) => {
    const level = l.status >= 500 ? 'error' : 'info';
    if (!logger.isLevelEnabled(level)) return;
    let line = `{"level":"${level}","time":"${isoTime()}"${bindings}`;
    if (l.requestId !== undefined) line += `,"requestId":${quote(l.requestId)}`;
    if (l.tenantId !== undefined) line += `,"tenantId":${quote(l.tenantId)}`;
    line +=
      `,"method":${methodJson(l.method)},"route":${routeJson(l.route)},"url":${quote(l.url)}` +
      `,"status":${l.status},"duration":${l.duration}`;
    if (l.errorCode !== undefined) line += `,"errorCode":${quote(l.errorCode)}`;
    internals[pino.symbols.streamSym].write(line + MSG);
  };
}
