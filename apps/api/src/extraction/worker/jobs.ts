// The job runner of the extraction child: the extraction module's own kinds (pdf, docx) and those of the
// handler modules features registered (ExtractionModule.forFeature), loaded by path when the child starts.
// Each parser is required on first use, so a child that only converts HTML never loads pdf.js, and the API
// process loads none of them (it never imports this file or a handler module). No @app imports: the child
// resolves modules without the path aliases.
import { inspectArchive, verifyInflatedSizes } from '../zip-directory';
import type {
  DocxJob,
  ExtractionJob,
  ExtractionJobHandler,
  ExtractionJobHandlers,
  ExtractionKit,
  PdfJob,
} from './protocol';
import type { MoreDocumentType } from './parsers';

import { OutputTooLarge } from './output-too-large';

export { OutputTooLarge };

function bytes(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

const kit: ExtractionKit = {
  async pdfText(data) {
    const { getDocumentProxy, extractText } = await import('unpdf');
    const pdf = await getDocumentProxy(new Uint8Array(data));
    try {
      const { text } = await extractText(pdf, { mergePages: false });
      return text.join('\n\n');
    } finally {
      await pdf.destroy();
    }
  },
  async docxText(data, archive) {
    const buffer = bytes(data);
    // Declared sizes were judged already (by the parent, or by the handler); these are the real ones,
    // counted before mammoth inflates.
    await verifyInflatedSizes(buffer, archive);
    const mammoth = await import('mammoth');
    const result = await mammoth.extractRawText({ buffer });
    return result.value;
  },
  inspectArchive(data, archive) {
    inspectArchive(bytes(data), archive);
  },
  async moreDocumentText(contentType, data, archive, maxTextChars, htmlToText) {
    // xlsx, pptx, odt, ods, odp, epub, rtf: parsers/ (the zip-based ones after the same archive checks)
    const { moreDocumentText } = await import('./parsers');
    return moreDocumentText(contentType as MoreDocumentType, bytes(data), archive, maxTextChars, htmlToText);
  },
  limitText(text, maxTextChars) {
    if (text.length > maxTextChars) throw new OutputTooLarge(maxTextChars);
  },
};

/** The extraction module's own kinds. */
const builtIn = {
  pdf: (job: PdfJob, k: ExtractionKit) => k.pdfText(job.data),
  docx: (job: DocxJob, k: ExtractionKit) => k.docxText(job.data, job.archive),
} satisfies ExtractionJobHandlers;

/** Runs a job by its kind; a string answer is held to the job's maxTextChars. */
export type JobRunner = (job: ExtractionJob) => Promise<unknown>;

/**
 * The runner for the built-in kinds and those of the handler modules at `modulePaths` (each exports
 * `extractionJobs`, an ExtractionJobHandlers). A module without that export, or a kind two modules claim, is
 * an error here — the child does not start — rather than a job answered by the wrong handler.
 */
export function createJobRunner(modulePaths: readonly string[] = []): JobRunner {
  const handlers = new Map<string, ExtractionJobHandler>(Object.entries(builtIn));
  for (const path of modulePaths) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path registered at run time
    const loaded = require(path) as { extractionJobs?: ExtractionJobHandlers };
    if (!loaded.extractionJobs || typeof loaded.extractionJobs !== 'object')
      throw new Error(`extraction handler module ${path} exports no extractionJobs`);
    for (const [kind, handler] of Object.entries(loaded.extractionJobs)) {
      if (handlers.has(kind)) throw new Error(`extraction job kind ${kind} is registered twice (${path})`);
      handlers.set(kind, handler);
    }
  }
  return async (job) => {
    const handler = handlers.get(job.kind);
    if (!handler) throw new Error(`unknown job kind ${job.kind}`);
    const value = await handler(job as never, kit);
    if (typeof value === 'string') kit.limitText(value, job.maxTextChars);
    return value;
  };
}
