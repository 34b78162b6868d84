import { clientErrorBody, HttpLimits } from './http-limits';

const limits: HttpLimits = {
  bodyIdleTimeoutMs: 30000,
  bodyMinBytesPerSecond: 1024,
  headersReadTimeoutMs: 10000,
  headersMaxBytes: 16384,
  urlMaxLength: 8192,
};
const parserError = (code: string, rawPacket?: Buffer) => Object.assign(new Error(code), { code, rawPacket });

describe('clientErrorBody', () => {
  it('maps the request timers to 408 REQUEST_TIMEOUT naming both limits', () => {
    expect(clientErrorBody(parserError('ERR_HTTP_REQUEST_TIMEOUT'), limits)).toMatchObject({
      status: 408,
      code: 'REQUEST_TIMEOUT',
      details: { headersTimeoutMs: 10000, bodyIdleTimeoutMs: 30000, bodyMinBytesPerSecond: 1024 },
    });
  });

  it('says 414 only when the failing chunk is a request line that never ended, else 431', () => {
    const line = Buffer.from(`GET /${'a'.repeat(20000)}`);
    expect(clientErrorBody(parserError('HPE_HEADER_OVERFLOW', line), limits)).toMatchObject({
      status: 414,
      code: 'URI_TOO_LONG',
    });
    const headers = Buffer.from(`GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(20000)}`);
    expect(clientErrorBody(parserError('HPE_HEADER_OVERFLOW', headers), limits)).toMatchObject({
      status: 431,
      code: 'HEADERS_TOO_LARGE',
      details: { limit: 16384 },
    });
    // a later chunk of either: the start is not known, so the answer is the general one
    expect(clientErrorBody(parserError('HPE_HEADER_OVERFLOW', Buffer.from('aaaa')), limits).status).toBe(431);
    expect(clientErrorBody(parserError('HPE_HEADER_OVERFLOW'), limits).status).toBe(431);
  });

  it('answers any other parser error 400 BAD_REQUEST', () => {
    expect(clientErrorBody(parserError('HPE_INVALID_METHOD'), limits)).toMatchObject({
      status: 400,
      code: 'BAD_REQUEST',
    });
  });
});
