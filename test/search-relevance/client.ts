// What the benchmarks over the python3-doc corpus (the relevance benchmark, the embedding-churn benchmark) do
// the same way through Atrium's HTTP API: upload the corpus, read back the stored texts, ask a search.
import { LatencySummary, summariseLatency } from '../load/lib/latency';
import { createStore, uploadFiles } from '../load/lib/search-run';
import { CorpusFile } from './corpus';
import { SearchOutcome } from './evaluate';

export const FILES_PER_UPLOAD = 20;
export const UPLOAD_CONCURRENCY = 2;

/** One app's store, as the client reaches it. */
export interface StoreClient {
  url: string;
  apiKey: string;
  store: string;
  log: (msg: string) => void;
}

export type Latency = Omit<LatencySummary, 'requests' | 'mean'>;

export interface UploadStats {
  files: number;
  rejected: number;
  chunks: number;
  seconds: number;
  chunksPerSecond: number;
  /** Files refused for good (after the retries), with the code and reason the API gave. */
  refused?: string[];
  /** Files that were refused for a transient reason (timeout, cpu, capacity) and stored on a retry. */
  retried?: number;
}

/** Client-observed percentiles (and the server's own `tookMs`) of some searches. */
export function latency(results: Array<{ ms: number; tookMs: number }>): Latency {
  const {
    requests: _r,
    mean: _m,
    ...summary
  } = summariseLatency(
    results.map((r) => r.ms),
    results.map((r) => r.tookMs),
  );
  return summary;
}

/**
 * Creates the store and uploads `corpus` into it, FILES_PER_UPLOAD files a request, UPLOAD_CONCURRENCY requests
 * in flight; files refused for a transient reason go again, alone. Answers filename → document id.
 */
export async function uploadCorpus(
  c: StoreClient,
  corpus: CorpusFile[],
): Promise<{ ids: Map<string, string>; stats: UploadStats }> {
  await createStore(c.url, c.apiKey, c.store);
  const ids = new Map<string, string>();
  let chunks = 0;
  const transient: CorpusFile[] = [];
  const refused = new Map<string, string>();
  const byName = new Map(corpus.map((f) => [f.filename, f]));
  const batches: CorpusFile[][] = [];
  for (let i = 0; i < corpus.length; i += FILES_PER_UPLOAD)
    batches.push(corpus.slice(i, i + FILES_PER_UPLOAD));
  const send = async (files: CorpusFile[]): Promise<void> => {
    const res = await uploadFiles<{
      code?: string;
      documents?: Array<{ id: string; filename: string; chunks: number }>;
      rejected?: Array<{ filename: string; code: string; details?: { reason?: string } }>;
    }>(
      c.url,
      c.apiKey,
      c.store,
      files.map((f) => ({ name: f.filename, data: f.data })),
    );
    const body = res.body;
    // every parser child busy on a loaded machine: the whole request waits and goes again
    if (res.status === 503 && body.code === 'CAPACITY_EXCEEDED') {
      transient.push(...files);
      return;
    }
    if (res.status >= 500) throw new Error(`upload failed: ${res.status} ${JSON.stringify(body)}`);
    for (const d of body.documents ?? []) {
      ids.set(d.filename, d.id);
      chunks += d.chunks;
      refused.delete(d.filename);
    }
    for (const r of body.rejected ?? []) {
      const reason = r.details?.reason;
      refused.set(r.filename, `${r.code}${reason ? ` (${reason})` : ''}`);
      // A parser child stopped at its wall-clock or CPU limit because the machine is shared, or at its RSS
      // limit holding what the documents it parsed before left behind (copyright.html, 10 kB, has been
      // refused for `memory`): not the document's fault, so it is sent again, alone, to a fresh child,
      // rather than left out of this store.
      if (r.code === 'EXTRACTION_FAILED' && ['timeout', 'cpu', 'memory', 'crash'].includes(reason ?? ''))
        transient.push(byName.get(r.filename) as CorpusFile);
    }
  };
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: UPLOAD_CONCURRENCY }, async () => {
      while (next < batches.length) await send(batches[next++]);
    }),
  );
  let retried = 0;
  for (let round = 0; round < 3 && transient.length; round++) {
    const again = transient.splice(0);
    retried += again.length;
    for (const f of again) await send([f]);
  }
  if (refused.size) c.log(`refused: ${[...refused].map(([f, why]) => `${f} ${why}`).join(', ')}`);
  const seconds = (Date.now() - started) / 1000;
  return {
    ids,
    stats: {
      files: ids.size,
      rejected: refused.size,
      refused: [...refused].map(([f, why]) => `${f}: ${why}`),
      retried,
      chunks,
      seconds: Math.round(seconds),
      chunksPerSecond: Math.round(chunks / seconds),
    },
  };
}

/** Each document's extracted text (GET …/documents/:id?include=text), sorted by filename. */
export async function storedTexts(
  c: StoreClient,
  ids: Map<string, string>,
): Promise<Array<{ key: string; text: string }>> {
  const out: Array<{ key: string; text: string }> = [];
  for (const [filename, id] of ids) {
    const res = await fetch(`${c.url}/api/v1/stores/${c.store}/documents/${id}?include=text`, {
      headers: { 'X-API-Key': c.apiKey },
    });
    out.push({ key: filename, text: ((await res.json()) as { text: string }).text });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : 1));
}

/**
 * A search of the store in `mode` (top 10), timed; throws unless 200 and the mode asked is the one that ran.
 * Without a mode, the store's default (and no `mode` parameter: builds before issue 22 refuse it).
 */
export function searcher(c: StoreClient, mode?: string): (q: string) => Promise<SearchOutcome> {
  return async (q) => {
    const started = process.hrtime.bigint();
    const res = await fetch(
      `${c.url}/api/v1/search?store=${c.store}&limit=10${mode ? `&mode=${mode}` : ''}&q=${encodeURIComponent(q)}`,
      { headers: { 'X-API-Key': c.apiKey } },
    );
    const body = (await res.json()) as {
      tookMs: number;
      mode?: string;
      results?: Array<{ filename: string }>;
    };
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (res.status !== 200)
      throw new Error(`search ${JSON.stringify(q)}: ${res.status} ${JSON.stringify(body)}`);
    if (mode && body.mode !== mode)
      throw new Error(`search ${JSON.stringify(q)}: asked mode=${mode}, ${body.mode} ran`);
    return {
      filenames: (body.results ?? []).map((r) => r.filename),
      ms,
      tookMs: body.tookMs,
      cache: res.headers.get('x-cache'),
    };
  };
}

/** The store's embedding progress (GET /api/v1/stores/:store → `embedding`); throws unless 200 and present. */
export async function embeddingProgress(
  c: StoreClient,
): Promise<{ status: string; embedded: number; total: number }> {
  const res = await fetch(`${c.url}/api/v1/stores/${c.store}`, { headers: { 'X-API-Key': c.apiKey } });
  const body = (await res.json()) as { embedding?: { status: string; embedded: number; total: number } };
  if (res.status !== 200 || !body.embedding) throw new Error(`store: ${res.status} ${JSON.stringify(body)}`);
  return body.embedding;
}
