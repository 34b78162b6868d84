import { writeSync } from 'node:fs';

/** What the batch hands its lines to: pino's SonicBoom destination (or a test's sink). */
export interface LineSink {
  write(chunk: string): unknown;
  flush?(cb?: (err?: Error | null) => void): void;
  flushSync?(): void;
  /** SonicBoom's file descriptor (-1 until open): where `flushSync` writes what is pending, synchronously. */
  fd?: number;
}

/**
 * A log destination that collects the lines written during one turn of the event loop and hands them
 * to its sink as one string (`setImmediate`). Under load the access log writes a line per request; given
 * one by one, SonicBoom measures the UTF-8 length of its whole pending buffer on every write
 * (`Buffer.byteLength` of a string built by `+=`, which flattens it: a copy of up to 16 KiB per line, the
 * largest allocation per request in the hot path's heap profile). One hand-over per turn makes that one
 * copy per turn. Order is kept: every line of the process goes through the same batch.
 *
 * Lines are never more than one turn late; `flush` hands over what is pending first. `flushSync` (the
 * process's `exit`) empties the sink synchronously, then writes what is pending straight to its file
 * descriptor: handed over at exit, a chunk past SonicBoom's `minLength` would start an asynchronous write
 * that the process does not wait for. A write SonicBoom had already started before exit is its own
 * (sonic-boom's `flushSync` leaves it to finish, or not).
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
    const pending = this.take();
    if (pending === undefined) return;
    try {
      this.sink.write(pending);
    } catch {
      // the destination is closed (the process is ending): there is nowhere left to write these lines
    }
  }

  private take(): string | undefined {
    this.scheduled = false;
    const lines = this.lines;
    if (lines.length === 0) return undefined;
    this.lines = [];
    return lines.length === 1 ? lines[0] : lines.join('');
  }

  flush(cb?: (err?: Error | null) => void): void {
    this.drain();
    if (this.sink.flush) this.sink.flush(cb);
    else cb?.();
  }

  flushSync(): void {
    const pending = this.take();
    this.sink.flushSync?.();
    if (pending === undefined) return;
    const fd = this.sink.fd;
    if (typeof fd === 'number' && fd >= 0) writeSync(fd, pending);
    else {
      this.sink.write(pending);
      this.sink.flushSync?.();
    }
  }
}
