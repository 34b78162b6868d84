import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fetchJson, seedFromRunTemplate, TestResponse } from './app';
import { freePort } from './redis-server';

const ROOT = resolve(__dirname, '..', '..');

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/**
 * The real service as its own process (`apps/api/src/main.ts` through @swc-node), for what an in-process
 * app cannot show: signals, exit codes, SIGKILL mid-work (as an OOM kill or a node failure would),
 * restarts on the same data, startup failures. Its environment is only what the test gives it.
 */
export class ChildApp {
  /** stdout and stderr as received, across restarts */
  readonly output: string[] = [];
  /** the JSON log lines of stdout, across restarts */
  readonly lines: Record<string, unknown>[] = [];
  child!: ChildProcess;
  port = 0;
  private exit!: Promise<Exit>;

  private constructor(
    private readonly env: Record<string, string>,
    readonly dataDir: string,
  ) {}

  /** Starts the process; `waitReady()` (or `start`) waits until it answers. */
  static async spawn(
    env: Record<string, string> = {},
    opts: { port?: number; dataDir?: string; freshDataDir?: boolean } = {},
  ): Promise<ChildApp> {
    let dataDir = opts.dataDir;
    if (!dataDir) {
      dataDir = mkdtempSync(join(tmpdir(), 'atrium-child-'));
      // the run's migrated embedded database (as startApp does), unless the spec is about a first start
      if (!env.DATABASE_URL && !env.DATA_DIR && !opts.freshDataDir) await seedFromRunTemplate(dataDir);
    }
    const app = new ChildApp(env, dataDir);
    await app.launch(opts.port);
    return app;
  }

  /** Spawns and waits until ready. */
  static async start(env: Record<string, string> = {}): Promise<ChildApp> {
    const app = await ChildApp.spawn(env);
    await app.waitReady();
    return app;
  }

  private async launch(port?: number): Promise<void> {
    this.port = port ?? (await freePort());
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
          PORT: String(this.port),
          DATA_DIR: this.dataDir,
          SWC_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
          // no embedding model child behind every spec: a spec opts in with its own EMBEDDINGS_PROVIDER
          EMBEDDINGS_PROVIDER: 'off',
          ...this.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString();
      this.output.push(text);
      partial += text;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.child = child;
    this.exit = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output.join('');
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  request(path: string, init?: RequestInit): Promise<TestResponse> {
    return fetchJson(`${this.url}${path}`, init);
  }

  /** The default is a hang bound: compiling the app through @swc-node takes a minute on a busy 2-core machine. */
  async waitReady(timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null)
        throw new Error(`app exited early (${this.child.exitCode}):\n${this.log.slice(-4000)}`);
      try {
        const r = await fetch(`${this.url}/health/ready`);
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`app not ready after ${timeoutMs} ms:\n${this.log.slice(-4000)}`);
  }

  /** Starts the process again (after a kill) on a fresh port with the same environment and data dir. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
    await this.waitReady();
  }

  waitExit(): Promise<Exit> {
    return this.exit;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(signal);
      await this.waitExit();
    }
  }

  /** Graceful stop (SIGTERM, SIGKILL after 15 s), then the data dir goes. */
  async close(): Promise<void> {
    const force = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.kill('SIGTERM');
    clearTimeout(force);
    this.cleanup();
  }

  cleanup(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
