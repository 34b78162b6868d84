import { EventEmitter } from 'node:events';
import { ConnectionMonitor, connectionFailureReason, redisAddress } from './connection-monitor';

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });

describe('ConnectionMonitor', () => {
  let now = 0;
  let lines: { level: string; fields: Record<string, unknown>; msg: string }[];
  const sut = (reminderMs = 60_000): ConnectionMonitor =>
    new ConnectionMonitor({
      dependency: 'Redis',
      address: '127.0.0.1:6390',
      impact: 'the cache degrades to L1',
      reminderMs,
      now: () => now,
      logger: {
        warn: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', fields, msg }),
        log: (fields: Record<string, unknown>, msg: string) => lines.push({ level: 'info', fields, msg }),
      },
    });
  beforeEach(() => {
    now = 1_000_000;
    lines = [];
  });

  it('says once that the dependency is lost, however many clients fail however often, and once that it is back', () => {
    const m = sut();
    const cache = m.reporter('cache');
    const queue = m.reporter('job queue');
    expect(m.state).toBe('connecting');
    for (let i = 0; i < 30; i++) {
      now += 500;
      cache.error(refused);
      queue.error(refused);
    }
    expect(m.state).toBe('down');
    expect(m.reason).toBe('connection refused');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      fields: {
        dependency: 'redis',
        event: 'connection_lost',
        address: '127.0.0.1:6390',
        reason: 'connection refused',
      },
    });
    expect(lines[0].msg).toBe(
      'Redis connection lost (127.0.0.1:6390: connection refused) — it was never reached since start; the cache ' +
        'degrades to L1. Reconnecting in the background; one line follows when it is back',
    );
    // back only when every client that failed is ready again
    cache.ready();
    expect(m.state).toBe('down');
    now += 2_000;
    queue.ready();
    expect(m.state).toBe('up');
    expect(m.reason).toBeUndefined();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({
      level: 'info',
      fields: { event: 'connection_restored', downSeconds: 16.5 },
    });
    expect(lines[1].msg).toBe('Redis connection restored (127.0.0.1:6390) after 16.5 s');
  });

  it('reminds at most once per reminder interval while down', () => {
    const m = sut(10_000);
    const c = m.reporter('cache');
    c.ready();
    for (let i = 0; i < 25; i++) {
      c.error(refused);
      now += 1_000;
    }
    expect(lines.map((l) => l.fields.event)).toEqual([
      'connection_lost',
      'connection_still_down',
      'connection_still_down',
    ]);
    expect(lines[0].msg).not.toContain('never reached');
    expect(lines[1].msg).toBe(
      'Redis still unreachable after 10 s (127.0.0.1:6390: connection refused; 11 failed attempts)',
    );
  });

  it('forgets a client closed on purpose, and watches emitters (error, ready, end)', () => {
    const m = sut();
    const client = m.watch('job store', new EventEmitter());
    const other = m.reporter('cache');
    other.ready();
    client.emit('error', refused); // an emitter with a listener: never thrown
    expect(m.state).toBe('down');
    client.emit('end');
    expect(m.state).toBe('up');
    client.emit('error', refused); // after its end: not news
    expect(m.state).toBe('up');
    const again = m.watch('job store', new EventEmitter()); // a second client of the same name
    again.emit('ready');
    expect(m.state).toBe('up');
    expect(lines.map((l) => l.fields.event)).toEqual(['connection_lost']);
  });
});

describe('connectionFailureReason', () => {
  it.each([
    [refused, 'connection refused'],
    [Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 'host not found'],
    [
      Object.assign(new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })]), {}),
      'connection refused',
    ],
    [new Error('WRONGPASS invalid username-password pair'), 'authentication failed'],
    [new Error('Socket closed unexpectedly'), 'connection closed'],
    [new Error('Connection timeout'), 'connection timed out'],
    [new Error('something else\nwith a second line'), 'something else'],
    ['a string', 'a string'],
  ])('%s → %s', (err, reason) => expect(connectionFailureReason(err)).toBe(reason));
});

describe('redisAddress', () => {
  it('gives host:port, never the credentials', () => {
    expect(redisAddress('redis://user:secret@cache.internal:6380/0')).toBe('cache.internal:6380');
    expect(redisAddress('rediss://cache.internal')).toBe('cache.internal:6379');
    expect(redisAddress('not a url')).toBe('redis');
  });
});
