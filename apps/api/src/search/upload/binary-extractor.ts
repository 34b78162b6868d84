import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

// Runs in a worker with its own heap limit: PDF and docx parsers are CPU-heavy and parse hostile input
// (zip bombs, pathological PDFs), so a bad file costs a worker, never the event loop or the process.
// Plain JavaScript evaluated by Node itself, so the ESM-only pdf.js loads the same way in tests and prod.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const data = new Uint8Array(workerData.data);
  if (workerData.kind === 'pdf') {
    const { getDocumentProxy, extractText } = await import(workerData.unpdf);
    const pdf = await getDocumentProxy(data);
    const { text } = await extractText(pdf, { mergePages: false });
    return text.join('\\n\\n');
  }
  const mammoth = require(workerData.mammoth);
  const result = await mammoth.extractRawText({ buffer: Buffer.from(data.buffer, data.byteOffset, data.byteLength) });
  return result.value;
})().then(
  (text) => parentPort.postMessage({ ok: true, text }),
  (err) => parentPort.postMessage({ ok: false, message: String((err && err.message) || err) }),
);
`;

export interface BinaryExtractorOptions {
  timeoutMs: number;
  maxHeapMb: number;
  /** Workers running at once; more extractions wait, so memory stays bounded under many uploads. */
  concurrency: number;
}

/** Extracts the text of a PDF (unpdf) or docx (mammoth) in a short-lived worker thread. */
export class BinaryExtractor {
  private readonly modules = {
    unpdf: pathToFileURL(require.resolve('unpdf')).href,
    mammoth: require.resolve('mammoth'),
  };

  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly opts: BinaryExtractorOptions = {
      timeoutMs: 30000,
      maxHeapMb: 512,
      concurrency: Math.max(1, Math.min(4, availableParallelism() - 1)),
    },
  ) {}

  async extract(kind: 'pdf' | 'docx', data: Buffer): Promise<string> {
    if (this.running >= this.opts.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await this.run(kind, data);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private run(kind: 'pdf' | 'docx', data: Buffer): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { kind, data, ...this.modules },
        resourceLimits: { maxOldGenerationSizeMb: this.opts.maxHeapMb },
        stdout: true,
        stderr: true,
      });
      let settled = false;
      const finish = (err: Error | undefined, text?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        void worker.terminate();
        if (err) reject(err);
        else resolve(text ?? '');
      };
      const timer = setTimeout(
        () => finish(new Error(`extraction took longer than ${this.opts.timeoutMs} ms`)),
        this.opts.timeoutMs,
      );
      worker.once('message', (m: { ok: boolean; text?: string; message?: string }) =>
        finish(m.ok ? undefined : new Error(m.message ?? 'extraction failed'), m.text),
      );
      worker.once('error', (err: Error) => finish(err));
      worker.once('exit', (code) => finish(new Error(`extraction worker exited with code ${code}`)));
    });
  }
}
