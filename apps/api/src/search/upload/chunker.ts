/**
 * Splits text into passages of at most `size` characters that overlap by about `overlap` characters,
 * cutting at a paragraph, line, sentence or word boundary when one lies in the last half of the window,
 * so a phrase that straddles a cut is still found whole in one chunk.
 */
export function chunkText(text: string, size: number, overlap: number): string[] {
  return [...chunks(text, size, overlap)];
}

/**
 * chunkText as [start, end) offsets into `text`, two per chunk: what the extraction child sends back with
 * the text, so the API process gets its chunks by slicing (no copy, nothing to deserialise twice).
 */
export function chunkRanges(text: string, size: number, overlap: number): Uint32Array {
  let ranges = new Uint32Array(256);
  let n = 0;
  for (const [start, end] of spans(text, size, overlap)) {
    if (n + 2 > ranges.length) {
      const grown = new Uint32Array(ranges.length * 2);
      grown.set(ranges);
      ranges = grown;
    }
    ranges[n++] = start;
    ranges[n++] = end;
  }
  return ranges.slice(0, n);
}

function* chunks(text: string, size: number, overlap: number): Generator<string> {
  for (const [start, end] of spans(text, size, overlap)) yield text.slice(start, end);
}

/** Each chunk's bounds, trimmed of white space at both ends; empty chunks are left out. */
function* spans(text: string, size: number, overlap: number): Generator<[number, number]> {
  const len = text.length;
  let start = skipSpace(text, 0);
  while (start < len) {
    let end = Math.min(start + size, len);
    if (end < len) end = breakPoint(text, start, end);
    // a hard cut (no break in the window) never splits a surrogate pair
    if (end < len && end > start + 1 && (text.charCodeAt(end) & 0xfc00) === 0xdc00) end--;
    let to = end;
    while (to > start && /\s/.test(text[to - 1])) to--;
    if (to > start) yield [start, to];
    if (end >= len) break;
    // Step back by the overlap, then forward to the next word start so no chunk begins mid-word.
    let next = Math.max(end - overlap, start + 1);
    if (next < end && next > 0 && !/\s/.test(text[next - 1])) {
      const ws = text.slice(next, end).search(/\s/);
      next = ws === -1 ? end : next + ws;
    }
    start = skipSpace(text, next);
  }
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && /\s/.test(text[i])) i++;
  return i;
}

function breakPoint(text: string, start: number, end: number): number {
  const min = start + Math.floor((end - start) / 2);
  const window = text.slice(min, end);
  for (const sep of [/\n\s*\n/g, /\n/g, /[.!?]["')\]]?\s/g, /\s/g]) {
    let last = -1;
    for (const m of window.matchAll(sep)) last = m.index + m[0].length;
    if (last > 0) return min + last;
  }
  return end;
}
