// OpenDocument (ODT, ODS, ODP): the text of content.xml. Paragraphs and headings one per line (spaces,
// tabs and line breaks as written), deleted text of tracked changes left out; in a spreadsheet, each
// sheet's name on a line of its own and its rows as tab-separated cells (a repeated cell or row once, not
// as many times as it is repeated); in a presentation, each slide's text with its speaker notes, slides apart
// by a blank line. Runs in the extraction child only.
import { attr, TextSink, ZipPackage } from './package';

export type OdfKind = 'text' | 'spreadsheet' | 'presentation';

/** Subtrees with no reading text: deleted text of tracked changes, form controls, a table's data source. */
const SKIPPED = new Set([
  'tracked-changes',
  'forms',
  'table-source',
  'scripts',
  'font-face-decls',
  'note-citation', // a footnote's number: its text follows on a line of its own
]);

/** The text of an OpenDocument file, at most `maxTextChars`. */
export async function odfText(pkg: ZipPackage, kind: OdfKind, maxTextChars: number): Promise<string> {
  const sink = new TextSink(maxTextChars);
  let skip = 0;
  let paragraph = 0; // inside text:p / text:h (nested in a note or a frame, they nest)
  let line = '';
  let cell: string[] | undefined; // a spreadsheet cell's paragraphs
  let row: string[] = [];
  let held = 0; // characters of the row and cell not yet in the sink, counted against its limit
  const reserve = (): void => sink.reserve(sink.length + held + line.length);
  await pkg.walk('content.xml', {
    open(name, attrs) {
      if (skip || SKIPPED.has(name)) {
        skip++;
        return;
      }
      if (name === 'p' || name === 'h') {
        // a paragraph inside a paragraph (a footnote's, a frame's): on a line of its own
        if (paragraph++ && line && !line.endsWith('\n')) line += '\n';
      } else if (name === 's') line += ' ';
      else if (name === 'tab') line += '\t';
      else if (name === 'line-break') line += '\n';
      else if (kind === 'spreadsheet' && name === 'table') {
        const sheet = attr(attrs, 'name');
        if (sink.length) sink.push('\n');
        if (sheet) sink.push(`${sheet}\n`);
      } else if (kind === 'spreadsheet' && (name === 'table-cell' || name === 'covered-table-cell'))
        cell = [];
      else if (kind === 'spreadsheet' && name === 'table-row') row = [];
      else if (kind === 'presentation' && name === 'page' && sink.length) sink.push('\n');
    },
    close(name) {
      if (skip) {
        skip--;
        return;
      }
      if (name === 'p' || name === 'h') {
        paragraph--;
        if (paragraph) {
          line += '\n'; // the outer paragraph goes on, on the next line
          return;
        }
        if (cell) {
          cell.push(line);
          held += line.length + 1;
        } else if (line.trim()) sink.push(`${line}\n`);
        line = '';
      } else if (cell && (name === 'table-cell' || name === 'covered-table-cell')) {
        const text = cell.join(' ').trim();
        if (text) row.push(text);
        cell = undefined;
      } else if (kind === 'spreadsheet' && name === 'table-row') {
        held = 0;
        if (row.length) sink.push(`${row.join('\t')}\n`);
        row = [];
      }
    },
    text(text) {
      if (skip || !paragraph) return; // whitespace between elements is layout, not text
      line += text;
      reserve();
    },
  });
  return sink.toString();
}
