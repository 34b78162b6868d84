import { CapacityExceededError } from '../downloader/downloader.errors';
import { ExtractionBusyError } from '../extraction/extraction.errors';
import { AnswerCapacityError } from '../search/answer/answer.errors';
import { UploadCapacityError } from '../search/upload/upload-budget';
import { AppError } from './app-error';
import { capacityExceeded } from './capacity';

/** What the client sees of an error: status, code, details (key order as sent) and headers. */
const wire = (e: AppError) => ({
  status: e.status,
  code: e.code,
  message: e.message,
  details: JSON.stringify(e.details),
  headers: e.headers,
  fault: e.fault,
});

describe('capacityExceeded (503 CAPACITY_EXCEEDED, docs/api.md)', () => {
  it('puts pool, reason and limit first, the further details next and waitedMs (rounded) last; Retry-After beside the extra headers', () => {
    const [status, code, message, details, headers] = capacityExceeded({
      pool: 'p',
      message: 'm',
      retryAfterSeconds: 3,
      waitedMs: 12.6,
      details: { scope: 'tenant' },
      limit: 4,
      reason: 'queue_full',
      headers: { Connection: 'close' },
    });
    expect([status, code, message]).toEqual([503, 'CAPACITY_EXCEEDED', 'm']);
    expect(JSON.stringify(details)).toBe(
      '{"pool":"p","reason":"queue_full","limit":4,"scope":"tenant","waitedMs":13}',
    );
    expect(headers).toEqual({ 'Retry-After': '3', Connection: 'close' });
    // what is not given is not sent
    expect(capacityExceeded({ pool: 'p', message: 'm', retryAfterSeconds: 1 }).slice(3)).toEqual([
      { pool: 'p' },
      { 'Retry-After': '1' },
    ]);
  });

  it("every feature's capacity error answers as documented", () => {
    expect(wire(new AnswerCapacityError('wait_timeout', 2, 1500.4))).toEqual({
      status: 503,
      code: 'CAPACITY_EXCEEDED',
      message:
        'Every answer slot of this server is busy (ANSWER_CONCURRENCY), try again shortly; answer=extractive needs no model',
      details: '{"pool":"answer","reason":"wait_timeout","limit":2,"waitedMs":1500}',
      headers: { 'Retry-After': '2' },
      fault: 'atrium',
    });
    expect(wire(new UploadCapacityError(1000, 400, 0.2))).toEqual({
      status: 503,
      code: 'CAPACITY_EXCEEDED',
      message:
        "Uploads in progress already use this server's upload memory budget (UPLOAD_MEMORY_BUDGET_MB); nothing of this request was read, try again shortly",
      details: '{"pool":"upload_memory","budgetBytes":1000,"requestedBytes":400,"waitedMs":0}',
      headers: { 'Retry-After': '2', Connection: 'close' },
      fault: 'atrium',
    });
    expect(wire(new ExtractionBusyError(8))).toEqual({
      status: 503,
      code: 'CAPACITY_EXCEEDED',
      message: 'All document parsers are busy, try again shortly',
      details: '{"pool":"extraction","limit":8}',
      headers: { 'Retry-After': '1' },
      fault: 'atrium',
    });
    expect(wire(new CapacityExceededError('pdf', 1, 'pdf', true))).toEqual({
      status: 503,
      code: 'CAPACITY_EXCEEDED',
      message: 'This tenant already uses its 1 pdf slot, try again shortly',
      details: '{"pool":"pdf","limit":1,"scope":"tenant"}',
      headers: { 'Retry-After': '1' },
      fault: 'atrium',
    });
    const shared = new CapacityExceededError('extraction', 3, 'extraction');
    expect(wire(shared)).toMatchObject({
      message: 'All 3 extraction slots are busy, try again shortly',
      details: '{"pool":"extraction","limit":3}',
      headers: { 'Retry-After': '1' },
    });
    expect(shared.errorType).toBe('extraction');
  });
});
