import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fetchJson, TestResponse } from '../support/app';
import { freePort } from '../support/redis-server';

const ROOT = resolve(__dirname, '..', '..');

/**
 * The real service as its own OS process (`node -r @swc-node/register apps/api/src/main.ts`), so a test
 * can SIGKILL it mid-work the way an OOM kill or a node failure would.
 */
export class ChildApp {
  readonly lines: Array<Record<string, unknown>> = [];
  private child?: ChildProcess;
  private exited?: Promise<void>;
  url = '';

  private constructor(
    private readonly env: Record<string, string>,
    readonly dataDir: string,
  ) {}

  static async start(env: Record<string, string>): Promise<ChildApp> {
    const app = new ChildApp(env, mkdtempSync(join(tmpdir(), 'atrium-child-')));
    await app.boot();
    return app;
  }

  /** Starts the process (again, after a kill) on a fresh port with the same environment and data dir. */
  async boot(timeoutMs = 90_000): Promise<void> {
    const port = await freePort();
    this.url = `http://127.0.0.1:${port}`;
    const env: Record<string, string | undefined> = {
      ...process.env,
      NODE_OPTIONS: undefined, // jest's --experimental-vm-modules is not for the service
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: this.dataDir,
      ...this.env,
    };
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', '-r', 'tsconfig-paths/register', 'apps/api/src/main.ts'],
      { cwd: ROOT, env: env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.exited = new Promise((r) => child.once('exit', () => r()));
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`child exited with ${child.exitCode}: ${stderr.slice(-2000)}`);
      try {
        if ((await fetch(`${this.url}/health/live`)).status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`child did not become live within ${timeoutMs} ms: ${stderr.slice(-2000)}`);
  }

  request(path: string, init?: RequestInit): Promise<TestResponse> {
    return fetchJson(`${this.url}${path}`, init);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await this.exited;
  }

  async close(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await this.kill('SIGTERM');
      clearTimeout(force);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
