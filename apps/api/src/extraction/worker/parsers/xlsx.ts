// XLSX (SpreadsheetML): every sheet in workbook order, its name on a line of its own, then its rows (cells
// joined by tabs, one row per line; empty cells and rows left out). Cells as their text: shared and inline
// strings, numbers as written (a date is the serial number Excel stores), booleans TRUE/FALSE, formula
// results (never the formula). Runs in the extraction child only.
import { attr, DocumentFormatError, mainPart, relationshipId, TextSink, ZipPackage } from './package';

/**
 * The shared-strings table, bounded by the text limit: each string counts its length plus one (the
 * separator it would take in the text) while the table is read, so a huge table is refused
 * (text_too_large) before it is held, whatever the sheets use of it.
 */
async function sharedStrings(pkg: ZipPackage, part: string | undefined, sink: TextSink): Promise<string[]> {
  const strings: string[] = [];
  if (!part || !pkg.has(part)) return strings;
  let budget = 0;
  let current: string | undefined;
  let inT = 0;
  let phonetic = 0;
  await pkg.walk(part, {
    open(name) {
      if (name === 'si') current = '';
      else if (name === 't') inT++;
      else if (name === 'rPh') phonetic++; // the reading aid above East Asian text, not the text
    },
    close(name) {
      if (name === 'si' && current !== undefined) {
        budget += current.length + 1;
        sink.reserve(budget);
        strings.push(current);
        current = undefined;
      } else if (name === 't') inT--;
      else if (name === 'rPh') phonetic--;
    },
    text(text) {
      if (current === undefined || !inT || phonetic) return;
      current += text;
      sink.reserve(budget + current.length);
    },
  });
  return strings;
}

/** One worksheet's rows into the sink. */
async function sheetText(pkg: ZipPackage, part: string, strings: string[], sink: TextSink): Promise<void> {
  let row: string[] = [];
  let held = 0; // characters of the row not yet in the sink, counted against its limit
  let type = 'n';
  let value: string | undefined;
  let inValue = 0;
  let inInline = 0;
  let phonetic = 0;
  await pkg.walk(part, {
    open(name, attrs) {
      if (name === 'row') row = [];
      else if (name === 'c') {
        type = attr(attrs, 't') ?? 'n';
        value = '';
      } else if (name === 'v') inValue++;
      else if (name === 'is') inInline++;
      else if (name === 'rPh') phonetic++;
    },
    close(name) {
      if (name === 'c' && value !== undefined) {
        const cell = cellText(type, value, strings).trim();
        if (cell) {
          row.push(cell);
          held += cell.length + 1;
          sink.reserve(sink.length + held);
        }
        value = undefined;
      } else if (name === 'row') {
        held = 0;
        if (row.length) sink.push(`${row.join('\t')}\n`);
        row = [];
      } else if (name === 'v') inValue--;
      else if (name === 'is') inInline--;
      else if (name === 'rPh') phonetic--;
    },
    text(text) {
      // a formula (<f>) is not its value; an inline string's text is in <is><t>, a value in <v>
      if (value === undefined || phonetic || !(inValue || inInline)) return;
      value += text;
      sink.reserve(sink.length + held + value.length);
    },
  });
}

function cellText(type: string, value: string, strings: string[]): string {
  switch (type) {
    case 's':
      return strings[Number.parseInt(value, 10)] ?? '';
    case 'b':
      return value.trim() === '1' ? 'TRUE' : 'FALSE';
    default:
      return value; // n, str (a formula's text), inlineStr, e (#N/A…), d (ISO date)
  }
}

/** The text of an .xlsx: sheet names and cells, at most `maxTextChars`. */
export async function xlsxText(pkg: ZipPackage, maxTextChars: number): Promise<string> {
  const sink = new TextSink(maxTextChars);
  const workbook = await mainPart(pkg, 'xl/workbook.xml');
  if (!pkg.has(workbook)) throw new DocumentFormatError('the workbook part is missing');
  const rels = await pkg.relationships(workbook);
  const sheets: Array<{ name: string; part: string }> = [];
  await pkg.walk(workbook, {
    open(name, attrs) {
      if (name !== 'sheet') return;
      const target = rels.get(relationshipId(attrs) ?? '')?.target;
      if (target) sheets.push({ name: attr(attrs, 'name') ?? '', part: target });
    },
  });
  const shared = [...rels.values()].find((r) => r.type.endsWith('/sharedStrings'))?.target;
  const strings = await sharedStrings(pkg, shared ?? 'xl/sharedStrings.xml', sink);
  for (const sheet of sheets) {
    if (!pkg.has(sheet.part)) continue; // a chartsheet's or a missing part: no cells
    if (sink.length) sink.push('\n');
    if (sheet.name) sink.push(`${sheet.name}\n`);
    await sheetText(pkg, sheet.part, strings, sink);
  }
  return sink.toString();
}
