import { Writable } from 'node:stream';
import { AccessLine, createAccessLog } from './access-log';
import { createRootLogger } from './logger';

/** A root logger writing to an array of parsed lines. */
function capture(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write: (chunk: Buffer, _enc, cb) => {
      for (const l of chunk.toString('utf8').split('\n').filter(Boolean)) {
        raw.push(l);
        lines.push(JSON.parse(l) as Record<string, unknown>);
      }
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
  return { logger, lines, raw };
}

describe('createAccessLog', () => {
  const lines: AccessLine[] = [
    {
      requestId: 'r-1',
      tenantId: 'acme',
      method: 'GET',
      route: '/api/v1/buildings/:buildingId',
      url: '/api/v1/buildings/b-1',
      status: 200,
      duration: 0.42,
    },
    {
      requestId: 'r-2',
      method: 'POST',
      route: 'unmatched',
      url: '/x?q="quoted"\\\u2028',
      status: 404,
      duration: 1,
      errorCode: 'NOT_FOUND',
    },
    {
      requestId: 'r-3',
      tenantId: 'ten\u0001ant',
      method: 'GET',
      route: '/api/v1/search',
      url: '/api/v1/search?q=\ud83d\ude00\ud800\t',
      status: 200,
      duration: 3,
    },
    {
      method: 'GET',
      route: '/api/v1/download',
      url: '/api/v1/download?url=http%3A%2F%2F%5BREDACTED%5D%40h%2F',
      status: 502,
      duration: 12.5,
      errorCode: 'UPSTREAM_ERROR',
    },
  ];

  it('writes the line pino writes for the same fields (keys, order, values, level), apart from the time', () => {
    const ours = capture();
    const theirs = capture();
    const write = createAccessLog(ours.logger.child({}, { redact: { paths: [] } }));
    for (const l of lines) {
      write(l);
      const fields = Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined));
      if (l.status >= 500) theirs.logger.error(fields, 'request completed');
      else theirs.logger.info(fields, 'request completed');
    }
    ours.logger.flush();
    theirs.logger.flush();
    const withoutTime = (raw: string): string => raw.replace(/"time":"[^"]+"/, '"time":"T"');
    expect(ours.raw.map(withoutTime)).toEqual(theirs.raw.map(withoutTime));
    expect(ours.lines.map((l) => l.level)).toEqual(['info', 'info', 'info', 'error']);
    expect(typeof ours.lines[0].time).toBe('string');
    expect(Date.parse(ours.lines[0].time as string)).not.toBeNaN();
  });

  it('honours the level: nothing below it is written', () => {
    const warnOnly = capture('warn');
    const write = createAccessLog(warnOnly.logger);
    for (const l of lines) write(l);
    warnOnly.logger.flush();
    expect(warnOnly.lines.map((l) => l.status)).toEqual([502]);
  });
});
