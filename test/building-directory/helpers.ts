import { Redis } from 'ioredis';
import { createHmac } from 'node:crypto';
import type { FixtureBuilding } from '../fixtures/upstream-directory';

export const ACME_KEY = 'acme-key-0123456789abcdef';
export const GLOBEX_KEY = 'globex-key-0123456789abcdef';
export const ADMIN_KEY = 'admin-key-0123456789abcdef';
export const API_KEYS = `${ACME_KEY}=acme,${GLOBEX_KEY}=globex,${ADMIN_KEY}=*`;
export const WEBHOOK_SECRET = 'webhook-secret-0123456789';
export const UPSTREAM_TOKEN = 'upstream-token-abc';

export const auth = (
  key: string,
  extra: Record<string, string> = {},
): { headers: Record<string, string> } => ({
  headers: { authorization: `Bearer ${key}`, ...extra },
});

export const postJson = (
  key: string | undefined,
  body: unknown,
  extra: Record<string, string> = {},
): RequestInit => ({
  method: 'POST',
  headers: {
    'content-type': 'application/json',
    ...(key ? { authorization: `Bearer ${key}` } : {}),
    ...extra,
  },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

export const sign = (raw: string, secret = WEBHOOK_SECRET): string =>
  `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

/** The fixture data: same id `b-1` under two tenants, and every shape the directory uses. */
export const FIXTURE_DATA: Record<string, FixtureBuilding[]> = {
  acme: [
    {
      id: 'b-1',
      name: 'Acme One',
      active: true,
      address: { street: '1 Road', city: 'Austin', postalCode: '73301', country: 'US' },
      coordinates: { latitude: 30.27, longitude: -97.74 },
    },
    {
      id: 'b-loc',
      name: 'Acme Loc',
      status: 'active',
      location: { lat: 10.5, lng: 20.25 },
      city: 'Flat City',
    },
    {
      id: 'b-flat',
      name: 'Acme Flat',
      active: true,
      street: 'Flat St 2',
      postalCode: '999',
      latitude: '45.1',
      longitude: '7.6',
    },
    { id: 'b-none', name: 'Acme None', active: true, address: { city: 'Nowhere' } },
    { id: 'b-bad', name: 'Acme Bad Coords', active: true, coordinates: { latitude: 123, longitude: 5 } },
    { id: 'b-off', name: 'Acme Closed', status: 'inactive' },
    ...Array.from({ length: 5 }, (_, i) => ({ id: `hot-${i}`, name: `Hot ${i}`, active: true })),
  ],
  globex: [{ id: 'b-1', name: 'Globex One', active: true, latitude: 1, longitude: 2 }],
};

/** Parses one sample value of the Prometheus text exposition (0 when the series is absent). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const pair of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) got[pair[1]] = pair[2];
    if (
      Object.entries(labels).every(([k, v]) => got[k] === v) &&
      Object.keys(got).length === Object.keys(labels).length
    )
      return Number(m[3]);
  }
  return 0;
}

export { until } from '../support/wait';

export function redisClient(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
}

/**
 * app.close() bounded: after a Redis outage the downloader's BullMQ runner can take minutes to shut down
 * (reported to the lead); a building test must not hang on another module's teardown.
 */
export async function closeBounded(app: { close(): Promise<void> } | undefined, ms = 15_000): Promise<void> {
  if (!app) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    app.close().then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), ms);
    }),
  ]).finally(() => clearTimeout(timer));
  if (timedOut) console.warn(`app.close() did not finish within ${ms} ms; continuing`);
}
