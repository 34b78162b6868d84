import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const SHARED_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A private redis-server on a free port, for fault tests (stop, restart, slow) — never the machine's
 * shared Redis. Keeps no data on disk.
 */
export class RedisProcess {
  private child?: ChildProcess;
  constructor(readonly port: number) {}

  static async start(): Promise<RedisProcess> {
    const r = new RedisProcess(await freePort());
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--enable-debug-command',
        'yes',
      ],
      {
        stdio: 'ignore',
      },
    );
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const client = new Redis(this.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      // refused while the server starts: the rejection below says so; without a listener ioredis prints it
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.ping();
        client.disconnect();
        return;
      } catch {
        client.disconnect();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`redis-server did not start on ${this.port}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
    this.child = undefined;
  }

  /**
   * Makes Redis unresponsive for `seconds` (DEBUG SLEEP blocks the server). `awake` settles when Redis
   * answers again (a PING sent after the sleep command is answered after it), so a test can show that an
   * operation finished *before* Redis woke — order, not a measured duration — and wait for the end of the
   * sleep instead of guessing its length.
   */
  async sleep(seconds: number): Promise<{ awake: Promise<void> }> {
    const sleeper = new Redis(this.url, { maxRetriesPerRequest: 0 });
    const watcher = new Redis(this.url, { maxRetriesPerRequest: 0 });
    for (const c of [sleeper, watcher]) c.on('error', () => undefined);
    await Promise.all([sleeper.ping(), watcher.ping()]);
    const slept = sleeper.call('DEBUG', 'SLEEP', String(seconds)).finally(() => sleeper.disconnect());
    // the server runs commands in arrival order: a PING sent now is answered after the sleep
    await new Promise((r) => setTimeout(r, 20));
    const awake = Promise.all([slept, watcher.ping()]).then(
      () => undefined,
      () => undefined,
    );
    void awake.finally(() => watcher.disconnect());
    return { awake };
  }
}
