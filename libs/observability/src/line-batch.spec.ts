import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LineBatch, LineSink } from './line-batch';

class Sink implements LineSink {
  chunks: string[] = [];
  flushed = 0;
  syncFlushed = 0;
  write(chunk: string): void {
    this.chunks.push(chunk);
  }
  flush(cb?: (err?: Error | null) => void): void {
    this.flushed++;
    cb?.();
  }
  flushSync(): void {
    this.syncFlushed++;
  }
}

describe('LineBatch', () => {
  it('hands the lines of one turn to the sink as one string, in order', async () => {
    const sink = new Sink();
    const batch = new LineBatch(sink);
    batch.write('a\n');
    batch.write('b\n');
    batch.write('c\n');
    expect(sink.chunks).toEqual([]);
    await nextTurn();
    expect(sink.chunks).toEqual(['a\nb\nc\n']);
    batch.write('d\n');
    await nextTurn();
    expect(sink.chunks).toEqual(['a\nb\nc\n', 'd\n']);
  });

  it('flush hands over what is pending, then flushes the sink', () => {
    const sink = new Sink();
    const batch = new LineBatch(sink);
    batch.write('a\n');
    batch.flush();
    expect(sink.chunks).toEqual(['a\n']);
    expect(sink.flushed).toBe(1);
  });

  it('flushSync empties the sink, then writes what is pending straight to its file descriptor', () => {
    const dir = mkdtempSync(join(tmpdir(), 'line-batch-'));
    const fd = openSync(join(dir, 'out.log'), 'w');
    try {
      const sink = Object.assign(new Sink(), { fd });
      const batch = new LineBatch(sink);
      batch.write('a\n');
      batch.write('b\n');
      batch.flushSync();
      expect(sink.syncFlushed).toBe(1);
      expect(sink.chunks).toEqual([]); // not handed to the sink: it could start an asynchronous write
      expect(readFileSync(join(dir, 'out.log'), 'utf8')).toBe('a\nb\n');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('flushSync on a sink without a file descriptor hands over, then flushes it again', () => {
    const sink = new Sink();
    const batch = new LineBatch(sink);
    batch.write('b\n');
    batch.flushSync();
    expect(sink.chunks).toEqual(['b\n']);
    expect(sink.syncFlushed).toBe(2);
  });

  it('a destination that throws (closed at exit) does not throw from the event loop', async () => {
    const batch = new LineBatch({
      write: () => {
        throw new Error('SonicBoom destroyed');
      },
    });
    batch.write('lost\n');
    await nextTurn();
    expect(() => batch.drain()).not.toThrow();
  });

  it('does not write an empty chunk when nothing is pending', async () => {
    const sink = new Sink();
    const batch = new LineBatch(sink);
    batch.write('a\n');
    batch.drain();
    await nextTurn();
    expect(sink.chunks).toEqual(['a\n']);
    const done = jest.fn();
    batch.flush(done);
    expect(sink.chunks).toEqual(['a\n']);
    expect(done).toHaveBeenCalled();
  });

  it('calls back at once when the sink has no flush', () => {
    const chunks: string[] = [];
    const batch = new LineBatch({ write: (c: string) => chunks.push(c) });
    const done = jest.fn();
    batch.write('x\n');
    batch.flush(done);
    batch.flushSync();
    expect(chunks).toEqual(['x\n']);
    expect(done).toHaveBeenCalledTimes(1);
  });
});

describe('the root logger on stdout', () => {
  it('writes every line, in order, when the process exits right after logging', () => {
    // a real process: lines still in the batch (not yet handed to SonicBoom) at exit must not be lost
    const logger = require.resolve('./logger');
    const script = `
      const { createRootLogger } = require(${JSON.stringify(logger)});
      const log = createRootLogger({ level: 'info', format: 'json', service: 's', version: 'v', env: 'test' });
      for (let i = 0; i < 500; i++) log.info({ i }, 'line');
      process.exit(0);
    `;
    const out = spawnSync(process.execPath, ['-r', '@swc-node/register', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(out.status).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(500);
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual([...Array(500).keys()]);
  });
});
