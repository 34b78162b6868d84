import type { TieredCache } from '@libs/cache';
import { testConfig } from '@app/config';
import { CachedDownload, DownloadCache, Freshness } from './download-cache';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const httpDate = (offsetSeconds: number): string => new Date(NOW + offsetSeconds * 1000).toUTCString();

describe('DownloadCache.freshness (the origin says how long an answer may be reused)', () => {
  // the namespace itself plays no part in the verdict
  const sut = new DownloadCache(
    undefined as unknown as TieredCache<CachedDownload>,
    testConfig({ DOWNLOAD_CACHE_TTL_MS: '300000' }),
  );
  const fresh = (headers: Record<string, string>, status = 200): Freshness =>
    sut.freshness('text', status, headers);
  const seconds = (s: number): Freshness => ({ store: true, freshMs: s * 1000 });
  const STALE: Freshness = { store: true, freshMs: 0 }; // stored, for revalidation only
  const NOT_STORED: Freshness = { store: false, freshMs: 0 };

  beforeEach(() => jest.useFakeTimers({ now: NOW }));
  afterEach(() => jest.useRealTimers());

  it.each<[string, Record<string, string>, Freshness]>([
    ['max-age', { 'cache-control': 'max-age=60' }, seconds(60)],
    ['max-age, quoted', { 'cache-control': 'max-age="60"' }, seconds(60)],
    [
      's-maxage wins over max-age (a shared cache)',
      { 'cache-control': 'max-age=600, s-maxage=30' },
      seconds(30),
    ],
    ['s-maxage=0 wins over max-age', { 'cache-control': 's-maxage=0, max-age=600' }, STALE],
    ['directive names in any case', { 'cache-control': 'Public, Max-Age=60' }, seconds(60)],
    ['max-age=0', { 'cache-control': 'max-age=0' }, STALE],
    ['no-cache', { 'cache-control': 'no-cache, max-age=600' }, STALE],
    ['Pragma: no-cache without Cache-Control', { pragma: 'no-cache' }, STALE],
    ['no-store', { 'cache-control': 'no-store' }, NOT_STORED],
    ['No-Store, any case', { 'cache-control': 'max-age=600, No-Store' }, NOT_STORED],
    ['private: not for a shared cache', { 'cache-control': 'private, max-age=600' }, NOT_STORED],
    [
      'proxy-revalidate: a shared cache revalidates',
      { 'cache-control': 'proxy-revalidate, max-age=60' },
      STALE,
    ],
    [
      'must-revalidate is fresh until max-age',
      { 'cache-control': 'must-revalidate, max-age=60' },
      seconds(60),
    ],
    // Age: the time the answer already spent in caches on the way counts against its lifetime
    ['Age', { 'cache-control': 'max-age=300', age: '100' }, seconds(200)],
    ['Age past max-age', { 'cache-control': 'max-age=300', age: '301' }, STALE],
    ['Age against s-maxage', { 'cache-control': 's-maxage=300', age: '60' }, seconds(240)],
    // Expires, relative to the origin's Date (its clock may be off; only the difference counts)
    ['Expires', { date: httpDate(0), expires: httpDate(120) }, seconds(120)],
    [
      'Expires with the origin an hour slow',
      { date: httpDate(-3600), expires: httpDate(-3600 + 90) },
      seconds(90),
    ],
    ['Expires and Age', { date: httpDate(0), expires: httpDate(120), age: '20' }, seconds(100)],
    ['Expires in the past', { date: httpDate(0), expires: httpDate(-1) }, STALE],
    ['Expires: 0 (invalid = already expired)', { expires: '0' }, STALE],
    [
      'max-age wins over Expires',
      { 'cache-control': 'max-age=30', date: httpDate(0), expires: httpDate(3600) },
      seconds(30),
    ],
    // Vary: Atrium's requests for one key are identical in what a Vary can name, except `*`
    ['Vary: *', { 'cache-control': 'max-age=600', vary: '*' }, STALE],
    [
      'Vary on a request header',
      { 'cache-control': 'max-age=600', vary: 'Accept-Encoding, User-Agent' },
      seconds(600),
    ],
    // no stated lifetime: DOWNLOAD_CACHE_TTL_MS, not the library's fraction of the time since Last-Modified
    ['nothing stated', {}, seconds(300)],
    ['nothing stated but Date', { date: httpDate(-10) }, seconds(300)],
    ['only Last-Modified, years ago', { 'last-modified': httpDate(-5 * 365 * 86400) }, seconds(300)],
    ['only public', { 'cache-control': 'public' }, seconds(300)],
    ['nothing stated, an Age', { age: '100' }, seconds(200)],
    // a page that sets a cookie is the anonymous one (Atrium sends none and passes none on)
    ['Set-Cookie', { 'cache-control': 'max-age=60', 'set-cookie': 'session=abc' }, seconds(60)],
  ])('%s', (_label, headers, expected) => {
    expect(fresh(headers)).toEqual(expected);
  });

  it('keeps the origin headers it was given as they were', () => {
    const headers = { 'cache-control': 'Max-Age=60', 'set-cookie': 'a=b' };
    fresh(headers);
    expect(headers).toEqual({ 'cache-control': 'Max-Age=60', 'set-cookie': 'a=b' });
  });

  it('stores only statuses a cache understands (a 206 is a part of something)', () => {
    expect(fresh({ 'cache-control': 'max-age=60' }, 203)).toEqual(seconds(60));
    expect(fresh({ 'cache-control': 'max-age=60' }, 206)).toEqual(NOT_STORED);
  });

  it('a 304 renews the stored answer for the lifetime its own headers state (status of the stored one)', () => {
    expect(sut.freshness('markdown', 200, { 'cache-control': 'max-age=45', etag: '"v1"' })).toEqual(
      seconds(45),
    );
    expect(sut.freshness('markdown', 200, { etag: '"v1"' })).toEqual(seconds(300));
  });

  it('DOWNLOAD_CACHE_TTL_MS=0: an answer that states nothing is never fresh, but kept for revalidation', () => {
    const zero = new DownloadCache(
      undefined as unknown as TieredCache<CachedDownload>,
      testConfig({ DOWNLOAD_CACHE_TTL_MS: '0' }),
    );
    expect(zero.freshness('raw', 200, {})).toEqual(STALE);
    expect(zero.freshness('raw', 200, { 'cache-control': 'max-age=60' })).toEqual(seconds(60));
  });

  it('entries with validators are kept a day past their freshness; large bodies are not stored', () => {
    const value: CachedDownload = {
      body: Buffer.from('hi').toString('base64'),
      contentType: 'text/plain',
      finalUrl: 'http://example.test/',
      originalContentType: 'text/plain',
      contentLength: 2,
      statusCode: 200,
    };
    expect(sut.entry(value, seconds(60)).opts).toMatchObject({ ttlMs: 60_000, keepMs: 60_000, store: true });
    expect(sut.entry({ ...value, etag: '"a"' }, seconds(60)).opts).toMatchObject({
      ttlMs: 60_000,
      keepMs: 60_000 + 86_400_000,
    });
    const big = { ...value, body: Buffer.alloc(2 * 1024 * 1024 + 1).toString('base64') };
    expect(sut.entry(big, seconds(60)).opts.store).toBe(false);
  });
});
