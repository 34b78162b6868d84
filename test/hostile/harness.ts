/**
 * The hostile-input test tier (issue 10): every payload class goes to the app **as built** (tsc output,
 * `node main.js`, NODE_ENV=production) running in its own process, so a crash, an out-of-memory abort
 * or a blocked event loop shows as what it is: a dead or silent process, never a failed `expect` inside
 * the test's own process.
 *
 * - The build: `test/hostile/global-setup.ts` (Jest globalSetup of the `hostile` project) compiles the
 *   app once per run into test/hostile/.tmp/build-<hash>/ (see build.ts; reused while sources are
 *   unchanged) and every hostile file starts that build.
 * - `HostileApp.start({ backend })` starts it on embedded PGlite (fresh DATA_DIR) or on Postgres + Redis
 *   (a `test_atrium_*` database of its own from test/support/databases.ts and a private redis-server on a
 *   free port, so nothing is shared with other suites). `env` overrides any variable (limits made small
 *   for a test); `nodeArgs` adds node flags. Two tenants' keys are configured: `HOSTILE_KEYS`.
 *   Share one app per backend per file (beforeAll / afterAll) — the tier must stay fast.
 * - `app.during(payload)` runs the payload while a liveness poller in a worker thread (its own event loop,
 *   so the test's work cannot delay it) GETs /health/live every 100 ms and records each poll's latency or
 *   failure, and while the process tree's RSS is sampled; `expectSurvived(app, probe)` then asserts the
 *   issue's bar: every poll answered 200 within `LIVENESS_BOUND_MS` (1 s, ≥ 5× what a poll takes on a busy
 *   machine), the process still runs, and a normal request made afterwards succeeds. Each poll is paired
 *   with one to a trivial "canary" server in its own process, and the bound applies to the app's latency
 *   beyond the canary's: on two cores shared by several test runs, the machine alone sometimes needs more
 *   than a second to serve anything; the app is held to 1 s of delay it adds itself (see LivenessPoller).
 * - `app.metric(name, labels)` reads one series of /metrics; `app.waitForLog(pred)` waits for a JSON log line.
 * - `app.isAlive()`, `app.expectNormalRequest()`, `app.rss()` (the process and its descendants — parser
 *   pool children, a browser — from /proc) and `app.sampleRss()` are also usable alone (the footprint
 *   benchmark reads `readyMs`, `rss()` and `sampleRss()`); `app.restart()` starts it again on the same data.
 * - `rawHttp(app, bytes)` writes arbitrary bytes to a socket (requests fetch cannot send: bad framing,
 *   slow bodies, oversize header blocks) and returns what came back.
 * - `HOSTILE_BACKENDS=pglite` (or `postgres`) in the environment narrows `hostileBackends()` for a quick
 *   local run; CI runs both. A slow file whose subject is not the database runs once, on
 *   `hostileDefaultBackend()` (PGlite, the embedded default).
 *
 * Jest 30 reads `testTimeout` only at the top level of jest.config.js: hostile files call
 * `jest.setTimeout(HOSTILE_TIMEOUT_MS)` themselves.
 */
import { ChildProcess, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { metricValue } from '../building-directory/helpers';
import { fetchJson, TestResponse } from '../support/app';
import { createTestDatabase, DATABASE_ADAPTERS, DatabaseAdapter, TestDatabase } from '../support/databases';
import { freePort, RedisProcess } from '../support/redis-server';
import { ensureBuilt } from './build';

const ROOT = resolve(__dirname, '..', '..');

/** What `jest.setTimeout` hostile files use: app start on two backends plus payloads on a busy machine. */
export const HOSTILE_TIMEOUT_MS = 300_000;
/** The bar for every liveness poll while a payload is processed (≥ 5× a poll's cost under load). */
export const LIVENESS_BOUND_MS = 1000;

export const HOSTILE_KEYS = {
  demo: 'hostile-demo-key-0123456789abcdef',
  acme: 'hostile-acme-key-0123456789abcdef',
} as const;

export type HostileBackend = DatabaseAdapter;

/** The backends a hostile file runs on: both, unless HOSTILE_BACKENDS narrows it for a local run. */
export function hostileBackends(): HostileBackend[] {
  const only = process.env.HOSTILE_BACKENDS?.split(',').map((s) => s.trim());
  return DATABASE_ADAPTERS.filter((b) => !only?.length || only.includes(b));
}

/**
 * One backend, for a slow file whose subject is not the database (HTTP body handling, the API process's
 * memory): the embedded default (PGlite), or the first of HOSTILE_BACKENDS. Its behaviour does not depend on
 * where the rows go, so running it twice doubles the tier's time and proves nothing more (issue 21, item 5).
 */
export function hostileDefaultBackend(): HostileBackend[] {
  return hostileBackends().slice(0, 1);
}

export interface HostileOptions {
  backend: HostileBackend;
  /** Environment overrides on top of the harness's (NODE_ENV=production, JSON logs, two tenant keys…). */
  env?: Record<string, string>;
  /** Extra node flags, e.g. `--max-old-space-size=256`. */
  nodeArgs?: string[];
  readyTimeoutMs?: number;
  /**
   * PGlite only: initialise a new database in an empty DATA_DIR (what a first start in production does,
   * ~2.5× slower than a restart). By default the app starts on a copy of a template data dir that an app
   * of the same build initialised and shut down cleanly — the same empty, migrated database, faster.
   */
  freshDataDir?: boolean;
}

export interface LivenessPoll {
  /** wall-clock start, ms since epoch */
  at: number;
  /** how long the poll took (until the body was read, or the failure) */
  ms: number;
  status?: number;
  error?: string;
  /** how long the canary server (machine-load control) took for the poll sent at the same moment */
  canaryMs?: number;
}

export interface LivenessReport {
  polls: LivenessPoll[];
  /** polls that failed, answered non-200, or took more than the bound longer than the canary */
  bad: LivenessPoll[];
  maxMs: number;
}

export interface RssReport {
  startBytes: number;
  peakBytes: number;
  samples: number;
}

export interface Probe<T> {
  value: T;
  liveness: LivenessReport;
  rss: RssReport;
}

/** The process and its descendants' resident set, from /proc (Linux). */
export interface TreeRss {
  totalBytes: number;
  byPid: Record<number, { rssBytes: number; command: string }>;
}

export class HostileApp {
  /** stdout + stderr as received (bounded: the last ~4 MB) */
  private readonly outputChunks: string[] = [];
  private outputBytes = 0;
  /** the JSON log lines (bounded: the last 50,000) */
  readonly lines: Record<string, unknown>[] = [];
  child!: ChildProcess;
  port = 0;
  /** spawn → /health/ready 200, of the last start */
  readyMs = 0;
  private exited!: Promise<void>;

  private constructor(
    readonly backend: HostileBackend,
    private readonly main: string,
    private readonly env: Record<string, string>,
    private readonly nodeArgs: string[],
    readonly dataDir: string,
    private readonly db?: TestDatabase,
    /** the private redis-server of a postgres app (stop/start it to make Redis fail) */
    readonly redis?: RedisProcess,
  ) {}

  static async start(opts: HostileOptions): Promise<HostileApp> {
    const main = process.env.ATRIUM_HOSTILE_MAIN ?? ensureBuilt();
    const dataDir = mkdtempSync(join(tmpdir(), 'atrium-hostile-'));
    if (opts.backend === 'pglite' && !opts.freshDataDir)
      cpSync(await pgliteTemplate(main), dataDir, { recursive: true });
    let db: TestDatabase | undefined;
    let redis: RedisProcess | undefined;
    const env: Record<string, string> = {};
    if (opts.backend === 'postgres') {
      db = await createTestDatabase();
      redis = await RedisProcess.start();
      env.DATABASE_URL = db.url;
      env.REDIS_URL = redis.url;
    }
    const app = new HostileApp(
      opts.backend,
      main,
      { ...env, ...opts.env },
      opts.nodeArgs ?? [],
      dataDir,
      db,
      redis,
    );
    try {
      // a port another process took meanwhile is no failure of the app's: another free port, twice at most
      for (let attempt = 1; ; attempt++) {
        try {
          await app.launch(opts.readyTimeoutMs);
          break;
        } catch (err) {
          if (attempt === 3 || !app.output.includes('the port is in use by another process')) throw err;
        }
      }
    } catch (err) {
      await app.stop();
      throw err;
    }
    return app;
  }

  // starting is slow on a loaded machine (a fresh PGlite data dir: ~10 s idle, over a minute on 2 busy cores)
  private async launch(readyTimeoutMs = 240_000): Promise<void> {
    this.port = await freePort();
    const started = performance.now();
    const child = spawn(process.execPath, [...this.nodeArgs, this.main], {
      cwd: ROOT,
      // only what the harness gives it: nothing from the test runner's environment leaks in
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        HOST: '127.0.0.1',
        PORT: String(this.port),
        DATA_DIR: this.dataDir,
        AUTH_API_KEYS: `${HOSTILE_KEYS.demo}=demo,${HOSTILE_KEYS.acme}=acme`,
        // no embedding model behind the hostile uploads (a 19 MiB text is 20,000 passages for it to embed on
        // the tier's two cores); the model's own child is proved in test/search/embeddings*.e2e-spec.ts
        EMBEDDINGS_PROVIDER: 'off',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((r) => child.once('exit', () => r()));
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString();
      this.record(text);
      partial += text;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
          if (this.lines.length > 50_000) this.lines.splice(0, 10_000);
        } catch {
          // not a log line
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => this.record(d.toString()));
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.isAlive()) throw new Error(`app exited while starting:\n${this.output.slice(-4000)}`);
      try {
        const res = await fetch(`${this.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        // the 200 must come from this child: another test's server may have taken the port between
        // freePort() and the child's bind (then the child exits, port in use, and start() tries another)
        if (res.status === 200 && listensOn(child.pid!, this.port)) {
          this.readyMs = performance.now() - started;
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `app (pid ${child.pid}, ${this.isAlive() ? 'running' : 'exited'}) not ready after ${readyTimeoutMs} ms; ` +
        `its output (${this.outputBytes} characters), last 4000:\n${this.output.slice(-4000)}`,
    );
  }

  private record(text: string): void {
    this.outputChunks.push(text);
    this.outputBytes += text.length;
    while (this.outputBytes > 4_000_000 && this.outputChunks.length > 1)
      this.outputBytes -= this.outputChunks.shift()!.length;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Everything the process wrote (the last ~4 MB), for failure messages and log assertions. */
  get output(): string {
    return this.outputChunks.join('');
  }

  /** The process is still running (no exit, no signal). */
  isAlive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** fetch against the app; the body is parsed as JSON when it is JSON. */
  request(path: string, init?: RequestInit): Promise<TestResponse> {
    return fetchJson(`${this.url}${path}`, init);
  }

  /** A request as tenant `demo` (or `acme`) with its key. */
  tenantRequest(
    path: string,
    init: RequestInit = {},
    tenant: keyof typeof HOSTILE_KEYS = 'demo',
  ): Promise<TestResponse> {
    return this.request(path, {
      ...init,
      headers: { 'X-API-Key': HOSTILE_KEYS[tenant], ...(init.headers as Record<string, string>) },
    });
  }

  /** Creates tenant `demo`'s search store `name` (201) and answers the response. */
  createStore(name: string): Promise<TestResponse> {
    return this.tenantRequest('/api/v1/stores', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
  }

  /**
   * "A normal request made afterwards succeeds": an authenticated business route that reaches the
   * database (list stores) answers 200, and readiness is 200.
   */
  async expectNormalRequest(): Promise<void> {
    const stores = await this.tenantRequest('/api/v1/stores');
    expect({ route: 'GET /api/v1/stores', status: stores.status, body: stores.body }).toMatchObject({
      status: 200,
    });
    const ready = await this.request('/health/ready');
    expect({ route: 'GET /health/ready', status: ready.status, body: ready.body }).toMatchObject({
      status: 200,
    });
  }

  /** The value of one series in /metrics (0 when absent), e.g. `metric('auth_failures_total', { result: 'throttled' })`. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricValue((await this.request('/metrics')).text, name, labels);
  }

  /** Waits (log lines are flushed every 250 ms) until a JSON log line matches; returns the matches. */
  async waitForLog(
    pred: (line: Record<string, unknown>) => boolean,
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.filter(pred);
      if (found.length || Date.now() > deadline) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** RSS of the process and every descendant (parser pool, browser…), read from /proc. */
  rss(): TreeRss {
    return treeRss(this.pid);
  }

  /** Samples `rss().totalBytes` every `intervalMs` until `stop()`; keeps the start and the peak. */
  sampleRss(intervalMs = 100): { stop(): RssReport } {
    const startBytes = this.isAlive() ? this.rss().totalBytes : 0;
    let peakBytes = startBytes;
    let samples = 1;
    const timer = setInterval(() => {
      if (!this.isAlive()) return;
      const total = this.rss().totalBytes;
      samples++;
      if (total > peakBytes) peakBytes = total;
    }, intervalMs);
    return {
      stop: () => {
        clearInterval(timer);
        return { startBytes, peakBytes, samples };
      },
    };
  }

  /** Starts a liveness poller (see the file's header); resolves once its first poll has answered. */
  async pollLiveness(intervalMs = 100): Promise<LivenessPoller> {
    const poller = new LivenessPoller(`${this.url}/health/live`, intervalMs);
    await poller.started;
    return poller;
  }

  /** Runs `payload` while liveness is polled and RSS sampled; returns its value and both reports. */
  async during<T>(payload: () => Promise<T>): Promise<Probe<T>> {
    const poller = await this.pollLiveness();
    const sampler = this.sampleRss();
    try {
      const value = await payload();
      return { value, liveness: await poller.stop(), rss: sampler.stop() };
    } catch (err) {
      await poller.stop();
      sampler.stop();
      throw err;
    }
  }

  /**
   * Stops the process (SIGKILL: a crash; SIGTERM: a clean shutdown, SIGKILL after 15 s) and starts it again
   * on the same data, database and Redis.
   */
  async restart(readyTimeoutMs?: number, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    if (signal === 'SIGTERM' && this.isAlive()) {
      const force = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.kill('SIGTERM');
      clearTimeout(force);
    }
    await this.kill('SIGKILL');
    await this.launch(readyTimeoutMs);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.child || !this.isAlive()) return;
    this.child.kill(signal);
    await this.exited;
  }

  /** SIGTERM (SIGKILL after 15 s), then the data dir, the database and the private Redis go. */
  async stop(): Promise<void> {
    if (this.child && this.isAlive()) {
      const force = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.kill('SIGTERM');
      clearTimeout(force);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
    await this.redis?.stop();
    await this.db?.drop();
  }
}

/**
 * A DATA_DIR holding an initialised, migrated, empty PGlite database, made once per build (next to it,
 * in test/hostile/.tmp/): an app of that build starts on a fresh dir and is shut down with SIGTERM
 * (a clean PGlite close), and the dir is renamed into place. Concurrent makers race to the rename.
 */
async function pgliteTemplate(main: string): Promise<string> {
  const buildDir = main.slice(0, main.lastIndexOf(join('apps', 'api', 'src', 'main.js')));
  const template = join(buildDir, 'pglite-template');
  if (existsSync(join(template, 'COMPLETE'))) return template;
  const app = await HostileApp.start({ backend: 'pglite', freshDataDir: true });
  const work = `${template}-work-${process.pid}-${Date.now()}`;
  try {
    await app.kill('SIGTERM');
    if (app.child.exitCode !== 0)
      throw new Error(
        `template app did not shut down cleanly (${app.child.exitCode}):\n${app.output.slice(-4000)}`,
      );
    cpSync(app.dataDir, work, { recursive: true });
    writeFileSync(join(work, 'COMPLETE'), `${new Date().toISOString()}\n`);
    try {
      renameSync(work, template);
    } catch {
      rmSync(work, { recursive: true, force: true }); // another maker was first
    }
  } finally {
    await app.stop();
  }
  return template;
}

/**
 * The control for machine load: a trivial HTTP server in its own process (one per test process, started
 * on first use, gone when the test process goes — it exits when its stdin closes). It competes for the
 * CPU like the app does, so how long it takes to answer is how long the machine itself needed to serve
 * a request at that moment: on two cores shared by many test runs that can exceed a second without the
 * app being at fault.
 */
let canary: Promise<string> | undefined;
function canaryUrl(): Promise<string> {
  canary ??= new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        '-e',
        "const s = require('node:http').createServer((q, r) => r.end('ok'));" +
          "s.listen(0, '127.0.0.1', () => console.log(s.address().port));" +
          "process.stdin.on('end', () => process.exit(0)); process.stdin.resume();",
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    child.unref();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) => resolvePromise(`http://127.0.0.1:${d.toString().trim()}/`));
    process.once('exit', () => child.kill('SIGKILL'));
  });
  return canary;
}

/**
 * Polls a URL sequentially (one poll in flight, `intervalMs` between polls) from a worker thread, so a
 * busy test process cannot delay or fail a poll; each poll gives up after 10 s and is recorded as failed.
 * Each poll is paired with one to the canary server, sent at the same moment: a poll is bad when it
 * failed, answered non-200, or took more than LIVENESS_BOUND_MS longer than the canary did (the delay
 * the app added beyond what the machine imposed on any process at that moment). On an idle machine the
 * canary answers in about a millisecond, so this is the "every poll within 1 s".
 */
export class LivenessPoller {
  readonly started: Promise<void>;
  private readonly worker: Promise<Worker>;
  private readonly done: Promise<LivenessPoll[]>;

  constructor(url: string, intervalMs: number) {
    let onStarted!: () => void;
    this.started = new Promise((r) => (onStarted = r));
    this.worker = canaryUrl().then(
      (canary) =>
        new Worker(POLLER_SOURCE, { eval: true, workerData: { url, canary, intervalMs, timeoutMs: 10_000 } }),
    );
    this.done = this.worker.then(
      (worker) =>
        new Promise((resolve, reject) => {
          worker.on('message', (m: { type: string; polls?: LivenessPoll[] }) => {
            if (m.type === 'started') onStarted();
            if (m.type === 'done') resolve(m.polls ?? []);
          });
          worker.once('error', reject);
        }),
    );
  }

  async stop(): Promise<LivenessReport> {
    const worker = await this.worker;
    worker.postMessage('stop');
    const polls = await this.done;
    await worker.terminate();
    const bad = polls.filter(
      (p) =>
        p.error !== undefined ||
        p.status !== 200 ||
        p.ms - Math.min(p.canaryMs ?? 0, p.ms) > LIVENESS_BOUND_MS,
    );
    return { polls, bad, maxMs: Math.max(0, ...polls.map((p) => p.ms)) };
  }
}

const POLLER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, canary, intervalMs, timeoutMs } = workerData;
let stopping = false;
const polls = [];
parentPort.on('message', (m) => { if (m === 'stop') stopping = true; });
const timed = async (target) => {
  const t0 = performance.now();
  try {
    const res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { ms: performance.now() - t0, status: res.status };
  } catch (err) {
    return { ms: performance.now() - t0, error: String((err && err.message) || err) };
  }
};
(async () => {
  while (true) {
    const at = Date.now();
    const [app, control] = await Promise.all([timed(url), timed(canary)]);
    polls.push({ at, ...app, canaryMs: control.error === undefined ? control.ms : undefined });
    if (polls.length === 1) parentPort.postMessage({ type: 'started' });
    if (stopping) break;
    await new Promise((r) => setTimeout(r, intervalMs));
    if (stopping) break;
  }
  parentPort.postMessage({ type: 'done', polls });
})();
`;

/**
 * The bar after a hostile payload: every liveness poll made while it was processed answered 200
 * within LIVENESS_BOUND_MS, the process is alive, and a normal request made afterwards succeeds.
 */
export async function expectSurvived(app: HostileApp, probe: Probe<unknown>): Promise<void> {
  expect(probe.liveness.polls.length).toBeGreaterThan(0);
  expect({ badLivenessPolls: probe.liveness.bad, alive: app.isAlive() }).toEqual({
    badLivenessPolls: [],
    alive: true,
  });
  await app.expectNormalRequest();
}

/** Sum of VmRSS over `pid` and its descendants (a /proc scan for parents; no /proc/…/children needed). */
export function treeRss(pid: number): TreeRss {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(name));
      parents.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  const byPid: TreeRss['byPid'] = {};
  let totalBytes = 0;
  const visit = (p: number): void => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
      const command = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
      byPid[p] = { rssBytes: kb * 1024, command };
      totalBytes += kb * 1024;
    } catch {
      return;
    }
    for (const c of parents.get(p) ?? []) visit(c);
  };
  visit(pid);
  return { totalBytes, byPid };
}

export interface RawResponse {
  /** the bytes received until the server closed or `timeoutMs` passed */
  text: string;
  /** status of the first response line, if any */
  status?: number;
  /** the body after the header block, JSON-parsed when it parses */
  body?: unknown;
  /** the server closed the socket (rather than our timeout ending the read) */
  closedByServer: boolean;
  /** ms until the first byte came back (undefined: none came) */
  firstByteMs?: number;
}

/**
 * Writes `chunks` to a fresh TCP connection (each chunk after `gapMs`), then reads until the server
 * closes or `timeoutMs` passes. For requests fetch cannot send: slow bodies, oversize header blocks,
 * broken framing.
 */
export function rawHttp(
  app: HostileApp,
  chunks: (string | Buffer)[],
  opts: { gapMs?: number; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const { gapMs = 0, timeoutMs = 10_000 } = opts;
  return new Promise((resolvePromise) => {
    const socket = connect(app.port, '127.0.0.1');
    const received: Buffer[] = [];
    const t0 = performance.now();
    let firstByteMs: number | undefined;
    let finished = false;
    const finish = (closedByServer: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(received).toString('utf8');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      const sep = text.indexOf('\r\n\r\n');
      let body: unknown = sep >= 0 ? text.slice(sep + 4) : undefined;
      try {
        body = JSON.parse(body as string);
      } catch {
        // not JSON (or chunked framing): kept as text
      }
      resolvePromise({
        text,
        status: status ? Number(status) : undefined,
        body,
        closedByServer,
        firstByteMs,
      });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (d: Buffer) => {
      firstByteMs ??= performance.now() - t0;
      received.push(d);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.once('connect', () => {
      void (async () => {
        for (const [i, chunk] of chunks.entries()) {
          if (finished || socket.destroyed) return;
          if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
          if (finished || socket.destroyed) return;
          socket.write(chunk);
        }
      })();
    });
  });
}

/**
 * Whether process `pid` holds the listening TCP socket on `port` (Linux: its fds' socket inodes against
 * /proc/net/tcp and tcp6, state 0A = LISTEN).
 */
function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return false; // gone
  }
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let rows: string[];
    try {
      rows = readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const row of rows) {
      const f = row.trim().split(/\s+/);
      if (f.length > 9 && f[1].endsWith(hex) && f[3] === '0A' && inodes.has(f[9])) return true;
    }
  }
  return false;
}
