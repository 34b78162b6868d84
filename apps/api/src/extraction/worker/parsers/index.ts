// The search upload types beyond pdf and docx (issue 23, item 5), as the extraction child reads them:
// spreadsheets, presentations, OpenDocument text, EPUB and RTF. Each zip-based type is held to the same
// archive checks as docx (inspectArchive, then verifyInflatedSizes) before a part is parsed, and each
// parser lives in its own file, loaded on first use. No @app imports (the child has no path aliases).
import { PARSED_TYPES, type ParsedType } from '../../../search/upload/sniff';
import type { ArchiveLimitsMessage } from '../protocol';

export type MoreDocumentType = Exclude<ParsedType, 'application/pdf' | typeof PARSED_TYPES.docx>;

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
): Promise<string> {
  if (contentType === PARSED_TYPES.rtf) {
    const { rtfText } = await import('./rtf');
    return rtfText(data, maxTextChars);
  }
  const { ZipPackage } = await import('./package');
  const pkg = await ZipPackage.open(data, archive);
  switch (contentType) {
    case PARSED_TYPES.xlsx:
      return (await import('./xlsx')).xlsxText(pkg, maxTextChars);
    case PARSED_TYPES.pptx:
      return (await import('./pptx')).pptxText(pkg, maxTextChars);
    case PARSED_TYPES.odt:
      return (await import('./odf')).odfText(pkg, 'text', maxTextChars);
    case PARSED_TYPES.ods:
      return (await import('./odf')).odfText(pkg, 'spreadsheet', maxTextChars);
    case PARSED_TYPES.odp:
      return (await import('./odf')).odfText(pkg, 'presentation', maxTextChars);
    case PARSED_TYPES.epub:
      return (await import('./epub')).epubText(pkg, maxTextChars);
  }
}
