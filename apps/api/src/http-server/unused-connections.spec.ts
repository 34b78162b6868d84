import { once } from 'node:events';
import { connect, Socket } from 'node:net';
import Fastify, { FastifyInstance } from 'fastify';
import { within } from '../../../../test/support/wait';
import { installUnusedConnectionClose } from './unused-connections';

/** Closing an idle server takes milliseconds; past this it is not going to return. */
const CLOSE_BOUND_MS = 5000;

/** A connection to the server, accepted by it (its 'connection' event has fired) when this resolves. */
async function connection(app: FastifyInstance, port: number): Promise<Socket> {
  const accepted = once(app.server, 'connection');
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined); // reset by the server: what the test looks at is the close
  await once(socket, 'connect');
  await accepted;
  return socket;
}

describe('installUnusedConnectionClose (real sockets)', () => {
  const sockets: Socket[] = [];
  let app: FastifyInstance | undefined;
  let release: () => void = () => undefined;
  /** Resolves when a request to /slow has reached its handler. */
  let reached: Promise<void>;

  /** Fastify as the app configures it (idle keep-alive connections closed on close), on a loopback port. */
  async function start(install: boolean): Promise<number> {
    app = Fastify({ forceCloseConnections: 'idle', return503OnClosing: false });
    if (install) installUnusedConnectionClose(app);
    const gate = new Promise<void>((r) => (release = r));
    let arrived: () => void = () => undefined;
    reached = new Promise<void>((r) => (arrived = r));
    app.get('/slow', async () => {
      arrived();
      await gate;
      return { done: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return (app.server.address() as { port: number }).port;
  }

  afterEach(async () => {
    release();
    for (const s of sockets.splice(0)) s.destroy();
    await app?.close();
    app = undefined;
  });

  it('close() returns while a client holds a connection it has sent nothing on, which is closed', async () => {
    const port = await start(true);
    const silent = await connection(app!, port);
    sockets.push(silent);
    const clientSawClose = once(silent, 'close');
    await within(app!.close(), CLOSE_BOUND_MS, 'close() returning');
    await within(clientSawClose, CLOSE_BOUND_MS, "the client's connection closing");
  });

  // Node's behaviour the hook works around (nodejs/node#63452). Should this fail after a Node upgrade, Node
  // closes such connections itself (nodejs/node#63470) and installUnusedConnectionClose can go.
  it('without it, Node waits for that connection until the client closes it', async () => {
    const port = await start(false);
    const silent = await connection(app!, port);
    sockets.push(silent);
    let closed = false;
    const closing = app!.close().then(() => (closed = true));
    // Node's server.close() does not call back while the silent connection is open…
    await new Promise((r) => setTimeout(r, 500));
    expect(closed).toBe(false);
    // …and does once the client itself closes it
    silent.destroy();
    await within(closing, CLOSE_BOUND_MS, 'close() returning once the client left');
  });

  it('a request in flight on another connection still gets its answer before close() returns', async () => {
    const port = await start(true);
    // a request on a connection of its own that asks to be closed after its answer (a keep-alive one
    // would stay open after it until keepAliveTimeout: main.ts's shutdown answers with Connection: close)
    const client = await connection(app!, port);
    sockets.push(client);
    let answer = '';
    client.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    const ended = once(client, 'close');
    client.write('GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await reached;
    sockets.push(await connection(app!, port)); // and a silent one
    let closed = false;
    const closing = app!.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(closed).toBe(false); // the answer is still owed
    release();
    await within(closing, CLOSE_BOUND_MS, 'close() returning after the answer');
    await within(ended, CLOSE_BOUND_MS, 'the answered connection closing');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('{"done":true}');
  });
});
