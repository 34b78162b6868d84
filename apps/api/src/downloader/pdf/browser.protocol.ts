// The IPC protocol between PdfRenderer (the API process) and its browser host child (browser.worker.ts).
// Types only: the child imports nothing of the app.

/** Sent once after the child starts: how to launch the browser. */
export interface BrowserSetup {
  executablePath: string;
  args: string[];
  userAgent: string;
}

/**
 * One page to print (`pdf`) or to read after it ran (`html`: the rendered DOM, page.content()). The main
 * document was fetched by the parent (URL policy, size limit).
 */
export interface RenderJob {
  output: 'pdf' | 'html';
  /** html: wait until an element matches this CSS selector (within the deadline). */
  waitFor?: string;
  /** html: wait this long after load (and waitFor), within the deadline. */
  waitMs?: number;
  /** html: a rendered DOM larger than this (UTF-8 bytes) is refused. */
  maxOutputBytes: number;
  id: number;
  /** The page's final URL: the navigation the child answers with `body`. */
  url: string;
  body: Uint8Array;
  /** With the charset the other formats decode with. */
  contentType: string;
  timeoutMs: number;
  /** Requests past this many are aborted (blocked). */
  maxRequests: number;
}

export type ParentMessage =
  | { type: 'setup'; setup: BrowserSetup }
  | { type: 'render'; job: RenderJob }
  | { type: 'cancel'; id: number }
  /** The answer to a `fetch`: the sub-resource as the page gets it. */
  | { type: 'fetched'; id: number; reqId: number; status: number; contentType: string; body: Uint8Array }
  /** The parent would not or could not fetch it: `blocked` when the URL policy refused it. */
  | { type: 'refused'; id: number; reqId: number; blocked: boolean }
  | { type: 'close' };

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'launch-failed'; message: string }
  /** A sub-resource the page asks for: the parent fetches it through the URL policy. */
  | { type: 'fetch'; id: number; reqId: number; url: string; accept: string }
  /** `output`: the PDF, or the rendered DOM as UTF-8. */
  | { type: 'done'; id: number; output: Uint8Array; blocked: string[] }
  | { type: 'failed'; id: number; timedOut: boolean; tooLarge?: boolean; message: string };
