import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/**
 * Lets the server close while a client holds a connection it has sent nothing on.
 *
 * Node's `server.close()` waits for every connection that is not idle, and Node 24 does not count a
 * connection that has not sent a request yet as idle: `closeIdleConnections()` (which `close()` calls, and
 * Fastify's `forceCloseConnections: 'idle'` relies on) skips it (nodejs/node#63452, fixed upstream by
 * nodejs/node#63470), and `close()` also stops the check of HEADERS_READ_TIMEOUT_MS that would otherwise
 * have ended it. Such connections are ordinary: undici's fetch opens a spare one as soon as a request is
 * aborted (a client leaving a streamed answer), browsers open speculative ones. Until the client closed it
 * itself, `app.close()` did not return and SIGTERM ended in SHUTDOWN_TIMEOUT_MS's hard stop (exit 1).
 *
 * So when the server closes (Fastify's `preClose`, before `server.close()`), every connection that has not
 * received a byte is destroyed — it carries no request, so nothing is lost — and so is any accepted from
 * then on. Connections with a request in flight finish it as before; idle keep-alive ones Node closes.
 */
export function installUnusedConnectionClose(fastify: FastifyInstance): void {
  const open = new Set<Socket>();
  let closing = false;
  fastify.server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  fastify.addHook('preClose', (done) => {
    closing = true;
    for (const socket of open) if (socket.bytesRead === 0) socket.destroy();
    done();
  });
}
