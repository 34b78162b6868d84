import { signBody, verifySignature } from './building-webhook.service';

describe('webhook signature', () => {
  const secret = 'webhook-secret-0123456789';
  const raw = Buffer.from('{"tenantId":"acme","buildingIds":["b-1"],"event":"building.updated"}');

  it('accepts sha256=<hex HMAC of the raw body>, case-insensitive hex', () => {
    expect(verifySignature(secret, raw, signBody(secret, raw))).toBe(true);
    expect(
      verifySignature(secret, raw, signBody(secret, raw).toUpperCase().replace('SHA256=', 'sha256=')),
    ).toBe(true);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['wrong secret', signBody('another-secret-xyz', raw)],
    ['other body', signBody(secret, Buffer.concat([raw, Buffer.from(' ')]))],
    ['no prefix', signBody(secret, raw).slice('sha256='.length)],
    ['truncated', signBody(secret, raw).slice(0, -2)],
    ['not hex', `sha256=${'z'.repeat(64)}`],
    ['array header', [signBody(secret, raw)]],
  ])('refuses %s', (_name, header) => {
    expect(verifySignature(secret, raw, header)).toBe(false);
  });
});
