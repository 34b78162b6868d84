// The parsers, as the extraction child runs them. Each parser module is required on first use, so a child
// that only converts HTML never loads pdf.js, and the API process loads none of them (it never imports
// this file). No @app imports: the child resolves modules without the path aliases.
import { inspectArchive, verifyInflatedSizes } from '../zip-directory';
import type { ArchiveLimitsMessage, ExtractionJob, PreparedDocumentMessage } from './protocol';

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

async function docxText(data: Uint8Array, archive: ArchiveLimitsMessage): Promise<string> {
  const buffer = bytes(data);
  // Declared sizes were judged already (by the parent, or by prepareDocument); these are the real ones,
  // counted before mammoth inflates.
  await verifyInflatedSizes(buffer, archive);
  const mammoth = await import('mammoth');
  const result = await mammoth.extractRawText({ buffer });
  return result.value;
}

/**
 * A search upload's whole text pipeline, every step of which grows with the file: its type from its bytes
 * (sniff: decoding, a JSON parse), its text (a parser, or the decoded text itself), the Stream-Safe + NFC
 * normalisation, the chunks. The API process gets the text and the chunks' offsets back.
 */
async function prepareDocument(
  job: Extract<ExtractionJob, { kind: 'document' }>,
): Promise<PreparedDocumentMessage> {
  const { sniffDocument, DOCX_TYPE } = await import('../../search/upload/sniff');
  const { normaliseText } = await import('../../search/upload/normalise');
  const { chunkRanges } = await import('../../search/upload/chunker');
  const { DocumentRefusal } = await import('../../search/upload/document-refusal');
  const sniffed = await sniffDocument(job.data, job.filename);
  let raw: string;
  if (sniffed.binary) {
    if (sniffed.contentType === 'application/pdf') raw = await pdfText(job.data);
    else if (sniffed.contentType === DOCX_TYPE) {
      inspectArchive(bytes(job.data), job.archive); // the central directory, before anything is inflated
      raw = await docxText(job.data, job.archive);
    } else {
      // xlsx, pptx, odt, ods, odp, epub, rtf: parsers/ (the same archive checks first, for the zip ones)
      const { moreDocumentText } = await import('./parsers');
      const { htmlToText } = await import('../../search/upload/html-text');
      raw = await moreDocumentText(
        sniffed.contentType,
        bytes(job.data),
        job.archive,
        job.maxTextChars,
        htmlToText,
      );
    }
  } else if (sniffed.contentType === 'text/html') {
    const { htmlToText } = await import('../../search/upload/html-text');
    raw = htmlToText(sniffed.text);
  } else raw = sniffed.text;
  if ((sniffed.binary || sniffed.contentType === 'text/html') && raw.length > job.maxTextChars)
    throw new OutputTooLarge(job.maxTextChars);
  const text = normaliseText(raw);
  if (!text) throw new DocumentRefusal('EMPTY_DOCUMENT', 'The document contains no extractable text');
  return {
    contentType: sniffed.contentType,
    text,
    ranges: chunkRanges(text, job.chunkChars, job.chunkOverlapChars),
  };
}

export async function runJob(job: ExtractionJob): Promise<string | PreparedDocumentMessage> {
  if (job.kind === 'document') return prepareDocument(job);
  let text: string;
  switch (job.kind) {
    case 'pdf':
      text = await pdfText(job.data);
      break;
    case 'docx':
      text = await docxText(job.data, job.archive);
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
