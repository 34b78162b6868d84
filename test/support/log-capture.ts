import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createRootLogger } from '@libs/observability';

/** A root logger whose JSON lines the test can read back. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  readonly logger: Logger;

  constructor(level = 'info') {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line.trim()) continue;
          this.raw.push(line);
          try {
            this.lines.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // not JSON: kept in raw only
          }
        }
        cb();
      },
    });
    this.logger = createRootLogger({
      level,
      format: 'json',
      service: 'atrium',
      version: 'test',
      env: 'test',
      destination: sink,
    });
  }

  find(pred: (l: Record<string, unknown>) => boolean): Record<string, unknown>[] {
    return this.lines.filter(pred);
  }
}
