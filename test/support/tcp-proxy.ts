import { createConnection, createServer, Server, Socket } from 'node:net';

/**
 * A TCP relay in front of a server (Redis, Postgres…) for network faults the server itself cannot
 * show: `partition()` keeps every connection open but moves no byte either way (as a dropped route
 * or a firewall that drops packets would: the client's commands hang until its own timeouts fire, no
 * connection error arrives), and new connections are accepted but not relayed; `heal()` lets the held
 * bytes through in order, as TCP's retransmissions would once the route is back.
 */
export class TcpProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private held: Socket[] = [];
  private partitioned = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  /** Listens on a free loopback port and relays to `target`. */
  static async start(target: { host?: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return new TcpProxy(server, port, { host: target.host ?? '127.0.0.1', port: target.port });
  }

  /** `redis://127.0.0.1:<proxy port>` */
  get redisUrl(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.partitioned) {
      client.pause();
      this.held.push(client);
      return;
    }
    this.relay(client);
  }

  private relay(client: Socket): void {
    const upstream = createConnection(this.target);
    const pair: [Socket, Socket] = [client, upstream];
    this.pairs.add(pair);
    upstream.on('error', () => undefined);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => client.write(d));
    const end = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.once('close', end);
    upstream.once('close', end);
    if (this.partitioned) for (const s of pair) s.pause();
    else client.resume();
  }

  /** No byte moves either way from now on; connections stay open. */
  partition(): void {
    this.partitioned = true;
    for (const pair of this.pairs) for (const s of pair) s.pause();
  }

  /** Bytes flow again (those held are delivered), and connections made meanwhile are relayed. */
  heal(): void {
    this.partitioned = false;
    for (const pair of this.pairs) for (const s of pair) s.resume();
    const held = this.held;
    this.held = [];
    for (const client of held) if (!client.destroyed) this.relay(client);
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) for (const s of pair) s.destroy();
    for (const s of this.held) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
