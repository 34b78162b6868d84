import { Logger } from '@nestjs/common';
import { ChildProcess, fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Counter, Histogram } from 'prom-client';
import { FairPool, PoolWaitTimeoutError, Release } from '@libs/scheduling';
import { Database, PoolStats, Queryable, QueryResult } from './database';
import { DatabaseTimeoutError, DatabaseUnavailableError, PgliteError } from './database.errors';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './pglite.protocol';
import { timed } from './query-metrics';
import { acceptedFlags } from './node-flags';

/**
 * Postgres settings PGlite starts with, chosen for a small embedded footprint. PGlite's own default is
 * 128 MB of shared_buffers inside the WASM heap; the data files are read through the OS page cache
 * anyway, so 8 MB costs little speed and ~120 MB of resident memory. One session needs few slots.
 */
export const PGLITE_DEFAULT_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '8MB',
  maintenance_work_mem: '32MB',
  max_connections: '5',
};

/** Twice the heap PGlite starts with: only a heavy statement grows it this far. */
export const PGLITE_RECYCLE_ABOVE_BYTES = 256 * 1024 * 1024;

/** Enough for a 20 MiB document's insert and any bounded search; far from PGlite's own 2 GiB. */
export const PGLITE_MAX_MEMORY_BYTES = 512 * 1024 * 1024;

export interface PgliteOptions {
  /** Directory for the data files; undefined = in memory (tests; a restarted worker starts empty). */
  dataDir?: string;
  /**
   * How long one statement may run in the worker before the worker is killed and restarted.
   * PGlite ignores statement_timeout (one single-threaded session), so the bound is kept from outside.
   */
  statementTimeoutMs: number;
  /** How long a statement may wait for the session (busy with others, or the worker restarting). */
  queueTimeoutMs?: number;
  /** PGlite contrib extensions to load (`@electric-sql/pglite/contrib/<name>`), e.g. ['pg_trgm']. */
  extensions?: string[];
  /** Postgres settings over PGLITE_DEFAULT_SETTINGS. */
  settings?: Record<string, string>;
  /**
   * A WASM heap only grows: after a heavy statement the worker keeps its memory. When the worker's resident
   * memory (its `process.memoryUsage.rss()` after a statement) is larger than this and the session is idle,
   * the worker is replaced by a fresh one (0 = never). Default PGLITE_RECYCLE_ABOVE_BYTES; an idle worker
   * holds about 120 MB.
   */
  recycleAboveBytes?: number;
  /** How long close() waits for the worker to checkpoint and stop before terminating it. */
  closeTimeoutMs?: number;
  /** How long a worker may take to start (initdb on a fresh data dir takes the longest). */
  startTimeoutMs?: number;
  /**
   * Cap on the worker's WASM heap (bytes; default PGLITE_MAX_MEMORY_BYTES): a statement needing more
   * fails with SQLSTATE 53200 (out of memory) instead of taking the machine's memory.
   */
  maxMemoryBytes?: number;
  histogram?: Histogram<'operation' | 'table'>;
  /** db_query_timeouts_total{adapter} */
  timeouts?: Counter<'adapter'>;
  /** db_worker_restarts_total */
  restarts?: Counter<string>;
  /**
   * Whose statement this is (an opaque key, e.g. the tenant of the request running it): the session goes
   * to waiting keys in turn, so one key's many statements cannot keep another's waiting behind them all.
   * Unset, or answering undefined: one shared key (first come, first served).
   */
  fairnessKey?: () => string | undefined;
}

interface Inflight {
  id: number;
  worker: ChildProcess;
  resolve(reply: { rows: Record<string, unknown>[]; affectedRows: number }): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

// Beside this file: .ts in development and tests (Node strips the types), .js once compiled.
const WORKER_FILE = join(__dirname, `pglite.worker${extname(__filename) === '.ts' ? '.ts' : '.js'}`);

const MiB = 1024 * 1024;

/**
 * The worker's flags, given at spawn (never set at run time). Heap limits through Node's own options
 * (`--max-old-space-size`, `--max-semi-space-size`: in `process.allowedNodeEnvironmentFlags`). Two V8
 * options, kept only where this Node accepts them (probed once: an unknown V8 option stops node from
 * starting) and left out otherwise, with one warning: Liftoff only — V8's optimising WASM compiler
 * (TurboFan) needs ~450 MB for a few seconds after every start to optimise Postgres's largest functions and
 * keeps ~40 MB of code; Liftoff code is slower on CPU-heavy statements (about 1.5× here) but starts at once —
 * and a cap on the WASM heap: past it Postgres fails the statement with "out of memory" (SQLSTATE 53200)
 * instead of growing to 2 GiB.
 */
export function pgliteWorkerFlags(maxMemoryBytes: number): string[] {
  return [
    '--liftoff-only',
    `--wasm-max-mem-pages=${Math.floor(maxMemoryBytes / (64 * 1024))}`,
    '--max-old-space-size=256',
    '--max-semi-space-size=2',
    '--disable-warning=ExperimentalWarning',
  ];
}

/**
 * Embedded PostgreSQL (WASM) for the zero-dependency default, in a worker process so no statement ever
 * runs on the event loop. One session: statements queue here, one at a time goes to the worker, each
 * bounded by a timer; a statement over its bound kills the worker, which is started again on the same
 * data dir (Postgres replays its WAL: committed data stays, the open transaction is gone).
 *
 * Queued statements never reached the worker, so they are simply sent to the new one (a safe retry);
 * each waits at most queueTimeoutMs for the session and then fails with DatabaseTimeoutError
 * (phase 'queue') without running. The "pool" has one connection and `waiting` counts queued statements.
 * The session is a FairPool of one slot: waiting statements are served in turn by fairnessKey (round
 * robin between keys, in order within one), so a key issuing statement after statement (a large upload's
 * bounded steps) lets every other key's statement through between two of its own.
 */
export class PgliteDatabase extends Database {
  readonly kind = 'pglite' as const;
  readonly description: string;
  private readonly logger = new Logger('Database');
  private readonly setup: WorkerSetup;
  private readonly queueTimeoutMs: number;

  private worker?: ChildProcess;
  /** Resolves when the current worker answers; rejects when it could not start. */
  private up: Promise<void>;
  /** Bumped by every restart: a transaction begun on an older worker is gone. */
  private generation = 0;
  private startedOnce = false;
  private closing = false;
  private backoffMs = 0;
  private nextId = 0;
  private inflight?: Inflight;
  private rssBytes = 0;
  /** The worker's flags this Node accepts (probed once per database). */
  private flags?: Promise<string[]>;
  /** Workers being stopped on purpose: their exit is not a crash. */
  private readonly retiring = new WeakSet<ChildProcess>();

  /** The session: held by one statement or one transaction at a time; the rest wait their turn. */
  readonly session = new FairPool({ name: 'database', limit: 1 });

  constructor(private readonly opts: PgliteOptions) {
    super();
    if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
    this.description = opts.dataDir ? `pglite:${opts.dataDir}` : 'pglite:memory';
    this.queueTimeoutMs = opts.queueTimeoutMs ?? opts.statementTimeoutMs;
    this.setup = {
      dataDir: opts.dataDir,
      extensions: opts.extensions ?? [],
      settings: { ...PGLITE_DEFAULT_SETTINGS, ...opts.settings },
    };
    this.up = this.start();
    this.up.catch(() => undefined); // awaited by ready() and by every statement
  }

  /** Resolves once the first worker answers; rejects (startup fails) when it cannot start. */
  async ready(): Promise<void> {
    await this.up;
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<QueryResult<T>> {
    const timeoutMs = this.statementTimeoutMs(this.opts.statementTimeoutMs);
    const r = await this.withSession(() =>
      timed(this.opts.histogram, sql, () => this.send({ id: 0, op: 'query', sql, params }, timeoutMs)),
    );
    return { rows: r.rows as T[], rowCount: r.affectedRows };
  }

  async exec(sql: string): Promise<void> {
    const timeoutMs = this.statementTimeoutMs(this.opts.statementTimeoutMs);
    await this.withSession(() =>
      timed(this.opts.histogram, sql, () => this.send({ id: 0, op: 'exec', sql }, timeoutMs)),
    );
  }

  /**
   * An interactive transaction: the session is held from BEGIN to COMMIT/ROLLBACK, so statements of
   * others wait (bounded) instead of landing inside it. When the worker is restarted meanwhile (one of
   * the transaction's statements ran too long), the transaction is gone and fn's next statement fails.
   */
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.withSession(async () => {
      const generation = this.generation;
      const run = async (req: WorkerRequest) => {
        if (this.generation !== generation)
          throw new DatabaseUnavailableError(
            'the database worker restarted during the transaction, which was rolled back',
          );
        return this.send(req, this.statementTimeoutMs(this.opts.statementTimeoutMs));
      };
      await run({ id: 0, op: 'exec', sql: 'BEGIN' });
      const tx: Queryable = {
        exec: async (sql: string) => {
          await timed(this.opts.histogram, sql, () => run({ id: 0, op: 'exec', sql }));
        },
        query: async <R>(sql: string, params: unknown[] = []) => {
          const r = await timed(this.opts.histogram, sql, () => run({ id: 0, op: 'query', sql, params }));
          return { rows: r.rows as R[], rowCount: r.affectedRows };
        },
      };
      let result: T;
      try {
        result = await fn(tx);
      } catch (err) {
        if (this.generation === generation)
          await run({ id: 0, op: 'exec', sql: 'ROLLBACK' }).catch(() => undefined);
        throw err;
      }
      await run({ id: 0, op: 'exec', sql: 'COMMIT' });
      return result;
    });
  }

  poolStats(): PoolStats {
    const { active: busy, queued } = this.session.stats();
    return { total: 1, max: 1, active: busy, idle: 1 - busy, waiting: queued };
  }

  /** The resident memory of the current worker (bytes), as it last reported it. */
  get workerMemoryBytes(): number {
    return this.rssBytes;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.session.rejectWaiting(new DatabaseUnavailableError('closing'));
    // The statement or transaction holding the session may finish (until closeTimeoutMs); then the
    // worker closes PGlite cleanly, which writes a checkpoint.
    const deadline = Date.now() + (this.opts.closeTimeoutMs ?? 5000);
    while (this.held() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // A worker still starting sees `closing` when it is up and stops itself (start()).
    await within(
      this.up.catch(() => undefined),
      1000,
    );
    const worker = this.worker;
    this.worker = undefined;
    if (worker) this.retiring.add(worker);
    if (worker && !this.held()) await this.stopGracefully(worker);
    else if (worker) await stopWorker(worker);
  }

  // ── the session ──────────────────────────────────────────────────────────

  private async withSession<T>(fn: () => Promise<T>): Promise<T> {
    // A statement with a tighter bound (a search) also waits less for the session.
    const waitMs = Math.min(this.queueTimeoutMs, this.statementTimeoutMs(this.queueTimeoutMs));
    const deadline = Date.now() + waitMs;
    const release = await this.acquire(waitMs);
    try {
      await this.waitUp(waitMs, deadline);
      return await fn();
    } finally {
      // the session passes on to the next key in turn without being free in between
      release();
      if (!this.held()) this.recycleIfLarge();
    }
  }

  private held(): boolean {
    return this.session.stats().active > 0;
  }

  private async acquire(waitMs: number): Promise<Release> {
    if (this.closing) throw new DatabaseUnavailableError('closing');
    try {
      return await this.session.acquire(this.opts.fairnessKey?.() ?? '', { timeoutMs: waitMs });
    } catch (err) {
      if (!(err instanceof PoolWaitTimeoutError)) throw err;
      this.opts.timeouts?.inc({ adapter: 'pglite' });
      throw new DatabaseTimeoutError('pglite', waitMs, 'queue');
    }
  }

  /**
   * Waits for the worker: the first start as long as it takes (startTimeoutMs bounds it; ready() is
   * awaited at startup anyway), a restart only until the statement's wait deadline.
   */
  private async waitUp(waitMs: number, deadline: number): Promise<void> {
    const up = this.up.catch((err: Error) => {
      throw new DatabaseUnavailableError(`the database worker could not start (${err.message})`);
    });
    if (!this.startedOnce) return up;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        up,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            this.opts.timeouts?.inc({ adapter: 'pglite' });
            reject(new DatabaseTimeoutError('pglite', waitMs, 'queue'));
          }, deadline - Date.now());
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  // ── the worker ───────────────────────────────────────────────────────────

  private send(
    req: WorkerRequest,
    timeoutMs: number,
  ): Promise<{ rows: Record<string, unknown>[]; affectedRows: number }> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new DatabaseUnavailableError('no database worker'));
    return this.post(worker, req, timeoutMs).catch((err: unknown) => {
      if (err instanceof StatementTimeout) {
        this.opts.timeouts?.inc({ adapter: 'pglite' });
        this.logger.warn(
          `PGlite statement over ${timeoutMs} ms: terminating the worker and restarting it on the same data`,
        );
        this.restart('timeout');
        throw new DatabaseTimeoutError('pglite', timeoutMs);
      }
      throw err;
    });
  }

  private post(
    worker: ChildProcess,
    req: WorkerRequest,
    timeoutMs: number,
  ): Promise<{ rows: Record<string, unknown>[]; affectedRows: number }> {
    return new Promise((resolve, reject) => {
      const id = ++this.nextId;
      this.inflight = {
        id,
        worker,
        resolve,
        reject,
        timer: setTimeout(() => {
          if (this.inflight?.id !== id) return;
          this.inflight = undefined;
          reject(new StatementTimeout());
        }, timeoutMs),
      };
      const gone = () => {
        if (this.inflight?.id !== id) return;
        clearTimeout(this.inflight.timer);
        this.inflight = undefined;
        reject(new DatabaseUnavailableError('the database worker stopped'));
      };
      if (!worker.connected) return gone();
      worker.send({ ...req, id }, (err) => err && gone());
    });
  }

  private onReply(worker: ChildProcess, reply: WorkerReply): void {
    if (reply.op === 'ready' || reply.op === 'failed') return;
    const inflight = this.inflight;
    if (!inflight || inflight.worker !== worker || inflight.id !== reply.id) return; // timed out already
    this.inflight = undefined;
    clearTimeout(inflight.timer);
    if (reply.op === 'error') {
      inflight.reject(new PgliteError(reply.error.message, reply.error.fields));
      return;
    }
    if (reply.rssBytes) this.rssBytes = reply.rssBytes;
    inflight.resolve(reply);
  }

  /**
   * Starts a worker and resolves when PGlite in it answers. On an empty data dir the first worker runs
   * initdb, which leaves ~300 MB behind in its process: it is closed at once and a fresh one started.
   */
  private async start(): Promise<void> {
    let worker = await this.spawn();
    if (this.lastStart?.initialised && this.opts.dataDir) {
      this.worker = undefined;
      await this.stopGracefully(worker);
      worker = await this.spawn();
    }
    if (this.closing) {
      await this.stopGracefully(worker);
      throw new DatabaseUnavailableError('closing');
    }
    this.worker = worker;
    this.startedOnce = true;
    this.backoffMs = 0;
  }

  private lastStart?: { initialised: boolean };

  private async spawn(): Promise<ChildProcess> {
    if (this.closing) throw new DatabaseUnavailableError('closing');
    const execArgv = await this.workerFlags();
    if (this.closing) throw new DatabaseUnavailableError('closing');
    const worker = fork(WORKER_FILE, [], {
      execArgv,
      serialization: 'advanced', // structured clone: Dates, typed arrays and bigints arrive as they left
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.worker = worker;
    this.pipeOutput(worker);
    // The app may end without close() (a test that forgot it): the worker then sees its channel close
    // and exits; it never keeps the app alive.
    worker.unref();
    worker.channel?.unref();
    for (const stream of [worker.stdout, worker.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
    try {
      await new Promise<void>((resolve, reject) => {
        const startTimeoutMs = this.opts.startTimeoutMs ?? 120_000;
        const timer = setTimeout(
          () => reject(new Error(`PGlite did not start within ${startTimeoutMs} ms`)),
          startTimeoutMs,
        );
        worker.on('message', (m: WorkerReply) => {
          if (m.op === 'ready') {
            clearTimeout(timer);
            this.rssBytes = m.rssBytes;
            this.lastStart = { initialised: m.initialised };
            this.logger.log(
              `PGlite worker ready in ${m.ms} ms (${this.description}${m.initialised ? ', new data dir' : ''})`,
            );
            resolve();
          } else if (m.op === 'failed') {
            clearTimeout(timer);
            reject(new Error(m.error.message));
          } else this.onReply(worker, m);
        });
        worker.on('error', (err: Error) => {
          clearTimeout(timer);
          reject(err);
          this.onWorkerGone(worker, `failed: ${err.message}`);
        });
        worker.on('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`the worker exited (${signal ?? code}) while starting`));
          this.onWorkerGone(worker, `exited (${signal ?? `code ${code}`})`);
        });
        worker.send({ id: 0, op: 'setup', setup: this.setup } satisfies WorkerRequest);
      });
      return worker;
    } catch (err) {
      if (this.worker === worker) this.worker = undefined;
      this.retiring.add(worker);
      await stopWorker(worker);
      if (this.startedOnce && !this.closing) this.retryLater();
      throw err;
    }
  }

  /** The worker died on its own (a WASM abort, out of JS heap, killed): fail what it ran, start another. */
  private onWorkerGone(worker: ChildProcess, why: string): void {
    const inflight = this.inflight;
    if (inflight?.worker === worker) {
      this.inflight = undefined;
      clearTimeout(inflight.timer);
      inflight.reject(new DatabaseUnavailableError('the database worker stopped'));
    }
    if (this.retiring.has(worker) || worker !== this.worker || this.closing) return;
    this.logger.error(`PGlite worker ${why}; restarting it on the same data`);
    this.restart('crash');
  }

  /** Kills the current worker (if any) and starts a new one on the same data dir. */
  private restart(reason: 'timeout' | 'crash' | 'recycle' | 'retry'): void {
    if (this.closing) return;
    const old = this.worker;
    this.worker = undefined;
    this.generation++;
    const inflight = this.inflight;
    this.inflight = undefined;
    if (inflight) {
      clearTimeout(inflight.timer);
      inflight.reject(new DatabaseUnavailableError('the database worker stopped'));
    }
    if (reason !== 'retry') this.opts.restarts?.inc();
    // Only once the old process is gone does the new one open the same files.
    if (old) this.retiring.add(old);
    this.up = (async () => {
      if (old) await stopWorker(old);
      await this.start();
    })();
    this.up.catch((err: Error) => this.logger.error(`PGlite worker could not start: ${err.message}`));
  }

  private retryLater(): void {
    this.backoffMs = Math.min(30_000, Math.max(1000, this.backoffMs * 2));
    setTimeout(() => this.restart('retry'), this.backoffMs).unref();
  }

  /** Closes PGlite in the worker (a checkpoint), then lets the process end; killed if it takes too long. */
  private async stopGracefully(worker: ChildProcess): Promise<void> {
    this.retiring.add(worker);
    try {
      await this.post(worker, { id: 0, op: 'close' }, this.opts.closeTimeoutMs ?? 5000);
      if (worker.connected) worker.disconnect(); // the worker exits when its channel closes
      await within(exited(worker), this.opts.closeTimeoutMs ?? 5000);
    } catch {
      // too slow or gone: killing is safe, the next start replays the WAL
    } finally {
      await stopWorker(worker);
    }
  }

  private workerFlags(): Promise<string[]> {
    this.flags ??= acceptedFlags(pgliteWorkerFlags(this.opts.maxMemoryBytes ?? PGLITE_MAX_MEMORY_BYTES)).then(
      ({ accepted, refused }) => {
        if (refused.length)
          this.logger.warn(
            `This Node does not accept ${refused.join(' ')}: the PGlite worker starts without ${refused.length > 1 ? 'them' : 'it'}`,
          );
        return accepted;
      },
    );
    return this.flags;
  }

  /**
   * A worker whose resident memory grew past the bound is replaced while nobody uses the session. Only one
   * on a data folder: an in-memory database lives in its worker alone, and a new worker would start empty.
   */
  private recycleIfLarge(): void {
    const limit = this.opts.recycleAboveBytes ?? PGLITE_RECYCLE_ABOVE_BYTES;
    const worker = this.worker;
    if (!this.opts.dataDir || !limit || this.rssBytes <= limit || this.closing || !worker) return;
    this.logger.log(
      `PGlite worker grew to ${Math.round(this.rssBytes / MiB)} MiB resident; replacing it to give the memory back`,
    );
    // Hold the session while the old worker checkpoints and stops; statements queue meanwhile.
    let release: Release;
    try {
      release = this.session.tryAcquire('');
    } catch {
      return; // taken in the meantime: the next idle moment recycles it
    }
    this.rssBytes = 0;
    void this.stopGracefully(worker).then(() => {
      this.restart('recycle');
      release();
    });
  }

  /** What PGlite prints (Postgres notices, warnings) goes to the log, not to the app's stdout. */
  private pipeOutput(worker: ChildProcess): void {
    const forward = (stream: NodeJS.ReadableStream | null, level: 'debug' | 'warn') => {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        for (const line of chunk.split('\n'))
          if (line.trim()) this.logger[level](`pglite: ${line.slice(0, 500)}`);
      });
    };
    forward(worker.stdout, 'debug');
    forward(worker.stderr, 'warn');
  }
}

/** Waits for p, at most ms (then resolves anyway); the timer never outlives the wait. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

function exited(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return Promise.resolve();
  // The worker is unref'd (it never keeps the app alive), so while waiting for its end nothing else may
  // hold the event loop: a worker that failed to open the data at startup then let the app's process
  // end in silence with status 0 before the failure was reported. Waited for, it holds the loop again.
  worker.ref();
  return new Promise((resolve) => worker.once('exit', () => resolve()));
}

/** SIGKILL (a statement in WASM does not stop otherwise) and wait until the process is gone. */
async function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
  await exited(worker);
}

/** Marks the statement whose timer fired (internal: the caller gets a DatabaseTimeoutError). */
class StatementTimeout extends Error {}
