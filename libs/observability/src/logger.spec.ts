import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import {
  AccessLine,
  createAccessLog,
  createLogDestination,
  createRootLogger,
  LOG_FLUSH_INTERVAL_MS,
} from './logger';
import { runWithContext } from './request-context';

/** A root logger writing to an array of parsed lines. */
function capture(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const logger = createRootLogger({
    level,
    format: 'json',
    service: 'atrium',
    version: '1.2.3',
    env: 'test',
    destination: sink,
  });
  return { logger, lines };
}

const until = async (cond: () => boolean, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
};

describe('createAccessLog', () => {
  const line: AccessLine = {
    requestId: 'r-1',
    tenantId: 'acme',
    method: 'GET',
    route: '/api/v1/buildings/:buildingId',
    url: '/api/v1/buildings/b-1',
    status: 200,
    duration: 0.42,
  };

  it('writes the contract’s fields, the bindings and the message, info below 500 and error from 500', () => {
    const { logger, lines } = capture();
    const sut = createAccessLog(logger);
    sut(line);
    sut({ ...line, requestId: 'r-2', status: 503, errorCode: 'UPSTREAM_UNAVAILABLE' });
    expect(lines).toEqual([
      {
        level: 'info',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        service: 'atrium',
        version: '1.2.3',
        env: 'test',
        ...line,
        msg: 'request completed',
      },
      expect.objectContaining({
        level: 'error',
        requestId: 'r-2',
        status: 503,
        errorCode: 'UPSTREAM_UNAVAILABLE',
        msg: 'request completed',
      }),
    ]);
  });

  it('takes the ids it is given over the async context’s, and leaves out the ones it lacks', () => {
    const { logger, lines } = capture();
    const sut = createAccessLog(logger);
    runWithContext({ requestId: 'ctx-id', tenantId: 'ctx-tenant', kind: 'http' }, () =>
      sut({ ...line, requestId: 'r-3', tenantId: undefined }),
    );
    expect(lines[0]).toMatchObject({ requestId: 'r-3' });
    expect(lines[0]).not.toHaveProperty('tenantId');
  });

  it('keeps the logger’s level: no info line at level warn', () => {
    const { logger, lines } = capture('warn');
    const sut = createAccessLog(logger);
    sut(line);
    sut({ ...line, status: 500 });
    expect(lines.map((l) => l.status)).toEqual([500]);
  });

  it('the other lines of the logger are still redacted', () => {
    const { logger, lines } = capture();
    createAccessLog(logger)(line);
    logger.info({ headers: { authorization: 'Bearer s3cret' } }, 'x');
    expect(JSON.stringify(lines[1])).not.toContain('s3cret');
  });
});

describe('createLogDestination', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'atrium-log-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a quiet service’s line within its flush interval, without a flush call', async () => {
    const file = join(dir, 'out.log');
    const fd = openSync(file, 'a');
    const dest = createLogDestination({ fd });
    try {
      pino({ base: null }, dest).info('one short line'); // far below minLength
      await until(() => readFileSync(file, 'utf8').includes('one short line'), 10 * LOG_FLUSH_INTERVAL_MS);
      expect(readFileSync(file, 'utf8')).toContain('one short line');
    } finally {
      dest.end();
    }
  });

  it('stops its periodic flush when it is closed (no flush of a closed destination, no report)', async () => {
    const reports: string[] = [];
    const fd = openSync(join(dir, 'out.log'), 'a');
    const dest = createLogDestination({ fd, report: (m) => reports.push(m) });
    pino({ base: null }, dest).info('x');
    await new Promise<void>((resolve) => {
      dest.once('close', () => resolve());
      dest.end();
    });
    // a timer still flushing after close would throw "SonicBoom destroyed" (an uncaught error here)
    await new Promise((r) => setTimeout(r, 4 * LOG_FLUSH_INTERVAL_MS));
    expect(reports).toEqual([]);
  });

  it('says on its report channel when lines are lost to a write error, instead of dropping them silently', async () => {
    const reports: string[] = [];
    const file = join(dir, 'read-only.log');
    closeSync(openSync(file, 'w'));
    const fd = openSync(file, 'r'); // writes fail: EBADF
    const dest = createLogDestination({ fd, report: (m) => reports.push(m) });
    const logger = pino({ base: null }, dest);
    for (let i = 0; i < 200; i++) logger.info({ i }, 'a line that is lost');
    await until(() => reports.length > 0, 5_000);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(/^atrium: log lines lost on fd \d+: 1 write error\(s\), last: EBADF/);
    dest.destroy();
  });

  it('says when lines are dropped because the descriptor does not keep up', async () => {
    const reports: string[] = [];
    const fd = openSync(join(dir, 'out.log'), 'a');
    const dest = createLogDestination({ fd, report: (m) => reports.push(m), maxBufferedBytes: 1024 });
    const logger = pino({ base: null }, dest);
    // all in one turn: the first write is still under way, so the buffer fills past its 1 KiB
    for (let i = 0; i < 200; i++) logger.info({ i }, 'a line among many');
    await until(() => reports.length > 0, 5_000);
    expect(reports[0]).toMatch(/bytes of lines dropped/);
    dest.end();
  });
});

describe('the root logger on stdout', () => {
  it('writes every line, in order, when the process exits right after logging', () => {
    // a real process: lines still buffered at exit must not be lost (pino flushes its destination at exit)
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
