// Runs in an extraction child process (worker/jobs.ts prepareDocument) and in its unit spec: no @app imports
// (the child resolves modules without the path aliases).

/** Characters of the text the language is detected from (franc's trigram model needs no more). */
export const LANGUAGE_SAMPLE_CHARS = 4096;
/** Below this many letters a text is too short to tell its language. */
const LANGUAGE_MIN_CHARS = 40;
export const TITLE_MAX_CHARS = 256;
/** Of an HTML or Markdown source, only the head is looked at for a title. */
const TITLE_SCAN_CHARS = 64 * 1024;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function clean(raw: string): string | undefined {
  const text = raw
    .replace(/<[^>]*>/g, ' ')
    .replace(
      /&(?:#(\d{1,6})|#x([0-9a-f]{1,6})|([a-z]+));/gi,
      (m, dec?: string, hex?: string, name?: string) => {
        const code = dec ? Number(dec) : hex ? parseInt(hex, 16) : undefined;
        if (code !== undefined) return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
        return ENTITIES[(name ?? '').toLowerCase()] ?? m;
      },
    )
    .replace(/\s+/g, ' ')
    .trim();
  return text ? text.slice(0, TITLE_MAX_CHARS) : undefined;
}

/** Raw characters of a title kept before tags and entities are cleaned out (bounds the cleaning's work). */
const TITLE_RAW_CHARS = 4096;

/**
 * The content of the first `<tag …>…</tag>` of `html`, found with index searches only (linear in the source,
 * whatever unclosed tags it holds).
 */
function element(html: string, lower: string, tag: string): string | undefined {
  const at = lower.indexOf(`<${tag}`);
  if (at < 0) return undefined;
  const next = lower[at + tag.length + 1];
  if (next !== '>' && next !== ' ' && next !== '\t' && next !== '\n' && next !== '\r') return undefined;
  const from = lower.indexOf('>', at) + 1;
  if (from === 0) return undefined;
  const to = lower.indexOf(`</${tag}`, from);
  return to < 0 ? undefined : html.slice(from, Math.min(to, from + TITLE_RAW_CHARS));
}

/** The text of the first ATX heading (`# Title`, `## Title ##`) among the lines of `markdown`. */
function firstHeading(markdown: string): string | undefined {
  for (const line of markdown.split('\n')) {
    const m = /^ {0,3}#{1,6}[ \t]+/.exec(line);
    if (!m) continue;
    let text = line.slice(m[0].length, m[0].length + TITLE_RAW_CHARS);
    let end = text.length;
    while (end > 0 && ' \t#\r'.includes(text[end - 1])) end--; // the closing sequence (no regex backtracking)
    text = text.slice(0, end);
    if (text) return text;
  }
  return undefined;
}

/**
 * A document's title where its source has one: HTML's <title> (else its first <h1>), Markdown's first
 * heading (`# Title`). Other types have none. Only the first 64 KiB of the source is looked at.
 */
export function documentTitle(contentType: string, source: string | undefined): string | undefined {
  if (!source) return undefined;
  const head = source.slice(0, TITLE_SCAN_CHARS);
  if (contentType === 'text/html') {
    const lower = head.replace(/[A-Z]+/g, (c) => c.toLowerCase()); // ASCII only: the offsets stay the same
    const inner = element(head, lower, 'title') ?? element(head, lower, 'h1');
    return inner === undefined ? undefined : clean(inner);
  }
  if (contentType === 'text/markdown') {
    const heading = firstHeading(head);
    return heading === undefined ? undefined : clean(heading);
  }
  return undefined;
}

/**
 * The text's language as an ISO 639-3 code (`eng`, `fra`, `deu`…), detected by franc-min (82 languages,
 * trigram profiles) on the first LANGUAGE_SAMPLE_CHARS characters; undefined when too short to tell.
 */
export async function detectLanguage(text: string): Promise<string | undefined> {
  const sample = text.slice(0, LANGUAGE_SAMPLE_CHARS);
  if (sample.replace(/[^\p{L}]/gu, '').length < LANGUAGE_MIN_CHARS) return undefined;
  const { franc } = await import('franc-min');
  const code = franc(sample, { minLength: LANGUAGE_MIN_CHARS });
  return code === 'und' ? undefined : code;
}
