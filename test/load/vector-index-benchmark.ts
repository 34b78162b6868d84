/**
 * The vector index's child at 10k and 100k passages (issue 22: memory and time bounded at 100k): the child
 * (apps/api/src/search/embeddings/vector-index.worker.ts) started as VectorIndex starts it, loaded with random
 * unit vectors of 512 dimensions in pages of 2048 as the database would send them, then 30 queries ranked
 * (top 200). Reports the load time, rank p50/p95 and the child's resident memory before and after loading
 * (what EMBEDDINGS_INDEX_MB accounts for). No database: what is measured is the child alone; the end-to-end
 * figures are hybrid-benchmark.ts's. Run from the repository root (Node 24), under the benchmark lock:
 *
 *   flock /tmp/atrium-bench.lock npx node -r @swc-node/register -r tsconfig-paths/register test/load/vector-index-benchmark.ts
 *
 * Writes test/load/reports/vector-index.{md,json}.
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { childCommand } from '@app/extraction';
import type { VectorJob, VectorReply } from '@app/search/embeddings/vector-index.protocol';
import { seededRandom } from '../support/seeded-random';

const ROOT = resolve(__dirname, '..', '..');
const DIMS = 512;
const PAGE = 2048;
const QUERIES = 30;
const SIZES = [10_000, 100_000];

async function main(): Promise<void> {
  const cmd = childCommand(
    join(ROOT, 'apps/api/src/search/embeddings/vector-index.ts'),
    'vector-index.worker',
  );
  const child = fork(cmd.entry, [], {
    execArgv: cmd.execArgv,
    env: { ...cmd.env, PATH: process.env.PATH ?? '' },
    serialization: 'advanced',
  });
  let nextId = 1;
  const waiting = new Map<number, (m: { value: VectorReply; rssBytes: number }) => void>();
  let ready!: () => void;
  const started = new Promise<void>((r) => (ready = r));
  child.on(
    'message',
    (m: { type: string; id: number; ok: boolean; value: VectorReply; rssBytes: number }) => {
      if (m.type === 'ready') ready();
      if (m.type === 'result') waiting.get(m.id)?.(m);
    },
  );
  const run = (job: VectorJob) =>
    new Promise<{ value: VectorReply; rssBytes: number }>((r) => {
      const id = nextId++;
      waiting.set(id, r);
      child.send({ type: 'job', id, job });
    });
  await started;
  const random = seededRandom(11);
  const unit = () => {
    const v = Array.from({ length: DIMS }, () => random() * 2 - 1);
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const results: Array<Record<string, number>> = [];
  const mb = (b: number) => Math.round(b / 1024 / 1024);
  try {
    for (const rows of SIZES) {
      const key = `bench:${rows}`;
      const rssBefore = (await run({ kind: 'end', key: 'none' })).rssBytes;
      const loadStarted = performance.now();
      const begun = await run({
        kind: 'begin',
        key,
        store: `s${rows}`,
        rows,
        dims: DIMS,
        budgetBytes: 512 * 2 ** 20,
      });
      if (begun.value.kind !== 'ok') throw new Error(`refused ${rows}`);
      for (let r = 0; r < rows; r += PAGE) {
        const n = Math.min(PAGE, rows - r);
        const vectors = Buffer.alloc(n * DIMS * 4);
        for (let i = 0; i < n; i++) unit().forEach((x, j) => vectors.writeFloatBE(x, (i * DIMS + j) * 4));
        const documentIds = Array.from(
          { length: n },
          (_, i) => `00000000-0000-0000-0000-${String(Math.floor((r + i) / 100)).padStart(12, '0')}`,
        );
        const chunkIndexes = Array.from({ length: n }, (_, i) => (r + i) % 100);
        await run({ kind: 'append', key, page: { documentIds, chunkIndexes, vectors } });
      }
      const end = await run({ kind: 'end', key });
      const loadMs = performance.now() - loadStarted;
      const times: number[] = [];
      for (let q = 0; q < QUERIES; q++) {
        const query = unit();
        const t = performance.now();
        const reply = await run({ kind: 'rank', key, query, limit: 200 });
        if (reply.value.kind !== 'hits') throw new Error(reply.value.kind);
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      const row = {
        passages: rows,
        loadMs: Math.round(loadMs),
        rankP50Ms: Math.round(times[Math.floor(QUERIES / 2)] * 10) / 10,
        rankP95Ms: Math.round(times[Math.ceil(QUERIES * 0.95) - 1] * 10) / 10,
        heldMb: begun.value.kind === 'ok' ? mb(end.value.kind === 'ok' ? end.value.bytes : 0) : 0,
        rssBeforeMb: mb(rssBefore),
        rssAfterMb: mb(end.rssBytes),
      };
      console.log(row);
      results.push(row);
    }
  } finally {
    child.kill();
  }
  const out = { dims: DIMS, queries: QUERIES, loadAverage: loadavg(), node: process.version, results };
  writeFileSync(join(ROOT, 'test/load/reports/vector-index.json'), JSON.stringify(out, null, 2) + '\n');
  writeFileSync(
    join(ROOT, 'test/load/reports/vector-index.md'),
    [
      '# The vector index child at 10k and 100k passages (issue 22)',
      '',
      `Machine-made by \`test/load/vector-index-benchmark.ts\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' / ')} (two shared CPUs).`,
      `Random unit vectors of ${DIMS} dimensions sent in pages of ${PAGE} (float32, as the database sends them), held as int8;`,
      `${QUERIES} queries ranked per size (top 200), one at a time, timed from the parent (IPC included). The second store`,
      'is loaded beside the first (both held: the budget of this run is 512 MB), so its RSS includes the first.',
      '',
      '| passages | load ms | rank p50 ms | rank p95 ms | vectors held MB | child RSS before MB | child RSS after MB |',
      '|---:|---:|---:|---:|---:|---:|---:|',
      ...results.map(
        (r) =>
          `| ${r.passages} | ${r.loadMs} | ${r.rankP50Ms} | ${r.rankP95Ms} | ${r.heldMb} | ${r.rssBeforeMb} | ${r.rssAfterMb} |`,
      ),
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
