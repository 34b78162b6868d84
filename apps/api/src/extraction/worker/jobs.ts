// The parsers, as the extraction child runs them. Each parser module is required on first use, so a child
// that only converts HTML never loads pdf.js, and the API process loads none of them (it never imports
// this file). No @app imports: the child resolves modules without the path aliases.
import { verifyInflatedSizes } from '../zip-directory';
import type { ExtractionJob } from './protocol';

/** The parser produced more text than the job allows: refused rather than shipped to the API process. */
export class OutputTooLarge extends Error {
  readonly reason = 'text_too_large';
  constructor(readonly limit: number) {
    super(`The document's text is longer than the limit of ${limit} characters`);
    this.name = 'OutputTooLarge';
  }
}

function bytes(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

async function pdfText(data: Uint8Array): Promise<string> {
  const { getDocumentProxy, extractText } = await import('unpdf');
  const pdf = await getDocumentProxy(new Uint8Array(data));
  try {
    const { text } = await extractText(pdf, { mergePages: false });
    return text.join('\n\n');
  } finally {
    await pdf.destroy();
  }
}

async function docxText(data: Uint8Array, job: Extract<ExtractionJob, { kind: 'docx' }>): Promise<string> {
  const buffer = bytes(data);
  // Declared sizes were judged by the parent; these are the real ones, counted before mammoth inflates.
  await verifyInflatedSizes(buffer, job.archive);
  const mammoth = await import('mammoth');
  const result = await mammoth.extractRawText({ buffer });
  return result.value;
}

export async function runJob(job: ExtractionJob): Promise<string> {
  let text: string;
  switch (job.kind) {
    case 'pdf':
      text = await pdfText(job.data);
      break;
    case 'docx':
      text = await docxText(job.data, job);
      break;
    case 'html-text': {
      const { htmlToText } = await import('../../search/upload/html-text');
      text = htmlToText(job.html);
      break;
    }
    case 'html-article': {
      const { convertPage } = await import('../../downloader/extraction/page');
      text = convertPage(job.html, job.url, job.format, job.page);
      break;
    }
    case 'page-links': {
      const { pageLinks } = await import('../../downloader/crawl/page-links');
      text = JSON.stringify(pageLinks(job.html, job.url, job.maxLinks));
      break;
    }
    case 'sitemap': {
      const { sitemapUrls } = await import('../../downloader/crawl/page-links');
      text = JSON.stringify(sitemapUrls(job.xml, job.maxLinks));
      break;
    }
    default:
      throw new Error(`unknown job kind ${(job as { kind: string }).kind}`);
  }
  if (text.length > job.maxTextChars) throw new OutputTooLarge(job.maxTextChars);
  return text;
}
