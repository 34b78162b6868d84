// RTF: a small tokenizer over the bytes, one pass, no recursion. Text and the characters control words
// stand for (\par, \tab, \line, \cell, \row, quotes, dashes…) are kept; \'hh bytes are decoded in the
// document's code page (\ansicpgN, Windows-1252 by default), \uN as UTF-16 (with the \ucN fallback
// characters after it skipped); destinations that are not reading text are skipped as a whole — the font,
// colour, style and list tables, \info, pictures, objects, field instructions, and every \* group the
// reader does not know. Group nesting past MAX_RTF_DEPTH is refused (parse_error): a group's state is kept
// on a stack, and no document nests that deep. Runs in the extraction child only.
import { TextDecoder } from 'node:util';
import { DocumentFormatError, TextSink } from './package';

export const MAX_RTF_DEPTH = 256;

/** Destinations whose content is not the document's text. */
const SKIPPED = new Set([
  'fonttbl',
  'colortbl',
  'stylesheet',
  'listtable',
  'listoverridetable',
  'revtbl',
  'rsidtbl',
  'info',
  'pict',
  'object',
  'objdata',
  'fldinst',
  'filetbl',
  'datastore',
  'themedata',
  'colorschememapping',
  'latentstyles',
  'xmlnstbl',
  'generator',
  'header',
  'headerl',
  'headerr',
  'headerf',
  'footer',
  'footerl',
  'footerr',
  'footerf',
  'bkmkstart',
  'bkmkend',
  'pgdsctbl',
  'mmathPr',
  'wgrffmtfilter',
]);

/** Control words that stand for a character (or a break) of the text. */
const CHARACTERS: Record<string, string> = {
  par: '\n',
  sect: '\n',
  page: '\n',
  line: '\n',
  row: '\n',
  tab: '\t',
  cell: '\t',
  nestcell: '\t',
  emdash: '\u2014',
  endash: '\u2013',
  emspace: '\u2003',
  enspace: '\u2002',
  qmspace: '\u2005',
  bullet: '\u2022',
  lquote: '\u2018',
  rquote: '\u2019',
  ldblquote: '\u201c',
  rdblquote: '\u201d',
};

function decoderFor(codePage: number): TextDecoder {
  for (const label of [
    `windows-${codePage}`,
    codePage === 932 ? 'shift_jis' : '',
    codePage === 936 ? 'gbk' : '',
  ])
    if (label)
      try {
        return new TextDecoder(label);
      } catch {
        // not a code page this runtime knows: the next label, or Windows-1252
      }
  return new TextDecoder('windows-1252');
}

const isLetter = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const hex = (c: number): number =>
  isDigit(c) ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;

/** The text of an RTF document, at most `maxTextChars`. */
export function rtfText(data: Buffer, maxTextChars: number): string {
  const sink = new TextSink(maxTextChars);
  let decoder = decoderFor(1252);
  // per-group state, on explicit stacks: the \ucN fallback count, and whether the group is skipped
  const ucStack: number[] = [];
  let uc = 1;
  let depth = 0;
  let skipFrom = 0; // the depth whose group is being skipped (0: none)
  let ignorable = false; // a \* was just seen: the group's destination may be skipped if unknown
  let atGroupStart = false;
  let pendingSkip = 0; // fallback characters still to skip after a \uN
  let bytes: number[] = []; // \'hh bytes, decoded together (double-byte code pages)
  let units: number[] = []; // \uN code units (surrogate pairs come as two)
  let run = '';

  const flushBytes = (): void => {
    // streaming: a double-byte character split between two flushes is still decoded whole
    if (bytes.length) run += decoder.decode(Uint8Array.from(bytes), { stream: true });
    bytes = [];
  };
  const flushUnits = (): void => {
    if (units.length) run += String.fromCharCode(...units);
    units = [];
  };
  const emit = (text: string): void => {
    flushUnits();
    flushBytes();
    run += text;
    if (run.length >= 4096) {
      sink.push(run);
      run = '';
    }
  };
  const skipping = (): boolean => skipFrom > 0;

  const n = data.length;
  let i = 0;
  while (i < n) {
    const c = data[i];
    if (c === 0x7b /* { */) {
      if (++depth > MAX_RTF_DEPTH)
        throw new DocumentFormatError(`groups are nested more than ${MAX_RTF_DEPTH} deep`);
      ucStack.push(uc);
      atGroupStart = true;
      ignorable = false;
      pendingSkip = 0;
      i++;
      continue;
    }
    if (c === 0x7d /* } */) {
      if (depth > 0) {
        if (skipFrom === depth) skipFrom = 0;
        depth--;
        uc = ucStack.pop() ?? 1;
      }
      atGroupStart = false;
      pendingSkip = 0;
      i++;
      continue;
    }
    if (c === 0x5c /* \ */) {
      const next = i + 1 < n ? data[i + 1] : -1;
      if (isLetter(next)) {
        // a control word: letters, an optional signed number, an optional space that ends it
        let j = i + 1;
        while (j < n && j - i <= 32 && isLetter(data[j])) j++;
        const word = data.toString('latin1', i + 1, j);
        let param: number | undefined;
        const numberStart = j;
        if (j < n && (isDigit(data[j]) || (data[j] === 0x2d && j + 1 < n && isDigit(data[j + 1])))) {
          j++;
          while (j < n && j - numberStart <= 10 && isDigit(data[j])) j++;
          param = Number.parseInt(data.toString('latin1', numberStart, j), 10);
        }
        if (j < n && data[j] === 0x20) j++;
        i = j;
        const first = atGroupStart || ignorable;
        const wasIgnorable = ignorable;
        atGroupStart = false;
        ignorable = false;
        if (skipping()) continue;
        if (word === 'bin' && param !== undefined && param > 0) {
          i += param; // raw bytes (a picture's), never text
          continue;
        }
        if (first && depth > 0 && (SKIPPED.has(word) || wasIgnorable)) {
          // a destination that is not text, or an ignorable one (\*) this reader does not know
          skipFrom = depth;
          continue;
        }
        if (pendingSkip > 0) {
          pendingSkip--;
          continue;
        }
        if (word === 'u' && param !== undefined) {
          flushBytes();
          units.push(param < 0 ? param + 65536 : param);
          pendingSkip = uc;
          if (units.length >= 4096) emit('');
        } else if (word === 'uc' && param !== undefined) uc = Math.max(0, Math.min(param, 8));
        else if (word === 'ansicpg' && param !== undefined) {
          emit('');
          decoder = decoderFor(param);
        } else if (CHARACTERS[word] !== undefined) emit(CHARACTERS[word]);
        continue;
      }
      // a control symbol
      i += 2;
      if (next === 0x2a /* * */) {
        ignorable = true;
        continue;
      }
      atGroupStart = false;
      if (skipping()) {
        if (next === 0x27) i += 2;
        continue;
      }
      if (next === 0x27 /* ' */) {
        const hi = i < n ? hex(data[i]) : -1;
        const lo = i + 1 < n ? hex(data[i + 1]) : -1;
        i += 2;
        if (pendingSkip > 0) {
          pendingSkip--;
          continue;
        }
        if (hi >= 0 && lo >= 0) {
          flushUnits();
          bytes.push(hi * 16 + lo);
          if (bytes.length >= 4096) emit('');
        }
        continue;
      }
      if (pendingSkip > 0) {
        pendingSkip--;
        continue;
      }
      if (next === 0x5c || next === 0x7b || next === 0x7d) emit(String.fromCharCode(next));
      else if (next === 0x7e /* ~ */) emit('\u00a0');
      else if (next === 0x5f /* _ */) emit('\u2011');
      else if (next === 0x0a || next === 0x0d) emit('\n'); // \<newline> is \par
      // \- (optional hyphen), \: (index subentry), \| (formula): nothing to read
      continue;
    }
    // plain bytes: line ends are not text in RTF
    atGroupStart = false;
    if (c === 0x0a || c === 0x0d) {
      i++;
      continue;
    }
    if (skipping()) {
      i++;
      continue;
    }
    if (pendingSkip > 0) {
      pendingSkip--;
      i++;
      continue;
    }
    // a run of plain bytes up to the next special one, decoded in the document's code page
    let j = i;
    while (j < n && j - i < 65536) {
      const b = data[j];
      if (b === 0x5c || b === 0x7b || b === 0x7d || b === 0x0a || b === 0x0d) break;
      j++;
    }
    flushUnits();
    flushBytes();
    run += decoder.decode(data.subarray(i, j), { stream: true });
    emit('');
    i = j;
  }
  emit('');
  sink.push(run + decoder.decode());
  return sink.toString();
}
