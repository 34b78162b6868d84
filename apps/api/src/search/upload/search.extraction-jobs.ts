// Search's job kinds, as the extraction child runs them (registered in search.module.ts through
// ExtractionModule.forFeature). Loaded by path in the child, which has no path aliases: `@app/extraction` is
// imported for types only, the extraction module's parsers come in through the kit, and the search code a
// handler needs is required on first use (a child that only converts pages never loads the sniffer).
import type {
  ArchiveLimitsMessage,
  ExtractionJob,
  ExtractionJobHandlers,
  ExtractionKit,
} from '@app/extraction';
import { DocumentRefusal } from './document-refusal';

/** The visible text of an HTML document. */
export interface HtmlTextJob extends ExtractionJob {
  kind: 'html-text';
  html: string;
}

/**
 * An upload's whole text pipeline, every type (sniff, decode, parse, normalise, chunk), answered with a
 * PreparedDocument. `maxTextChars` bounds what a parser (pdf, docx, html) yields; a text file is bounded by
 * its size.
 */
export interface DocumentJob extends ExtractionJob {
  kind: 'document';
  data: Uint8Array;
  filename: string;
  archive: ArchiveLimitsMessage;
  chunkChars: number;
  chunkOverlapChars: number;
}

/** The answer to a 'document' job: the stored text and its chunks as [start, end) offsets into it. */
export interface PreparedDocument {
  contentType: string;
  text: string;
  /** Two offsets per chunk (chunker.ts chunkRanges). */
  ranges: Uint32Array;
  /** The document's own title, where it has one; its detected language (search/metadata/document-facts.ts). */
  title?: string;
  language?: string;
}

/**
 * A search upload's whole text pipeline, every step of which grows with the file: its type from its bytes
 * (sniff: decoding, a JSON parse), its text (a parser, or the decoded text itself), the Stream-Safe + NFC
 * normalisation, the chunks. The API process gets the text and the chunks' offsets back.
 */
async function prepareDocument(job: DocumentJob, kit: ExtractionKit): Promise<PreparedDocument> {
  const { sniffDocument, DOCX_TYPE } = await import('./sniff');
  const { normaliseText } = await import('./normalise');
  const { chunkRanges } = await import('./chunker');
  const sniffed = await sniffDocument(job.data, job.filename);
  let raw: string;
  if (sniffed.binary) {
    if (sniffed.contentType === 'application/pdf') raw = await kit.pdfText(job.data);
    else if (sniffed.contentType === DOCX_TYPE) {
      kit.inspectArchive(job.data, job.archive); // the central directory, before anything is inflated
      raw = await kit.docxText(job.data, job.archive);
    } else {
      // xlsx, pptx, odt, ods, odp, epub, rtf (EPUB's chapters through this feature's HTML text)
      const { htmlToText } = await import('./html-text');
      raw = await kit.moreDocumentText(
        sniffed.contentType,
        job.data,
        job.archive,
        job.maxTextChars,
        htmlToText,
      );
    }
  } else if (sniffed.contentType === 'text/html') {
    const { htmlToText } = await import('./html-text');
    raw = htmlToText(sniffed.text);
  } else raw = sniffed.text;
  if (sniffed.binary || sniffed.contentType === 'text/html') kit.limitText(raw, job.maxTextChars);
  const text = normaliseText(raw);
  if (!text) throw new DocumentRefusal('EMPTY_DOCUMENT', 'The document contains no extractable text');
  const { documentTitle, detectLanguage } = await import('../metadata/document-facts');
  const title = documentTitle(sniffed.contentType, sniffed.binary ? undefined : sniffed.text);
  const language = await detectLanguage(text);
  return {
    contentType: sniffed.contentType,
    text,
    ranges: chunkRanges(text, job.chunkChars, job.chunkOverlapChars),
    ...(title ? { title } : {}),
    ...(language ? { language } : {}),
  };
}

export const extractionJobs = {
  document: prepareDocument,
  'html-text': async (job: HtmlTextJob) => {
    const { htmlToText } = await import('./html-text');
    return htmlToText(job.html);
  },
} satisfies ExtractionJobHandlers;
