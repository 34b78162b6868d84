import { redactUrl } from './redaction';
import { currentContext, runInBackground, runWithContext, setContextTenant } from './request-context';
import { resolveRequestId } from './request-id';

describe('resolveRequestId', () => {
  it.each(['a', 'A-z_0.9:x', 'x'.repeat(128)])('keeps %p', (id) => expect(resolveRequestId(id)).toBe(id));
  it.each(['', 'x'.repeat(129), 'a b', 'a/b', 'é', '<x>'])('replaces %p with a UUID', (id) =>
    expect(resolveRequestId(id)).toMatch(/^[0-9a-f-]{36}$/),
  );
  it('uses the first of repeated headers', () => expect(resolveRequestId(['one', 'two'])).toBe('one'));
});

describe('redactUrl', () => {
  it('masks credential-like query values and keeps the rest', () => {
    expect(redactUrl('/x?token=abc&page=2&X-Amz-Signature=s&api_key=k')).toBe(
      '/x?token=[REDACTED]&page=2&X-Amz-Signature=[REDACTED]&api_key=[REDACTED]',
    );
  });
  it('masks the signed query of a URL passed as a parameter', () => {
    const out = redactUrl(
      `/api/v1/download?url=${encodeURIComponent('https://s3.example/o?X-Amz-Signature=SECRET&a=1')}&format=text`,
    );
    expect(out).not.toContain('SECRET');
    expect(out).toContain('format=text');
  });
  it('leaves URLs without a query alone', () => expect(redactUrl('/health')).toBe('/health'));

  it.each([
    'pwd',
    'password',
    'passwd',
    'pw',
    'secret',
    'client_secret',
    'token',
    'access_token',
    'apikey',
    'jwt',
  ])('masks a %s parameter', (name) =>
    expect(redactUrl(`/x?${name}=hunter2&page=2`)).toBe(`/x?${name}=[REDACTED]&page=2`),
  );

  it('masks the userinfo of a URL given as a query value, whatever its scheme', () => {
    for (const inner of [
      'http://u:secret@host/',
      'https://user:secret@host:8443/p?q=1',
      'redis://:secret@cache:6379/0',
      'postgres://app:secret@db/prod',
      '//u:secret@host/',
      'http://only-user-secret@host/',
      'http://u:p%40ss:secret@host/',
    ]) {
      const out = redactUrl(`/api/v1/download?url=${encodeURIComponent(inner)}&format=text`);
      expect(out).not.toMatch(/secret/);
      expect(out).toContain('format=text');
      expect(decodeURIComponent(out)).toContain('[REDACTED]@');
    }
  });

  it('masks userinfo in the URL itself and keeps hosts and paths readable', () => {
    expect(redactUrl('http://u:secret@host/a?b=1')).toBe('http://[REDACTED]@host/a?b=1');
    expect(redactUrl('/path/http://u:secret@host/x')).toBe('/path/http://[REDACTED]@host/x');
    expect(redactUrl('/users/me@example.com')).toBe('/users/me@example.com');
    expect(decodeURIComponent(redactUrl('/x?next=http://host/a@b'))).toBe('/x?next=http://host/a@b');
  });
});

describe('request context', () => {
  it('carries id and tenant through async work and isolates background work', async () => {
    await runWithContext({ requestId: 'r1', kind: 'http' }, async () => {
      setContextTenant('acme');
      await new Promise((r) => setTimeout(r, 1));
      expect(currentContext()).toEqual({ requestId: 'r1', tenantId: 'acme', kind: 'http' });
      await runInBackground(
        'job',
        async () => {
          await Promise.resolve();
          expect(currentContext()).toEqual({ requestId: 'job-7', tenantId: 'demo', kind: 'job' });
        },
        { id: 'job-7', tenantId: 'demo' },
      );
      expect(currentContext()?.requestId).toBe('r1');
    });
    expect(currentContext()).toBeUndefined();
  });
});
