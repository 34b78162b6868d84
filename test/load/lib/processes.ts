import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { freePort } from '../../support/redis-server';

/** A server the benchmark started as its own process (so it does not share the load generator's event loop). */
export class ServerProcess {
  readonly stderr: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly url: string,
    private stdoutFd: number | undefined,
  ) {
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr.push(d.toString());
      if (this.stderr.length > 200) this.stderr.shift();
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * Spawns `node <args>` with `env` (on top of PATH only: nothing from the bench's own environment
   * leaks in) and waits until GET /health/ready answers 200. stdout (the access log) goes to
   * `stdoutFile` — a file, like a container runtime's log driver — or is discarded.
   */
  static async start(
    name: string,
    args: string[],
    env: Record<string, string>,
    opts: { port: number; cwd: string; stdoutFile?: string; readyTimeoutMs?: number },
  ): Promise<ServerProcess> {
    const fd = opts.stdoutFile ? openSync(opts.stdoutFile, 'w') : undefined;
    const child = spawn(process.execPath, args, {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH ?? '', ...env, PORT: String(opts.port) },
      stdio: ['ignore', fd ?? 'ignore', 'pipe'],
    });
    const server = new ServerProcess(name, child, `http://127.0.0.1:${opts.port}`, fd);
    try {
      await server.waitReady(opts.readyTimeoutMs ?? 60_000);
    } catch (err) {
      await server.stop(1000); // a server that never became ready must not outlive the benchmark
      throw err;
    }
    return server;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null)
        throw new Error(`${this.name} exited early (${this.child.exitCode}):\n${this.stderr.join('')}`);
      try {
        const res = await fetch(`${this.url}/health/ready`);
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.stderr.join('')}`);
  }

  /** User + system CPU time the process has used so far, in ms (Linux /proc; 0 elsewhere). */
  cpuMs(): number {
    try {
      const stat = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8');
      // fields after the ")" that closes the command name: utime is the 12th, stime the 13th
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ = 100 on Linux
    } catch {
      return 0;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with the exit code. */
  async stop(graceMs = 15_000): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.stdoutFd !== undefined) closeSync(this.stdoutFd);
    this.stdoutFd = undefined;
    return this.exited;
  }
}

export interface SearchAppOptions {
  name: string;
  /** The repository root (the app runs from source there). */
  cwd: string;
  dataDir: string;
  /** The one API key (tenant `bench`). */
  apiKey: string;
  chunkChars: number;
  chunkOverlapChars: number;
  /** More variables (DATABASE_URL…), over the ones above. */
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** The port to listen on (default: a free one the OS picks). */
  port?: number;
}

/**
 * Atrium from source (swc), NODE_ENV=production, for the search benchmarks: one key for tenant `bench`,
 * the search and upload rate limits out of the way (the benchmarks measure the service, not its limits).
 */
export async function startSearchApp(o: SearchAppOptions): Promise<ServerProcess> {
  return ServerProcess.start(
    o.name,
    ['-r', '@swc-node/register', '-r', 'tsconfig-paths/register', 'apps/api/src/main.ts'],
    {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      DATA_DIR: o.dataDir,
      LOG_LEVEL: 'warn',
      AUTH_API_KEYS: `${o.apiKey}=bench`,
      RATE_LIMIT_SEARCH: '100000000',
      RATE_LIMIT_UPLOAD: '100000000',
      SEARCH_CHUNK_CHARS: String(o.chunkChars),
      SEARCH_CHUNK_OVERLAP_CHARS: String(o.chunkOverlapChars),
      // lexical benchmarks unless one asks for a provider
      EMBEDDINGS_PROVIDER: 'off',
      ...o.env,
    },
    { port: o.port ?? (await freePort()), cwd: o.cwd, readyTimeoutMs: o.readyTimeoutMs },
  );
}
