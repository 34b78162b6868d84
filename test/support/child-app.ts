import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './redis-server';

const ROOT = resolve(__dirname, '..', '..');

/**
 * The real service as its own process (`apps/api/src/main.ts` through @swc-node), for what an in-process
 * app cannot show: signals, exit codes, SIGKILL, startup failures.
 */
export class ChildApp {
  readonly output: string[] = [];
  private exit?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    private readonly dataDir: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => this.output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.exit = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  }

  static async spawn(
    env: Record<string, string> = {},
    opts: { port?: number; dataDir?: string } = {},
  ): Promise<ChildApp> {
    const port = opts.port ?? (await freePort());
    const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'atrium-child-'));
    const child = spawn(
      process.execPath,
      ['-r', '@swc-node/register', '-r', 'tsconfig-paths/register', 'apps/api/src/main.ts'],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          LOG_FORMAT: 'json',
          HOST: '127.0.0.1',
          PORT: String(port),
          DATA_DIR: dataDir,
          SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return new ChildApp(child, port, dataDir);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output.join('');
  }

  async waitReady(timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null)
        throw new Error(`app exited early (${this.child.exitCode}):\n${this.log}`);
      try {
        const r = await fetch(`${this.url}/health/ready`);
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`app not ready after ${timeoutMs} ms:\n${this.log}`);
  }

  waitExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exit!;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(signal);
      await this.waitExit();
    }
  }

  cleanup(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
