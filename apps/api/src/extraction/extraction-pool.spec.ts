import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ExtractionPool,
  ExtractionPoolOptions,
  JobFailedError,
  KillReason,
  PoolBusyError,
  PoolClosedError,
  WorkerKilledError,
} from './extraction-pool';

// A stand-in child speaking the worker protocol, with jobs that misbehave on purpose (plain JS: no loader).
const ENTRY = join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'extraction', 'pool-worker.js');

const pools: ExtractionPool[] = [];
function pool(over: Partial<ExtractionPoolOptions> = {}): { sut: ExtractionPool; kills: KillReason[] } {
  const kills: KillReason[] = [];
  const sut = new ExtractionPool({
    entry: ENTRY,
    size: 1,
    heapMb: 64,
    rssMb: 256,
    // generous: on a busy machine a child takes a while to start; limits under test are set per case
    timeoutMs: 30000,
    cpuMs: 30000,
    queueMax: 10,
    idleMs: 60000,
    onKill: (reason) => kills.push(reason),
    ...over,
  });
  pools.push(sut);
  return { sut, kills };
}

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

type Echo = { value: unknown; pid: number; rss: number };

/** Lets granted slots reach their children (a grant is handed over in a promise callback). */
const tick = () => new Promise<void>((r) => setImmediate(r));
type Held = { held: number; pid: number };

describe('ExtractionPool (real child processes)', () => {
  it('runs jobs in a child and reuses it; a parser error fails only its job', async () => {
    const { sut, kills } = pool();
    const a = await sut.run<Echo>({ kind: 'echo', value: 'one' });
    await expect(sut.run({ kind: 'fail', message: 'bad xref' })).rejects.toEqual(
      new JobFailedError({ name: 'ParserError', message: 'bad xref', reason: 'because' }),
    );
    const b = await sut.run<Echo>({ kind: 'echo', value: Buffer.from('two') });
    expect(a.value).toBe('one');
    expect(Buffer.from(b.value as Uint8Array).toString()).toBe('two'); // bytes travel as bytes
    expect(b.pid).toBe(a.pid);
    expect(a.pid).not.toBe(process.pid);
    expect(kills).toEqual([]);
    expect(sut.stats()).toMatchObject({ busy: 0, idle: 1, queued: 0 });
    // niceness 10 (field 19 of /proc/<pid>/stat): the API process wins any CPU contention
    const stat = readFileSync(`/proc/${a.pid}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])).toBe(10);
  });

  it('queues beyond the pool size, refuses beyond the queue limit, runs the queue in order', async () => {
    const { sut } = pool({ size: 1, queueMax: 2 });
    const order: string[] = [];
    const first = sut.run({ kind: 'sleep', ms: 300 }).then(() => order.push('first'));
    const second = sut.run({ kind: 'echo', value: 'second' }).then(() => order.push('second'));
    const third = sut.run({ kind: 'echo', value: 'third' }).then(() => order.push('third'));
    await tick();
    expect(sut.stats()).toMatchObject({ busy: 1, queued: 2 });
    await expect(sut.run({ kind: 'echo', value: 'fourth' })).rejects.toBeInstanceOf(PoolBusyError);
    // a caller that bounds its own concurrency (batch jobs) may queue past the limit
    const fifth = sut.run({ kind: 'echo', value: 'fifth' }, { wait: true }).then(() => order.push('fifth'));
    await Promise.all([first, second, third, fifth]);
    expect(order).toEqual(['first', 'second', 'third', 'fifth']);
    expect(sut.stats()).toMatchObject({ busy: 0, queued: 0 });
  });

  it("shares the children fairly: a tenant's heavy jobs hold at most its share, another tenant's job runs at once", async () => {
    const { sut } = pool({ size: 2, queueMax: 4, tenantShare: 0.5 });
    await Promise.all([sut.run({ kind: 'echo', value: 'warm' }), sut.run({ kind: 'echo', value: 'up' })]);
    const order: string[] = [];
    const heavy = [1, 2, 3].map((i) =>
      sut.run({ kind: 'sleep', ms: 1500 }, { tenant: 'a' }).then(() => order.push(`a${i}`)),
    );
    await tick();
    // a holds one child (its share) and two of the four waiting places (its share of the queue)
    expect(sut.stats()).toMatchObject({ busy: 1, queued: 2 });
    await expect(sut.run({ kind: 'echo', value: 'a4' }, { tenant: 'a' })).rejects.toBeInstanceOf(
      PoolBusyError,
    );
    const quiet = await sut.run<Echo>({ kind: 'echo', value: 'b' }, { tenant: 'b' });
    order.push('b');
    expect(quiet.value).toBe('b');
    await Promise.all(heavy);
    expect(order).toEqual(['b', 'a1', 'a2', 'a3']);
  });

  it('gives up on a job that waited the wall-clock limit for a child (busy), without touching the running ones', async () => {
    const { sut, kills } = pool({ size: 1, timeoutMs: 3000 });
    await sut.run({ kind: 'echo', value: 'warm' }); // the child is up: its start-up does not count below
    // two jobs of 2 s ahead of it: the third waits past the 3 s limit and is refused; the others finish
    const first = sut.run({ kind: 'sleep', ms: 2000 });
    const second = sut.run({ kind: 'sleep', ms: 2000 });
    const third = sut.run({ kind: 'echo', value: 'late' });
    await expect(third).rejects.toBeInstanceOf(PoolBusyError);
    await expect(Promise.all([first, second])).resolves.toMatchObject([{ slept: 2000 }, { slept: 2000 }]);
    expect(kills).toEqual([]);
  });

  it('kills a child past the wall-clock limit (timeout) and replaces it for the next job', async () => {
    const { sut, kills } = pool({ timeoutMs: 1500 });
    const before = await sut.run<Echo>({ kind: 'echo', value: 1 });
    await expect(sut.run({ kind: 'sleep', ms: 60000 })).rejects.toEqual(new WorkerKilledError('timeout'));
    const after = await sut.run<Echo>({ kind: 'echo', value: 2 });
    expect(after.pid).not.toBe(before.pid);
    expect(kills).toEqual(['timeout']);
    expect(sut.stats().killed).toMatchObject({ timeout: 1, memory: 0, cpu: 0, crash: 0 });
  });

  it('kills a child past the CPU-time limit (cpu)', async () => {
    const { sut, kills } = pool({ cpuMs: 300 });
    await expect(sut.run({ kind: 'spin', ms: 60000 })).rejects.toEqual(new WorkerKilledError('cpu'));
    expect(kills).toEqual(['cpu']);
    await expect(sut.run<Echo>({ kind: 'echo', value: 'next' })).resolves.toMatchObject({ value: 'next' });
  });

  it('kills a child whose RSS passes the limit with memory outside the V8 heap (memory)', async () => {
    const { sut, kills } = pool({ rssMb: 160 });
    await expect(sut.run({ kind: 'rss', mb: 400, holdMs: 60000 })).rejects.toEqual(
      new WorkerKilledError('memory'),
    );
    expect(kills).toEqual(['memory']);
    await expect(sut.run<Echo>({ kind: 'echo', value: 'next' })).resolves.toMatchObject({ value: 'next' });
  });

  it('retires a child a job left past the recycle threshold: a job heavy only on top of it gets a fresh child', async () => {
    // the stand-in keeps what a job allocated (as V8 and the allocator keep a heap grown over a large
    // document); each job is too quick for the pool's own RSS reading: the child reports it with the result
    const { sut, kills } = pool({ rssMb: 240, recycleRssMb: 100 });
    const grown = await sut.run<Held>({ kind: 'rss', mb: 140, holdMs: 0 });
    // 140 MiB more pass the 240 MiB limit only in the grown child
    const second = await sut.run<Held>({ kind: 'rss', mb: 140, holdMs: 300 });
    expect(second.pid).not.toBe(grown.pid);
    expect(second.held).toBe(140); // a fresh child's count
    const third = await sut.run<Echo>({ kind: 'echo', value: 'third' });
    const fourth = await sut.run<Echo>({ kind: 'echo', value: 'fourth' });
    expect(third.pid).not.toBe(second.pid);
    expect(fourth.pid).toBe(third.pid); // a child under the threshold is kept
    expect(kills).toEqual([]);
  });

  it("by default recycles halfway from the child's own start-up RSS to the limit, so a small limit still reuses children", async () => {
    // 72 MiB: half of it is below a bare child's RSS (~45 MiB here), which would retire every child after
    // one job; halfway from its start-up RSS keeps an unchanged child
    const { sut, kills } = pool({ rssMb: 72, heapMb: 32 });
    const a = await sut.run<Echo>({ kind: 'echo', value: 1 });
    const b = await sut.run<Echo>({ kind: 'echo', value: 2 });
    expect(b.pid).toBe(a.pid);
    // kept: 4 MiB past the halfway mark, still under the limit (so the RSS watch never kills it) — retired
    const headroomMb = 72 - a.rss / (1024 * 1024);
    const grown = await sut.run<Held>({ kind: 'rss', mb: Math.ceil(headroomMb / 2) + 4, holdMs: 0 });
    const c = await sut.run<Echo>({ kind: 'echo', value: 3 });
    expect(grown.pid).toBe(a.pid);
    expect(c.pid).not.toBe(a.pid);
    expect(kills).toEqual([]);
  });

  it('recognises a child aborted by its own heap limit (memory), and the parent lives on', async () => {
    const { sut, kills } = pool({ heapMb: 48, rssMb: 4096 });
    await expect(sut.run({ kind: 'heap' })).rejects.toEqual(new WorkerKilledError('memory'));
    expect(kills).toEqual(['memory']);
    await expect(sut.run<Echo>({ kind: 'echo', value: 'next' })).resolves.toMatchObject({ value: 'next' });
  });

  it('a child that exits, or is SIGKILLed from outside, mid-job is a crash; the next job gets a new child', async () => {
    const { sut, kills } = pool();
    await expect(sut.run({ kind: 'exit', code: 3 })).rejects.toEqual(new WorkerKilledError('crash'));
    const running = sut.run({ kind: 'sleep', ms: 60000 });
    // wait until the job is in a live child, then kill that child as an operator (or the OOM killer) would
    await new Promise((r) => setTimeout(r, 200));
    const [pid] = sut.pids();
    process.kill(pid, 'SIGKILL');
    await expect(running).rejects.toEqual(new WorkerKilledError('crash'));
    const next = await sut.run<Echo>({ kind: 'echo', value: 'next' });
    expect(next.pid).not.toBe(pid);
    expect(kills).toEqual(['crash', 'crash']);
  });

  it('a dead child fails only its own job: the queued ones run in a replacement', async () => {
    const { sut, kills } = pool({ queueMax: 5 });
    const doomed = sut.run({ kind: 'exit', code: 1 });
    const queued = [sut.run<Echo>({ kind: 'echo', value: 'a' }), sut.run<Echo>({ kind: 'echo', value: 'b' })];
    await tick();
    expect(sut.stats()).toMatchObject({ busy: 1, queued: 2 });
    await expect(doomed).rejects.toBeInstanceOf(WorkerKilledError);
    await expect(Promise.all(queued)).resolves.toMatchObject([{ value: 'a' }, { value: 'b' }]);
    expect(kills).toEqual(['crash']);
  });

  it('retires idle children and children past their job count without counting a kill', async () => {
    const { sut, kills } = pool({ idleMs: 1000, maxJobsPerWorker: 2 });
    const a = await sut.run<Echo>({ kind: 'echo', value: 1 });
    const b = await sut.run<Echo>({ kind: 'echo', value: 2 });
    const c = await sut.run<Echo>({ kind: 'echo', value: 3 });
    expect(b.pid).toBe(a.pid);
    expect(c.pid).not.toBe(a.pid);
    for (let i = 0; i < 100 && sut.pids().length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(sut.pids()).toEqual([]);
    expect(sut.stats()).toMatchObject({ busy: 0, idle: 0 });
    expect(kills).toEqual([]);
  });

  it('close fails waiting and running jobs and refuses new ones', async () => {
    const { sut } = pool({ queueMax: 5 });
    const running = expect(sut.run({ kind: 'sleep', ms: 60000 })).rejects.toBeInstanceOf(PoolClosedError);
    const waiting = expect(sut.run({ kind: 'echo', value: 1 })).rejects.toBeInstanceOf(PoolClosedError);
    await sut.close();
    await running;
    await waiting;
    await expect(sut.run({ kind: 'echo', value: 2 })).rejects.toBeInstanceOf(PoolClosedError);
    expect(sut.pids()).toEqual([]);
  });
});
