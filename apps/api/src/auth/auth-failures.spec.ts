import { AuthFailureThrottle } from './auth-failures';

describe('AuthFailureThrottle', () => {
  let now = 0;
  const clock = () => now;
  beforeEach(() => (now = 1_000_000));

  it('lets `limit` failures per window through as 401s, then throttles until the window ends', () => {
    const sut = new AuthFailureThrottle(3, 60_000, 100, clock);
    expect([1, 2, 3].map(() => sut.fail('1.2.3.4').throttled)).toEqual([false, false, false]);
    now += 15_000;
    expect(sut.fail('1.2.3.4')).toEqual({ throttled: true, retryAfterSeconds: 45, first: true });
    now += 44_500;
    expect(sut.fail('1.2.3.4')).toEqual({ throttled: true, retryAfterSeconds: 1, first: false });
    now += 500; // the window has ended: a new one opens
    expect(sut.fail('1.2.3.4')).toEqual({ throttled: false });
  });

  it('counts each address on its own', () => {
    const sut = new AuthFailureThrottle(1, 60_000, 100, clock);
    sut.fail('a');
    expect(sut.fail('a').throttled).toBe(true);
    expect(sut.fail('b').throttled).toBe(false);
  });

  it('keeps at most maxTracked addresses, dropping the oldest window first', () => {
    const sut = new AuthFailureThrottle(1, 60_000, 3, clock);
    for (const a of ['a', 'b', 'c', 'd', 'e']) {
      sut.fail(a);
      now += 1;
    }
    expect(sut.tracked).toBe(3);
    // a and b were dropped: their next failure opens a fresh window; e is still counted
    expect(sut.fail('a').throttled).toBe(false);
    expect(sut.fail('e').throttled).toBe(true);
    for (let i = 0; i < 100_000; i++) sut.fail(`x${i}`);
    expect(sut.tracked).toBe(3);
  });
});
