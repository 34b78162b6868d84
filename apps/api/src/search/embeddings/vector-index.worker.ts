// Entry point of the vector index's child process (started by VectorIndex through an ExtractionPool of its
// own: heap, RSS, wall-clock and CPU limits). It keeps the passage vectors of recently searched stores in
// memory — int8 with one scale per vector (a quarter of float32), at most `budgetBytes` in all, least recently
// used store dropped first — and ranks a query against one of them by dot product (the vectors have unit
// length: the cosine). The API's event loop never does this arithmetic; the database sends the vectors once
// per store version (or per page when a store is larger than the budget: `scan`).
import { serveJobs } from '../../extraction/child';
import type { VectorJob, VectorHit, VectorPage, VectorReply } from './vector-index.protocol';

interface StoreVectors {
  dims: number;
  rows: number;
  /** rows × dims int8 components */
  codes: Int8Array;
  /** per row: the float that a code of 1 stands for */
  scales: Float32Array;
  /** per row: index into `documents` */
  documentOf: Uint32Array;
  chunkOf: Uint32Array;
  documents: string[];
  bytes: number;
}

/** Loaded stores by key, in order of use (a Map iterates in insertion order: the first is the oldest). */
const loaded = new Map<string, StoreVectors>();
/** Stores being sent page by page (`begin` … `append` … `end`). */
const loading = new Map<string, StoreVectors & { filled: number; documentIndex: Map<string, number> }>();

function bytesOf(rows: number, dims: number): number {
  return rows * dims + rows * 12 + 64;
}

function usedBytes(): number {
  let n = 0;
  for (const s of loaded.values()) n += s.bytes;
  for (const s of loading.values()) n += s.bytes;
  return n;
}

/** Float32 big-endian components (PostgreSQL's float4send), `dims` per row, into int8 codes and scales. */
function quantise(
  page: VectorPage,
  into: StoreVectors & { filled: number; documentIndex: Map<string, number> },
) {
  const { dims } = into;
  const view = new DataView(page.vectors.buffer, page.vectors.byteOffset, page.vectors.byteLength);
  if (page.vectors.byteLength !== page.documentIds.length * dims * 4)
    throw new Error('a page of the wrong size');
  if (into.filled + page.documentIds.length > into.rows) throw new Error('more rows than announced');
  const row = new Float32Array(dims);
  for (let r = 0; r < page.documentIds.length; r++) {
    let max = 0;
    for (let i = 0; i < dims; i++) {
      const v = view.getFloat32((r * dims + i) * 4, false);
      row[i] = v;
      const a = Math.abs(v);
      if (a > max) max = a;
    }
    const at = into.filled++;
    const scale = max / 127 || 1;
    const base = at * dims;
    for (let i = 0; i < dims; i++) into.codes[base + i] = Math.round(row[i] / scale);
    into.scales[at] = scale;
    const id = page.documentIds[r];
    let d = into.documentIndex.get(id);
    if (d === undefined) {
      d = into.documents.push(id) - 1;
      into.documentIndex.set(id, d);
    }
    into.documentOf[at] = d;
    into.chunkOf[at] = page.chunkIndexes[r];
  }
}

function allocate(rows: number, dims: number) {
  return {
    dims,
    rows,
    codes: new Int8Array(rows * dims),
    scales: new Float32Array(rows),
    documentOf: new Uint32Array(rows),
    chunkOf: new Uint32Array(rows),
    documents: [] as string[],
    bytes: bytesOf(rows, dims),
    filled: 0,
    documentIndex: new Map<string, number>(),
  };
}

/** The `limit` best rows (a min-heap on similarity; ties: document id, then chunk, ascending). */
function topRows(
  s: StoreVectors,
  query: Float64Array,
  limit: number,
  allowed: (documentIndex: number) => boolean,
): VectorHit[] {
  const heapRow: number[] = [];
  const heapSim: number[] = [];
  // a is worse than b
  const worse = (ra: number, sa: number, rb: number, sb: number) => {
    if (sa !== sb) return sa < sb;
    const da = s.documents[s.documentOf[ra]];
    const db = s.documents[s.documentOf[rb]];
    if (da !== db) return da > db;
    return s.chunkOf[ra] > s.chunkOf[rb];
  };
  const swap = (i: number, j: number) => {
    [heapRow[i], heapRow[j]] = [heapRow[j], heapRow[i]];
    [heapSim[i], heapSim[j]] = [heapSim[j], heapSim[i]];
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heapRow.length && worse(heapRow[l], heapSim[l], heapRow[m], heapSim[m])) m = l;
      if (r < heapRow.length && worse(heapRow[r], heapSim[r], heapRow[m], heapSim[m])) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  const { dims, codes } = s;
  for (let row = 0; row < s.rows; row++) {
    if (!allowed(s.documentOf[row])) continue;
    const base = row * dims;
    let dot = 0;
    for (let i = 0; i < dims; i++) dot += codes[base + i] * query[i];
    const sim = dot * s.scales[row];
    if (heapRow.length < limit) {
      heapRow.push(row);
      heapSim.push(sim);
      for (let i = heapRow.length - 1; i > 0;) {
        const p = (i - 1) >> 1;
        if (!worse(heapRow[i], heapSim[i], heapRow[p], heapSim[p])) break;
        swap(i, p);
        i = p;
      }
    } else if (limit > 0 && worse(heapRow[0], heapSim[0], row, sim)) {
      heapRow[0] = row;
      heapSim[0] = sim;
      down(0);
    }
  }
  const order = heapRow.map((row, i) => ({ row, sim: heapSim[i] }));
  order.sort((a, b) => (worse(a.row, a.sim, b.row, b.sim) ? 1 : worse(b.row, b.sim, a.row, a.sim) ? -1 : 0));
  return order.map(({ row, sim }) => ({
    documentId: s.documents[s.documentOf[row]],
    chunkIndex: s.chunkOf[row],
    similarity: sim,
  }));
}

function filterOf(s: StoreVectors, job: { only?: string[] | null; exclude?: string[] }) {
  if (!job.only && !job.exclude?.length) return () => true;
  const only = job.only ? new Set(job.only) : undefined;
  const exclude = new Set(job.exclude ?? []);
  const ok = s.documents.map((id) => (!only || only.has(id)) && !exclude.has(id));
  return (d: number) => ok[d];
}

function run(job: VectorJob): VectorReply {
  switch (job?.kind) {
    case 'rank': {
      const s = loaded.get(job.key);
      if (!s || s.dims !== job.query.length) return { kind: 'missing' };
      loaded.delete(job.key); // most recently used last
      loaded.set(job.key, s);
      return { kind: 'hits', hits: topRows(s, Float64Array.from(job.query), job.limit, filterOf(s, job)) };
    }
    case 'begin': {
      const bytes = bytesOf(job.rows, job.dims);
      if (bytes > job.budgetBytes) return { kind: 'refused', bytes };
      // one version per store: the older ones are never asked for again
      for (const key of [...loaded.keys(), ...loading.keys()])
        if (key.startsWith(`${job.store}:`)) {
          loaded.delete(key);
          loading.delete(key);
        }
      for (const key of loaded.keys()) {
        if (usedBytes() + bytes <= job.budgetBytes) break;
        loaded.delete(key);
      }
      if (usedBytes() + bytes > job.budgetBytes) return { kind: 'refused', bytes };
      loading.set(job.key, allocate(job.rows, job.dims));
      return { kind: 'ok', bytes: usedBytes() };
    }
    case 'append': {
      const s = loading.get(job.key);
      if (!s) return { kind: 'missing' };
      quantise(job.page, s);
      return { kind: 'ok', bytes: usedBytes() };
    }
    case 'end': {
      const s = loading.get(job.key);
      if (!s) return { kind: 'missing' };
      loading.delete(job.key);
      if (s.filled !== s.rows) return { kind: 'missing' };
      const { filled: _f, documentIndex: _d, ...vectors } = s;
      loaded.set(job.key, vectors);
      return { kind: 'ok', bytes: usedBytes() };
    }
    case 'scan': {
      // a store over the budget: this page only, nothing kept
      const s = allocate(job.page.documentIds.length, job.query.length);
      quantise(job.page, s);
      return { kind: 'hits', hits: topRows(s, Float64Array.from(job.query), job.limit, filterOf(s, job)) };
    }
    default:
      throw new Error('not a vector index job');
  }
}

serveJobs(run);
