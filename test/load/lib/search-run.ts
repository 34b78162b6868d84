// What the search benchmarks (search-benchmark.ts, search-scale-benchmark.ts, the relevance benchmark) do the
// same way around their measurements: run Atrium from source on a data dir of their own, create a store and
// upload files through the HTTP API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SearchAppOptions, ServerProcess, startSearchApp } from './processes';

/** One run of the app (or several, one after the other) on a data dir of its own. */
export class SearchRun {
  readonly dataDir: string;
  /** The app while it runs. */
  app?: ServerProcess;

  constructor(dataDirPrefix: string) {
    this.dataDir = mkdtempSync(join(tmpdir(), dataDirPrefix));
  }

  async start(o: Omit<SearchAppOptions, 'dataDir'>): Promise<ServerProcess> {
    this.app = await startSearchApp({ ...o, dataDir: this.dataDir });
    return this.app;
  }

  async stop(): Promise<void> {
    await this.app?.stop();
    this.app = undefined;
  }
}

/**
 * Runs `fn` on a fresh SearchRun: when it fails, what the running app said last on stderr (a crash, a refusal)
 * goes to this process's stderr, `label` in front; then the app is stopped and the data dir removed.
 */
export async function withSearchRun<T>(
  dataDirPrefix: string,
  label: string,
  fn: (run: SearchRun) => Promise<T>,
): Promise<T> {
  const run = new SearchRun(dataDirPrefix);
  try {
    return await fn(run);
  } catch (err) {
    if (run.app)
      process.stderr.write(`${label}app stderr (last lines):\n${run.app.stderr.join('').slice(-4000)}\n`);
    throw err;
  } finally {
    await run.stop();
    rmSync(run.dataDir, { recursive: true, force: true });
  }
}

/** POST /api/v1/stores: 201 or throws. */
export async function createStore(
  url: string,
  apiKey: string,
  name: string,
  what = 'the store',
): Promise<void> {
  const res = await fetch(`${url}/api/v1/stores`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`creating ${what}: ${res.status}`);
}

export interface UploadFile {
  name: string;
  data: Uint8Array | string;
  /** The part's Content-Type (none: the upload sniffs it). */
  type?: string;
}

/**
 * One multipart upload (POST /api/v1/stores/:store/documents) of `files`, `metadata` (filename → metadata) in
 * front of them when given; answers the status and the parsed JSON body.
 */
export async function uploadFiles<Body>(
  url: string,
  apiKey: string,
  store: string,
  files: UploadFile[],
  metadata?: Record<string, unknown>,
): Promise<{ status: number; body: Body }> {
  const form = new FormData();
  // the metadata field comes before the files it describes (the upload reads the body as a stream)
  if (metadata) form.append('metadata', JSON.stringify(metadata));
  for (const f of files) {
    const part = typeof f.data === 'string' ? f.data : new Uint8Array(f.data);
    form.append('files', new Blob([part], f.type ? { type: f.type } : undefined), f.name);
  }
  const res = await fetch(`${url}/api/v1/stores/${store}/documents`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as Body };
}
