// The search upload types beyond pdf and docx (issue 23, item 5), as the extraction child reads them:
// spreadsheets, presentations, OpenDocument text, EPUB and RTF. Each zip-based type is held to the same
// archive checks as docx (inspectArchive, then verifyInflatedSizes) before a part is parsed, and each
// parser lives in its own file, loaded on first use. No @app imports (the child has no path aliases).
// Nothing here imports a feature's code: the caller names the type (search's sniff.ts decides it from the
// bytes) and lends the HTML text conversion EPUB chapters go through.
import type { ArchiveLimitsMessage } from '../protocol';

/** The types read here (the same strings as sniff.ts's PARSED_TYPES; parsers.spec.ts checks they agree). */
export const MORE_DOCUMENT_TYPES = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  odp: 'application/vnd.oasis.opendocument.presentation',
  epub: 'application/epub+zip',
  rtf: 'application/rtf',
} as const;

export type MoreDocumentType = (typeof MORE_DOCUMENT_TYPES)[keyof typeof MORE_DOCUMENT_TYPES];

/**
 * The text of a document of one of those types, at most `maxTextChars` (OutputTooLarge past
 * it). Throws ArchiveRefusal / ZipFormatError (the archive checks), DocumentFormatError (a part missing,
 * nesting too deep): the child reports each by name, and the API maps them as it maps docx's.
 */
export async function moreDocumentText(
  contentType: MoreDocumentType,
  data: Buffer,
  archive: ArchiveLimitsMessage,
  maxTextChars: number,
  htmlToText: (html: string) => string,
): Promise<string> {
  if (contentType === MORE_DOCUMENT_TYPES.rtf) {
    const { rtfText } = await import('./rtf');
    return rtfText(data, maxTextChars);
  }
  const { ZipPackage } = await import('./package');
  const pkg = await ZipPackage.open(data, archive);
  switch (contentType) {
    case MORE_DOCUMENT_TYPES.xlsx:
      return (await import('./xlsx')).xlsxText(pkg, maxTextChars);
    case MORE_DOCUMENT_TYPES.pptx:
      return (await import('./pptx')).pptxText(pkg, maxTextChars);
    case MORE_DOCUMENT_TYPES.odt:
      return (await import('./odf')).odfText(pkg, 'text', maxTextChars);
    case MORE_DOCUMENT_TYPES.ods:
      return (await import('./odf')).odfText(pkg, 'spreadsheet', maxTextChars);
    case MORE_DOCUMENT_TYPES.odp:
      return (await import('./odf')).odfText(pkg, 'presentation', maxTextChars);
    case MORE_DOCUMENT_TYPES.epub:
      return (await import('./epub')).epubText(pkg, maxTextChars, htmlToText);
    default:
      throw new Error(`no reader for ${String(contentType)}`);
  }
}
