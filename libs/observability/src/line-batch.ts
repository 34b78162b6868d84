/** What the batch hands its lines to: pino's SonicBoom destination (or a test's sink). */
export interface LineSink {
  write(chunk: string): unknown;
  flush?(cb?: (err?: Error | null) => void): void;
  flushSync?(): void;
}

/**
 * A log destination that collects the lines written during one turn of the event loop and hands them
 * to its sink as one string (`setImmediate`). Under load the access log writes a line per request; given
 * one by one, SonicBoom measures the UTF-8 length of its whole pending buffer on every write
 * (`Buffer.byteLength` of a string built by `+=`, which flattens it: a copy of up to 16 KiB per line, the
 * largest allocation per request in the hot path's heap profile). One hand-over per turn makes that one
 * copy per turn. Order is kept: every line of the process goes through the same batch.
 *
 * Lines are never more than one turn late; `flush`/`flushSync` hand over what is pending first, and the
 * process's `exit` hands over and writes synchronously, so nothing written before exit is lost.
 */
export class LineBatch {
  private lines: string[] = [];
  private scheduled = false;
  private readonly drainNow = (): void => this.drain();

  constructor(private readonly sink: LineSink) {}

  write(line: string): boolean {
    this.lines.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drainNow);
    }
    return true;
  }

  /** Hands the pending lines to the sink now (in one string). */
  drain(): void {
    this.scheduled = false;
    const lines = this.lines;
    if (lines.length === 0) return;
    this.lines = [];
    this.sink.write(lines.length === 1 ? lines[0] : lines.join(''));
  }

  flush(cb?: (err?: Error | null) => void): void {
    this.drain();
    if (this.sink.flush) this.sink.flush(cb);
    else cb?.();
  }

  flushSync(): void {
    this.drain();
    this.sink.flushSync?.();
  }
}
