import { ChildProcess, spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { FairPool, PoolRefusedError, PoolWaitTimeoutError, Release, tenantShare } from '@libs/scheduling';
import { processUsage } from './process-usage';
import type { ChildMessage, JobError } from './worker/protocol';

export type KillReason = 'memory' | 'timeout' | 'cpu' | 'crash';
export const KILL_REASONS: readonly KillReason[] = ['memory', 'timeout', 'cpu', 'crash'];

const MiB = 1024 * 1024;
/** How much of a dead child's stderr is kept: enough for V8's fatal-error banner. */
const STDERR_TAIL = 8192;
/**
 * Niceness of a parser child: under CPU contention the API process (nice 0) is scheduled first, so a
 * child parsing a bomb on every core cannot delay an answer, /health/live included.
 */
const CHILD_NICENESS = 10;
/** V8's last words when the old space is full (the --max-old-space-size limit). */
const HEAP_EXHAUSTED =
  /heap out of memory|Reached heap limit|Ineffective mark-compacts near heap limit|OOMErrorHandler|Allocation failed/i;

export interface ExtractionPoolOptions {
  /** The child's script (.js when compiled; .ts under a TypeScript loader given in execArgv). */
  entry: string;
  /** Node flags before the script (e.g. a TypeScript loader); the heap limit is added by the pool. */
  execArgv?: string[];
  /**
   * The script's arguments, read at each spawn (the extraction service passes the handler modules features
   * registered, which are all known once the application has started, before any job).
   */
  args?: () => readonly string[];
  /** The child's whole environment: nothing of the parent's (NODE_OPTIONS, secrets) leaks in. */
  env?: Record<string, string>;
  cwd?: string;
  /** Child processes at most. */
  size: number;
  /** --max-old-space-size of each child. */
  heapMb: number;
  /** Resident memory a child may reach (heap + buffers + WASM) before it is killed. */
  rssMb: number;
  /** Wall-clock time per job, from the moment a child takes it. */
  timeoutMs: number;
  /** CPU time (user + system) per job. */
  cpuMs: number;
  /** Jobs waiting for a child; one more is refused with PoolBusyError, and so is one that waited timeoutMs. */
  queueMax: number;
  /**
   * The share of the children and of the waiting room one tenant may hold (POOL_TENANT_SHARE; default 1):
   * children go to tenants in turn (FairPool), so one tenant's heavy documents cannot hold every child.
   */
  tenantShare?: number;
  /** An idle child exits after this long (started again on demand). */
  idleMs: number;
  /** A child is retired after this many jobs, so fragmentation or a leak in a parser cannot accumulate. */
  maxJobsPerWorker?: number;
  /**
   * A child that reports more resident memory than this after a job is retired instead of taking the next
   * one (default: halfway from the child's RSS at start-up to rssMb). V8 and the allocator keep what a large
   * document made a child grow, and an ordinary file must not be refused 'memory' because the child it
   * landed on had grown over earlier ones.
   */
  recycleRssMb?: number;
  /** How often a busy child's RSS and CPU time are read. */
  watchIntervalMs?: number;
  /** Every child death the pool did not ask for, with the reason it is counted under. */
  onKill?: (reason: KillReason, info: { pid?: number; stderr: string }) => void;
}

export interface ExtractionPoolStats {
  size: number;
  busy: number;
  idle: number;
  starting: number;
  queued: number;
  killed: Record<KillReason, number>;
}

/** The child running the job died or was killed: the job's input is what made it (or its neighbour) fail. */
export class WorkerKilledError extends Error {
  constructor(readonly reason: KillReason) {
    super(
      {
        memory: 'the parser exceeded its memory limit',
        timeout: 'the parser exceeded its time limit',
        cpu: 'the parser exceeded its CPU time limit',
        crash: 'the parser process ended unexpectedly',
      }[reason],
    );
    this.name = 'WorkerKilledError';
  }
}

/** The child caught an error of the job (parser error, document limit) and answered with it. */
export class JobFailedError extends Error {
  constructor(readonly error: JobError) {
    super(error.message);
    this.name = 'JobFailedError';
  }
}

export class PoolBusyError extends Error {
  constructor(readonly queueMax: number) {
    super(`All extraction workers are busy and ${queueMax} jobs are waiting`);
    this.name = 'PoolBusyError';
  }
}

export class PoolClosedError extends Error {
  constructor() {
    super('The extraction pool is shutting down');
    this.name = 'PoolClosedError';
  }
}

interface Job {
  id: number;
  payload: unknown;
  /** Its slot of the pool (one child's worth), given back when the job is settled. */
  release: Release;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

interface Worker {
  child: ChildProcess;
  ready: boolean;
  jobs: number;
  job?: Job;
  timer?: NodeJS.Timeout;
  watch?: NodeJS.Timeout;
  idleTimer?: NodeJS.Timeout;
  cpuAtStart?: number;
  /** RSS the child reported when ready (its code loaded, no job yet). */
  baseRss?: number;
  /** Set when the pool kills it for a limit: the reason it is counted under. */
  killReason?: KillReason;
  /** Set when the pool retires it (idle, job count, shutdown): its exit is not a kill. */
  retiring: boolean;
  gone: boolean;
  stderr: string;
}

/**
 * A pool of child processes for parsers that read hostile input (PDF, docx, large HTML). Each child has
 * its own V8 heap limit (--max-old-space-size), and while it runs a job the pool enforces a wall-clock
 * limit and watches its RSS (typed arrays and WASM live outside the V8 heap) and CPU time, killing it
 * (SIGKILL) at the first limit passed. A child's death — OOM abort, kill, crash — fails only the job it
 * was running; the next job gets a fresh child. Children start on demand and exit when idle, after
 * maxJobsPerWorker jobs, or after a job that left them grown past recycleRssMb, so an idle service carries
 * none of the parsers' memory and a job starts with its headroom.
 */
export class ExtractionPool {
  private readonly workers = new Set<Worker>();
  private readonly killed: Record<KillReason, number> = { memory: 0, timeout: 0, cpu: 0, crash: 0 };
  /** One slot per child: who runs next, fairly between tenants, and how many may wait (FairPool). */
  readonly slots: FairPool;
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: ExtractionPoolOptions) {
    const share = opts.tenantShare ?? 1;
    this.slots = new FairPool({
      name: 'extraction',
      limit: opts.size,
      tenantLimit: tenantShare(opts.size, share),
      queueMax: opts.queueMax,
      tenantQueueMax: tenantShare(opts.queueMax, share),
    });
  }

  /**
   * Runs one job in a child; rejects with WorkerKilledError, JobFailedError, PoolBusyError or
   * PoolClosedError. `tenant`: whose share of the children the job takes (an opaque key; default one
   * shared key). `wait`: queue even past queueMax (callers whose own concurrency is bounded). A job waits
   * at most timeoutMs for a child, then fails with PoolBusyError.
   */
  run<T>(payload: unknown, opts: { wait?: boolean; tenant?: string } = {}): Promise<T> {
    if (this.closed) return Promise.reject(new PoolClosedError());
    return this.slots
      .acquire(opts.tenant ?? '', { timeoutMs: this.opts.timeoutMs, unbounded: opts.wait })
      .then(
        (release) =>
          new Promise<T>((resolve, reject) => {
            if (this.closed) {
              release();
              return reject(new PoolClosedError());
            }
            const job: Job = {
              id: this.nextId++,
              payload,
              release,
              resolve: resolve as (v: unknown) => void,
              reject,
            };
            // a slot means a child is idle or may be started: slots and live children are both `size`
            const idle = [...this.workers].find((w) => w.ready && !w.job && this.isLive(w));
            this.assign(idle ?? this.spawn(), job);
          }),
        (err: unknown) => {
          if (err instanceof PoolRefusedError || err instanceof PoolWaitTimeoutError)
            throw new PoolBusyError(this.opts.queueMax);
          throw err;
        },
      );
  }

  stats(): ExtractionPoolStats {
    let busy = 0;
    let idle = 0;
    let starting = 0;
    for (const w of this.workers) {
      if (!this.isLive(w)) continue; // killed or retired, only its exit is pending
      if (w.job) busy++;
      else if (w.ready) idle++;
      else starting++;
    }
    return {
      size: this.opts.size,
      busy,
      idle,
      starting,
      queued: this.slots.stats().queued,
      killed: { ...this.killed },
    };
  }

  /** Process ids of the live children (tests and diagnostics). */
  pids(): number[] {
    return [...this.workers].filter((w) => !w.gone && w.child.pid).map((w) => w.child.pid as number);
  }

  /** Refuses new jobs, fails the waiting and running ones, and kills every child. */
  async close(): Promise<void> {
    this.closed = true;
    this.slots.rejectWaiting(new PoolClosedError());
    const exits: Promise<void>[] = [];
    for (const w of this.workers) {
      if (w.gone) continue;
      w.retiring = true;
      exits.push(new Promise((r) => w.child.once('close', () => r())));
      this.settle(w, new PoolClosedError());
      w.child.kill('SIGKILL');
    }
    await Promise.all(exits);
  }

  private spawn(): Worker {
    const child = spawn(
      process.execPath,
      [
        ...(this.opts.execArgv ?? []),
        `--max-old-space-size=${this.opts.heapMb}`,
        // one thread for the garbage collector: a heap thrashing near its limit keeps to one core
        '--single-threaded-gc',
        this.opts.entry,
        ...(this.opts.args?.() ?? []),
      ],
      {
        cwd: this.opts.cwd,
        env: this.opts.env ?? {},
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        serialization: 'advanced',
      },
    );
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, CHILD_NICENESS);
      } catch {
        // not permitted here (some sandboxes): the child runs at the parent's priority
      }
    }
    const worker: Worker = { child, ready: false, jobs: 0, retiring: false, gone: false, stderr: '' };
    this.workers.add(worker);
    child.stderr?.on('data', (d: Buffer) => {
      worker.stderr = (worker.stderr + d.toString('utf8')).slice(-STDERR_TAIL);
    });
    child.on('message', (m: ChildMessage) => this.onMessage(worker, m));
    // Spawn failures and IPC write errors land here; the exit (or its absence) is handled by gone().
    child.on('error', () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) this.gone(worker);
      else this.kill(worker, 'crash');
    });
    // 'close', not 'exit': by then stderr is fully read, so V8's out-of-memory banner can be recognised.
    child.on('close', () => this.gone(worker));
    // Neither the process nor its channel keeps the parent's event loop alive; a running job's timer does.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    return worker;
  }

  private assign(worker: Worker, job: Job): void {
    clearTimeout(worker.idleTimer);
    worker.job = job;
    worker.cpuAtStart = undefined;
    worker.timer = setTimeout(() => this.kill(worker, 'timeout'), this.opts.timeoutMs);
    const pid = worker.child.pid;
    if (pid !== undefined) {
      let reading = false;
      void processUsage(pid).then((u) => {
        if (worker.job === job) worker.cpuAtStart = u?.cpuMs;
      });
      worker.watch = setInterval(() => {
        if (reading) return;
        reading = true;
        void processUsage(pid).then((u) => {
          reading = false;
          if (!u || worker.job !== job) return;
          if (u.rssBytes > this.opts.rssMb * MiB) this.kill(worker, 'memory');
          else if (worker.cpuAtStart !== undefined && u.cpuMs - worker.cpuAtStart > this.opts.cpuMs)
            this.kill(worker, 'cpu');
        });
      }, this.opts.watchIntervalMs ?? 100);
      worker.watch.unref();
    }
    if (worker.ready) this.send(worker, job);
  }

  private send(worker: Worker, job: Job): void {
    worker.child.send({ type: 'job', id: job.id, job: job.payload }, (err) => {
      // The channel is gone (the child died mid-transfer): its exit fails the job.
      if (err) this.kill(worker, 'crash');
    });
  }

  private onMessage(worker: Worker, m: ChildMessage): void {
    if (m.type === 'ready') {
      worker.ready = true;
      worker.baseRss = m.rssBytes;
      if (worker.job) this.send(worker, worker.job);
      return;
    }
    if (m.type !== 'result' || !worker.job || worker.job.id !== m.id) return;
    const job = worker.job;
    this.stopWatching(worker);
    worker.job = undefined;
    worker.jobs++;
    if (m.ok) job.resolve(m.value);
    else job.reject(new JobFailedError(m.error));
    if (worker.jobs >= (this.opts.maxJobsPerWorker ?? 200) || (m.rssBytes ?? 0) > this.recycleBytes(worker))
      this.retire(worker);
    else this.idle(worker);
    // the slot goes to the next tenant in turn, who takes this child (or starts one if it was retired)
    job.release();
  }

  /** Past this RSS after a job, a child is retired: by default halfway from its start-up RSS to the limit. */
  private recycleBytes(worker: Worker): number {
    if (this.opts.recycleRssMb !== undefined) return this.opts.recycleRssMb * MiB;
    const limit = this.opts.rssMb * MiB;
    const base = Math.min(worker.baseRss ?? 0, limit);
    return base + (limit - base) / 2;
  }

  /** Starts an idle child's countdown (cleared when a job is assigned to it). */
  private idle(worker: Worker): void {
    worker.idleTimer = setTimeout(() => this.retire(worker), this.opts.idleMs);
    worker.idleTimer.unref();
  }

  /** Children counted against the pool size: not gone, not on their way out. */
  private live(): number {
    let n = 0;
    for (const w of this.workers) if (this.isLive(w)) n++;
    return n;
  }

  private isLive(w: Worker): boolean {
    return !w.gone && !w.retiring && !w.killReason;
  }

  private retire(worker: Worker): void {
    if (worker.gone || worker.job) return;
    worker.retiring = true;
    worker.child.kill('SIGKILL');
  }

  private kill(worker: Worker, reason: KillReason): void {
    if (worker.gone || worker.killReason || worker.retiring) return;
    worker.killReason = reason;
    worker.child.kill('SIGKILL');
    // Counted and answered at once; its slot goes on, and a dying child no longer counts against the size.
    this.count(worker, reason);
    this.settle(worker, new WorkerKilledError(reason));
  }

  private count(worker: Worker, reason: KillReason): void {
    this.killed[reason]++;
    this.opts.onKill?.(reason, { pid: worker.child.pid, stderr: worker.stderr });
  }

  private settle(worker: Worker, err: Error): void {
    this.stopWatching(worker);
    const job = worker.job;
    worker.job = undefined;
    job?.reject(err);
    job?.release();
  }

  private stopWatching(worker: Worker): void {
    clearTimeout(worker.timer);
    clearInterval(worker.watch);
  }

  private gone(worker: Worker): void {
    if (worker.gone) return;
    worker.gone = true;
    clearTimeout(worker.idleTimer);
    this.workers.delete(worker);
    // A death the pool did not cause: V8's own heap limit (its banner on stderr), or anything else.
    if (!worker.retiring && !worker.killReason) {
      const reason = HEAP_EXHAUSTED.test(worker.stderr) ? 'memory' : 'crash';
      this.count(worker, reason);
      this.settle(worker, new WorkerKilledError(reason));
    }
  }
}
