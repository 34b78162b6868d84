import { setImmediate } from 'node:timers/promises';

/**
 * Splits text into passages of at most `size` characters that overlap by about `overlap` characters,
 * cutting at a paragraph, line, sentence or word boundary when one lies in the last half of the window,
 * so a phrase that straddles a cut is still found whole in one chunk.
 */
export function chunkText(text: string, size: number, overlap: number): string[] {
  return [...chunks(text, size, overlap)];
}

/** Chunks handed over between turns of the event loop by chunkTextYielding. */
const CHUNKS_PER_TURN = 500;

/**
 * chunkText for the request path: the same chunks, but the event loop gets a turn every
 * CHUNKS_PER_TURN chunks, so a 19 MiB text (~20,000 chunks) does not hold /health/live for its whole run.
 */
export async function chunkTextYielding(text: string, size: number, overlap: number): Promise<string[]> {
  const out: string[] = [];
  for (const chunk of chunks(text, size, overlap)) {
    out.push(chunk);
    if (out.length % CHUNKS_PER_TURN === 0) await setImmediate();
  }
  return out;
}

function* chunks(text: string, size: number, overlap: number): Generator<string> {
  const len = text.length;
  let start = skipSpace(text, 0);
  while (start < len) {
    let end = Math.min(start + size, len);
    if (end < len) end = breakPoint(text, start, end);
    const chunk = text.slice(start, end).trim();
    if (chunk) yield chunk;
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
