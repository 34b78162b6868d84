import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OriginServer } from '../fixtures/origin-server';
import { poll, sleep } from '../support/wait';

export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789';

export interface Delivery {
  headers: IncomingMessage['headers'];
  body: string;
  json: { event: string; jobId: string; status: string; summary: Record<string, number> };
  at: number;
}

/** How a receiver verifies a delivery (the README shows the same). */
export function verifySignature(secret: string, rawBody: string, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * A webhook receiver as a route of the origin fixture: records every delivery and answers with the
 * statuses given in turn (the last one repeats), e.g. [500, 500, 200].
 */
export function webhookReceiver(origin: OriginServer, path: string, statuses: number[] = [200]): Delivery[] {
  const deliveries: Delivery[] = [];
  origin.route(path, (req: IncomingMessage, res: ServerResponse, body: string) => {
    deliveries.push({ headers: req.headers, body, json: JSON.parse(body), at: Date.now() });
    const status = statuses[Math.min(deliveries.length - 1, statuses.length - 1)];
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status < 300 ? 'ok' : 'receiver error');
  });
  return deliveries;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  everyMs = 25,
): Promise<T> {
  const value = await poll<T | undefined>(probe, timeoutMs, everyMs);
  if (value === undefined) throw new Error(`Timed out waiting for ${what}`);
  return value;
}

export { sleep };
