import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { AppError } from '@app/errors';
import { errorBody } from '@app/errors';

/** The HTTP-level limits of config (AppConfig.http), enforced by Node's HTTP server and one hook. */
export interface HttpLimits {
  bodyIdleTimeoutMs: number;
  bodyMinBytesPerSecond: number;
  headersReadTimeoutMs: number;
  headersMaxBytes: number;
  urlMaxLength: number;
}

export class UriTooLongError extends AppError {
  constructor(limit: number) {
    super(414, 'URI_TOO_LONG', `The request URL is longer than ${limit} characters (URL_MAX_LENGTH)`, {
      limit,
    });
  }
}

/** How often Node's HTTP server checks the header and request timeouts (its default, 30 s, would double them). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Options for Fastify (and the Node server under it): headers within headersReadTimeoutMs (slow senders
 * otherwise hold a socket and a request slot for as long as they like) and no larger than headersMaxBytes.
 * Node's requestTimeout (the whole request within a fixed time) is off: it also counts the server's own
 * work while an upload's body waits to be read, and cut large uploads after a minute of that work (issue 25,
 * item 4). The body is bounded by installBodyProgressTimeout instead, which measures only the client.
 */
export function httpServerOptions(limits: HttpLimits) {
  return {
    requestTimeout: 0,
    http: {
      headersTimeout: limits.headersReadTimeoutMs,
      requestTimeout: 0,
      maxHeaderSize: limits.headersMaxBytes,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
  };
}

/** What Node gives the clientError listener; `rawPacket` is the chunk being parsed (a Buffer, whatever Fastify's types say). */
type ClientError = Error & { code?: string; rawPacket?: Buffer };

/** A request line that alone overflowed the header limit: the chunk starts with a method and has no line end yet. */
const REQUEST_LINE_START = /^[A-Z]{3,10} \S/;

/**
 * The answer to an error Node's HTTP parser or its timers raise before Fastify sees a request (so no
 * route, hook or error handler runs), in the contract's error shape.
 */
export function clientErrorBody(
  err: ClientError,
  limits: HttpLimits,
): { status: number; code: string; message: string; details?: Record<string, unknown> } {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        status: 408,
        code: 'REQUEST_TIMEOUT',
        message:
          `The request was not received in time: headers within ${limits.headersReadTimeoutMs} ms (HEADERS_READ_TIMEOUT_MS), ` +
          `then no pause in the body longer than ${limits.bodyIdleTimeoutMs} ms (BODY_IDLE_TIMEOUT_MS) and at least ` +
          `${limits.bodyMinBytesPerSecond} bytes/s on average (BODY_MIN_BYTES_PER_SECOND) while the server was reading it`,
        details: {
          headersTimeoutMs: limits.headersReadTimeoutMs,
          bodyIdleTimeoutMs: limits.bodyIdleTimeoutMs,
          bodyMinBytesPerSecond: limits.bodyMinBytesPerSecond,
        },
      };
    case 'HPE_HEADER_OVERFLOW': {
      const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket : undefined;
      const head = raw?.subarray(0, 16).toString('latin1') ?? '';
      if (REQUEST_LINE_START.test(head) && !raw?.includes('\r\n'))
        return {
          status: 414,
          code: 'URI_TOO_LONG',
          message: `The request line is longer than the ${limits.headersMaxBytes} bytes allowed for it and the headers (HEADERS_MAX_BYTES); URLs may have ${limits.urlMaxLength} characters (URL_MAX_LENGTH)`,
          details: { limit: limits.urlMaxLength },
        };
      return {
        status: 431,
        code: 'HEADERS_TOO_LARGE',
        message: `The request line (the URL) and headers are larger than ${limits.headersMaxBytes} bytes together (HEADERS_MAX_BYTES)`,
        details: { limit: limits.headersMaxBytes },
      };
    }
    default:
      return { status: 400, code: 'BAD_REQUEST', message: 'Malformed HTTP request' };
  }
}

/** The raw request and response Fastify handled last on a socket (set by installUrlLengthLimit's hook). */
const kLastRequest = Symbol('atrium.lastRequest');
const kLastResponse = Symbol('atrium.lastResponse');
type TrackedSocket = Socket & { [kLastRequest]?: IncomingMessage; [kLastResponse]?: ServerResponse };

/**
 * Whether the request the error is about was already answered: a response was started for the last
 * request on the socket while its body was still arriving (a 413, 429 or 401 sent before the upload
 * ended). Node then keeps reading that body and its timer can still fire — a second response would
 * corrupt the connection, so the socket is only closed.
 */
function alreadyAnswered(socket: TrackedSocket): boolean {
  const req = socket[kLastRequest];
  return req !== undefined && !req.complete && socket[kLastResponse]?.headersSent === true;
}

/**
 * Whether a response on the socket has started and not finished yet (Node's own handler asks the same of
 * the socket's private `_httpMessage`; the last response Fastify handled on it is tracked here instead).
 */
function responseStarted(socket: TrackedSocket): boolean {
  const res = socket[kLastResponse];
  return res !== undefined && res.headersSent && !res.writableFinished;
}

/**
 * Fastify's `clientErrorHandler`: Fastify's default answers these with its own body shape (and Node's
 * with none). Answers only when no response of an in-flight request has started on the socket, as Node
 * does, and always closes the connection (its framing can no longer be trusted). One log line each.
 */
export function createClientErrorHandler(limits: HttpLimits, logger: Logger) {
  return function clientErrorHandler(connectionError: ConnectionError, socket: Socket): void {
    const err = connectionError as unknown as ClientError;
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const answer = clientErrorBody(err, limits);
    const requestId = randomUUID();
    if (socket.writable && !responseStarted(socket) && !alreadyAnswered(socket)) {
      const body = JSON.stringify(
        errorBody(answer.status, answer.code, answer.message, requestId, answer.details),
      );
      socket.write(
        `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status]}\r\n` +
          `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
          `X-Request-ID: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    logger.info(
      { requestId, status: answer.status, errorCode: answer.code, parserError: err.code },
      'request refused by the HTTP parser',
    );
    socket.destroy(err);
  };
}

/**
 * 414 URI_TOO_LONG for a request target longer than urlMaxLength (shorter than the parser's own limit),
 * and the bookkeeping the client error handler needs (which exchange a socket carried last).
 */
export function installUrlLengthLimit(fastify: FastifyInstance, limits: HttpLimits): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const socket = request.raw.socket as TrackedSocket | null;
    if (socket) {
      socket[kLastRequest] = request.raw;
      socket[kLastResponse] = reply.raw;
    }
    done(request.url.length > limits.urlMaxLength ? new UriTooLongError(limits.urlMaxLength) : undefined);
  });
}

/** A body being received: what the progress check knows of it. */
interface BodyWatch {
  request: IncomingMessage;
  socket: Socket;
  lastBytes: number;
  startBytes: number;
  /** ms the server wanted bytes and none came, since the last progress */
  idleMs: number;
  /** ms the server wanted bytes, in all */
  waitedMs: number;
}

/**
 * Bounds how slowly a client may send a body (issue 25, item 4), in place of Node's whole-request timer. Once a
 * second, for each request whose body is still arriving: the time counts only while the server is reading
 * the body (the request stream flowing — not paused because the handler is busy with what it already read,
 * and not yet claimed while the request waits for its turn); no byte for bodyIdleTimeoutMs, or fewer than
 * bodyMinBytesPerSecond on average over the reading time once that is as long, and the request gets the
 * answer Node's own timer gave: 408 REQUEST_TIMEOUT through `onTimeout` (the client error handler), the
 * connection closed. A body still arriving after its request was answered (a 413 or 429 sent early) is
 * held to the same bounds and then only closed. Progress is the socket's `bytesRead` (a documented field).
 */
export function installBodyProgressTimeout(
  fastify: FastifyInstance,
  limits: HttpLimits,
  onTimeout: (err: Error & { code: string }, socket: Socket) => void,
): void {
  const watched = new Set<BodyWatch>();
  let timer: NodeJS.Timeout | undefined;
  let last = performance.now();
  const tick = (): void => {
    const now = performance.now();
    // a late tick (the event loop was busy) is the server's delay, not the client's: at most two intervals count
    const dt = Math.min(now - last, 2 * TIMEOUT_CHECK_INTERVAL_MS);
    last = now;
    for (const w of watched) {
      if (w.request.complete || w.socket.destroyed) {
        watched.delete(w);
        continue;
      }
      const bytes = w.socket.bytesRead;
      const reading = w.request.readableFlowing === true;
      if (bytes !== w.lastBytes) {
        w.lastBytes = bytes;
        w.idleMs = 0;
      } else if (reading) w.idleMs += dt;
      if (reading) w.waitedMs += dt;
      const tooSlow =
        limits.bodyMinBytesPerSecond > 0 &&
        w.waitedMs >= limits.bodyIdleTimeoutMs &&
        (bytes - w.startBytes) / (w.waitedMs / 1000) < limits.bodyMinBytesPerSecond;
      if (w.idleMs >= limits.bodyIdleTimeoutMs || tooSlow) {
        watched.delete(w);
        const err = Object.assign(new Error('request body too slow'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
        onTimeout(err, w.socket);
      }
    }
    if (!watched.size && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  fastify.addHook('onRequest', (request, _reply, done) => {
    const raw = request.raw;
    const socket = raw.socket as Socket | null;
    const hasBody =
      raw.headers['transfer-encoding'] !== undefined || Number(raw.headers['content-length'] ?? 0) > 0;
    if (socket && hasBody && !raw.complete) {
      watched.add({
        request: raw,
        socket,
        lastBytes: socket.bytesRead,
        startBytes: socket.bytesRead,
        idleMs: 0,
        waitedMs: 0,
      });
      if (!timer) {
        last = performance.now();
        timer = setInterval(tick, TIMEOUT_CHECK_INTERVAL_MS);
        timer.unref();
      }
    }
    done();
  });
  fastify.addHook('onClose', (_instance, done) => {
    if (timer) clearInterval(timer);
    timer = undefined;
    watched.clear();
    done();
  });
}
