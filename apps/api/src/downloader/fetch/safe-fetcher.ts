import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate, constants as zlib } from 'node:zlib';
import { request } from 'undici';
import { currentContext, currentRequestId } from '@libs/observability';
import { AppConfig } from '@app/config';
import { Backoff, withRetries } from '@app/resilience';
import {
  ContentTooLargeError,
  DownloaderError,
  UpstreamError,
  UpstreamTimeoutError,
  UrlBlockedError,
} from '../downloader.errors';
import { DownloaderMetrics } from '../downloader.metrics';
import type { HostPermit } from '../politeness/host-gate';
import { MAX_REDIRECTS, PinnedTarget, UrlPolicy } from '../url-policy/url-policy';
import { PinnedAgents } from './pinned-agents';

export interface FetchRequest {
  url: string | URL;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  accept?: string;
  /** The whole exchange — every hop, retry and the body — must finish within this. */
  timeoutMs: number;
  maxBytes: number;
  /** Default true; false returns a 3xx as it is (webhooks). */
  followRedirects?: boolean;
  /** Retries of network errors and 5xx (GET only); default DOWNLOAD_RETRIES. */
  retries?: number;
  /** Revalidation: sent only to the hop whose URL is `url` (the cached response's final URL). */
  conditional?: { url: string; etag?: string; lastModified?: string };
  /** Cancels the exchange (a cancelled batch job); its reason is rethrown. */
  signal?: AbortSignal;
  /** Return non-2xx responses instead of throwing UPSTREAM_ERROR (webhook delivery decides itself). */
  acceptAnyStatus?: boolean;
  /**
   * Whose connections to the origin the exchange uses (default: the tenant of the current request or job):
   * each tenant has its own, so one tenant's slow requests to a host never queue another tenant's.
   */
  tenant?: string;
  /**
   * Per-host politeness (and robots.txt) for each hop: called before the hop's first request; the permit is
   * held through its retries and body and released after. A 429/503 Retry-After is passed on to it.
   */
  gate?: (url: URL, hop: number) => Promise<HostPermit>;
}

export interface FetchResponse {
  requestedUrl: string;
  finalUrl: string;
  statusCode: number;
  headers: Record<string, string>;
  contentType: string;
  /** Decoded (gunzipped / brotli-decoded) body. */
  body: Buffer;
  redirects: number;
  /** A conditional request was answered 304: the cached copy is still good. */
  notModified: boolean;
}

interface Head {
  statusCode: number;
  headers: Record<string, string>;
  body: Readable & { dump?: (opts?: { limit: number }) => Promise<void> };
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Answers that mean "not now": retried (GET), after the origin's Retry-After when it sends one. */
const BUSY = new Set([429, 503]);
/** 100–200 ms, 200–400 ms, 400–800 ms, … at most 3 s (DOWNLOAD_RETRIES of them, within the deadline). */
const FETCH_BACKOFF: Omit<Backoff, 'retries'> = { firstDelayMs: 100, maxDelayMs: 3000 };
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Outbound HTTP for the downloader and webhooks: every hop checked by the URL policy and dialled at
 * the address it checked; a total deadline over all hops and retries; bodies streamed with the size
 * limit applied to the bytes received AND to the decoded bytes (decompression bombs); gzip/deflate/br
 * decoding; retries (GET only) through Atrium's retry policy (p-retry, resilience/retry.ts), whose waits
 * the deadline and a cancelled job end at once. Atrium's own part of the retrying: which failures are
 * transient (the socket error codes below and 5xx answers; never a policy refusal or an oversized body), and
 * a 5xx on the last attempt is the answer (502 with its status), not a retry error.
 */
@Injectable()
export class SafeFetcher {
  constructor(
    private readonly config: AppConfig,
    private readonly policy: UrlPolicy,
    private readonly agents: PinnedAgents,
    private readonly metrics: DownloaderMetrics,
  ) {}

  async fetch(req: FetchRequest): Promise<FetchResponse> {
    const deadline = AbortSignal.timeout(req.timeoutMs);
    const signal = req.signal ? AbortSignal.any([deadline, req.signal]) : deadline;
    const fail = (err: unknown): never => {
      if (req.signal?.aborted) throw req.signal.reason;
      if (deadline.aborted) throw new UpstreamTimeoutError(req.timeoutMs);
      throw this.mapError(err);
    };
    const requestedUrl = typeof req.url === 'string' ? req.url : req.url.href;
    const deadlineAt = Date.now() + req.timeoutMs;
    try {
      let url = typeof req.url === 'string' ? this.policy.parse(req.url) : req.url;
      for (let hop = 0; ; hop++) {
        const target = await this.policy.resolve(url, signal); // once per hop; retries reuse it
        const conditional = req.conditional && req.conditional.url === url.href ? req.conditional : undefined;
        const permit = req.gate ? await req.gate(url, hop) : undefined;
        try {
          const head = await this.withRetries(req, signal, deadlineAt, permit, () =>
            this.exchange(target, req, signal, conditional),
          );
          const location = head.headers.location;
          if (REDIRECTS.has(head.statusCode) && location && req.followRedirects !== false) {
            await discard(head);
            if (hop >= MAX_REDIRECTS)
              throw new UrlBlockedError('too_many_redirects', `More than ${MAX_REDIRECTS} redirects`, {
                limit: MAX_REDIRECTS,
              });
            url = this.policy.parse(location, url);
            continue;
          }
          const base = { requestedUrl, finalUrl: url.href, redirects: hop, headers: head.headers };
          const contentType = head.headers['content-type'] ?? 'application/octet-stream';
          if (head.statusCode === 304 && conditional) {
            await discard(head);
            return { ...base, statusCode: 304, contentType, body: Buffer.alloc(0), notModified: true };
          }
          if ((head.statusCode < 200 || head.statusCode > 299) && !req.acceptAnyStatus) {
            await discard(head);
            const retryAfterMs = BUSY.has(head.statusCode) ? retryAfter(head.headers) : undefined;
            throw new UpstreamError(`The origin answered ${head.statusCode}`, {
              upstreamStatus: head.statusCode,
              ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
            });
          }
          const body = await this.readBody(head, req.maxBytes, signal);
          return { ...base, statusCode: head.statusCode, contentType, body, notModified: false };
        } finally {
          permit?.release();
        }
      }
    } catch (err) {
      return fail(err);
    }
  }

  /**
   * One hop: the exchange, retried (GET only) on network errors, 5xx and 429; the last attempt's answer is
   * returned. A 429/503 with Retry-After holds back every request to the host for that long (the permit), and
   * this one retries after it — unless it would end past the deadline, when the answer stands (502 with
   * retryAfterMs: batch and crawl items wait for the host and try again).
   */
  private async withRetries(
    req: FetchRequest,
    signal: AbortSignal,
    deadlineAt: number,
    permit: HostPermit | undefined,
    exchange: () => Promise<Head>,
  ): Promise<Head> {
    const retries = (req.method ?? 'GET') === 'GET' ? (req.retries ?? this.config.downloader.retries) : 0;
    return withRetries(
      { ...FETCH_BACKOFF, retries },
      async (attempt) => {
        const head = await exchange();
        const busy = BUSY.has(head.statusCode);
        const waitMs = busy ? retryAfter(head.headers) : undefined;
        if (waitMs !== undefined) permit?.backoff(waitMs);
        const fits = waitMs === undefined || Date.now() + waitMs < deadlineAt;
        if ((head.statusCode >= 500 || busy) && attempt <= retries && fits) {
          await discard(head);
          throw new ServerErrorStatus(head.statusCode, waitMs);
        }
        return head;
      },
      {
        signal,
        retryable: (err) => err instanceof ServerErrorStatus || isRetryable(err),
        retryAfterMs: (err) => (err instanceof ServerErrorStatus ? err.retryAfterMs : undefined),
      },
    );
  }

  private async exchange(
    target: PinnedTarget,
    req: FetchRequest,
    signal: AbortSignal,
    conditional: FetchRequest['conditional'],
  ): Promise<Head> {
    const headers: Record<string, string> = {
      'user-agent': this.config.downloader.userAgent,
      accept: req.accept ?? '*/*',
      'accept-encoding': 'gzip, deflate, br',
      ...req.headers,
    };
    const requestId = currentRequestId();
    if (requestId) headers['x-request-id'] = requestId;
    if (conditional?.etag) headers['if-none-match'] = conditional.etag;
    if (conditional?.lastModified) headers['if-modified-since'] = conditional.lastModified;
    const res = await request(target.url, {
      method: req.method ?? 'GET',
      headers,
      body: req.body,
      signal,
      dispatcher: this.agents.for(target, req.tenant ?? currentContext()?.tenantId ?? ''),
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    return { statusCode: res.statusCode, headers: flat, body: res.body };
  }

  private async readBody(head: Head, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
    const declared = Number(head.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      head.body.destroy();
      throw new ContentTooLargeError(maxBytes);
    }
    const encodings = (head.headers['content-encoding'] ?? '')
      .split(',')
      .map((e) => e.trim().toLowerCase())
      .filter((e) => e && e !== 'identity')
      .reverse(); // applied in order, so undone last-first
    const decoders = encodings.map((e) => {
      // partial flushes make a truncated stream an error only when it is really corrupt
      if (e === 'gzip' || e === 'x-gzip') return createGunzip({ finishFlush: zlib.Z_SYNC_FLUSH });
      if (e === 'deflate') return createInflate({ finishFlush: zlib.Z_SYNC_FLUSH });
      if (e === 'br') return createBrotliDecompress();
      throw new UpstreamError(`Unsupported content encoding "${e}"`, { reason: 'content_encoding' });
    });
    const chunks: Buffer[] = [];
    let received = 0;
    let decoded = 0;
    const countReceived = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        received += chunk.length;
        if (received > maxBytes) throw new ContentTooLargeError(maxBytes);
        yield chunk;
      }
    };
    const collect = async (source: AsyncIterable<Buffer>): Promise<void> => {
      for await (const chunk of source) {
        decoded += chunk.length;
        if (decoded > maxBytes) throw new ContentTooLargeError(maxBytes);
        chunks.push(chunk);
      }
    };
    try {
      await (pipeline as (...args: unknown[]) => Promise<void>)(
        head.body,
        countReceived,
        ...decoders,
        collect,
        {
          signal,
        },
      );
    } catch (err) {
      if (err instanceof DownloaderError || signal.aborted) throw err;
      const code = (err as { code?: string }).code ?? '';
      if (
        code.startsWith('Z_') ||
        code.startsWith('ERR__') ||
        /zlib|incorrect header|invalid/i.test(String(err))
      )
        throw new UpstreamError('The origin sent a body that could not be decoded', { reason: 'decode' });
      throw err;
    }
    this.metrics.bytes.inc(decoded);
    return Buffer.concat(chunks, decoded);
  }

  private mapError(err: unknown): DownloaderError {
    if (err instanceof DownloaderError) return err;
    const code = (err as { code?: string }).code ?? '';
    if (code === 'UND_ERR_CONNECT_TIMEOUT')
      return new UpstreamTimeoutError(this.config.downloader.connectTimeoutMs, 'connect');
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
      return new UpstreamTimeoutError(this.config.downloader.timeoutMs);
    return new UpstreamError('Could not reach the origin', {
      reason: RETRYABLE_CODES.has(code) ? code.toLowerCase() : 'network',
    });
  }
}

function isRetryable(err: unknown): boolean {
  if (err instanceof DownloaderError) return false;
  return RETRYABLE_CODES.has((err as { code?: string }).code ?? '');
}

/** A 5xx or 429 answer while attempts remain: thrown so the retry policy waits and tries again. */
class ServerErrorStatus extends Error {
  constructor(
    readonly statusCode: number,
    readonly retryAfterMs?: number,
  ) {
    super(`The origin answered ${statusCode}`);
  }
}

/** Retry-After (RFC 9110 §10.2.3) as milliseconds from now: delay-seconds or an HTTP date; undefined otherwise. */
export function retryAfter(headers: Record<string, string>, now = Date.now()): number | undefined {
  const value = headers['retry-after']?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

async function discard(head: Head): Promise<void> {
  try {
    if (head.body.dump) await head.body.dump({ limit: 64 * 1024 });
    else head.body.destroy();
  } catch {
    // the connection is dropped instead of reused; nothing to report
  }
}
