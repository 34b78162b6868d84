import { Injectable, Logger } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { redactUrl } from '@libs/observability';
import { AppConfig } from '@app/config';
import { DownloaderError, UpstreamTimeoutError } from '../downloader.errors';
import { DownloaderMetrics } from '../downloader.metrics';
import { backoffMs, SafeFetcher } from '../fetch/safe-fetcher';
import type { WebhookAttempt, WebhookEvent } from './job.types';

export interface WebhookPayload {
  event: WebhookEvent;
  jobId: string;
  status: string;
  summary: { total: number; succeeded: number; failed: number; durationMs: number };
}

/**
 * Why an attempt failed, about the webhook receiver: the fetcher's errors speak of "the origin" (the page a
 * caller asked to download), which here is the caller's receiver.
 */
export function webhookFailure(err: unknown): string {
  if (err instanceof UpstreamTimeoutError && err.details?.phase === 'total')
    return `The webhook receiver did not answer within ${String(err.details.timeoutMs)} ms`;
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\b([Tt])he origin\b/g, (_m, t: string) => `${t}he webhook receiver`);
}

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Delivers a batch's finish event: POST with the HMAC-SHA256 signature of the exact body, a delivery id
 * that stays the same across retries (receivers deduplicate on it), retried with exponential backoff
 * and jitter on network errors and 5xx, up to WEBHOOK_MAX_ATTEMPTS. The URL passes the URL policy at
 * every attempt (it was checked at submit too) and redirects are not followed.
 */
@Injectable()
export class WebhookSender {
  private readonly logger = new Logger(WebhookSender.name);

  constructor(
    private readonly config: AppConfig,
    private readonly fetcher: SafeFetcher,
    private readonly metrics: DownloaderMetrics,
  ) {}

  /**
   * Resolves true when delivered, false when given up or interrupted by `signal` (never throws).
   * `onAttempt` hears of every attempt (the job's status shows it); its own failures are only logged.
   */
  async deliver(
    url: string,
    deliveryId: string,
    payload: WebhookPayload,
    signal?: AbortSignal,
    onAttempt: (attempt: WebhookAttempt & { counted: boolean }) => Promise<void> = async () => undefined,
  ): Promise<boolean> {
    const report = async (attempt: WebhookAttempt & { counted: boolean }): Promise<void> => {
      try {
        await onAttempt(attempt);
      } catch (err) {
        this.logger.warn(`Could not record a webhook attempt: ${(err as Error).message}`);
      }
    };
    const secret = this.config.downloader.webhookSecret;
    if (!secret) {
      this.logger.error('WEBHOOK_SECRET is not set: the webhook cannot be signed and is not sent');
      this.metrics.webhookDeliveries.inc({ result: 'failure' });
      await report({ counted: false, error: 'WEBHOOK_SECRET is not set on the server', final: 'failed' });
      return false;
    }
    const body = JSON.stringify(payload);
    const headers = {
      'content-type': 'application/json',
      'x-atrium-event': payload.event,
      'x-atrium-delivery': deliveryId,
      'x-atrium-signature': signBody(secret, body),
    };
    const max = this.config.downloader.webhookMaxAttempts;
    for (let attempt = 1; attempt <= max; attempt++) {
      const stop = this.metrics.webhookDuration.startTimer();
      let retryable = false;
      let outcome: string;
      let statusCode: number | undefined;
      let error: string | undefined;
      try {
        const res = await this.fetcher.fetch({
          url,
          method: 'POST',
          headers,
          body,
          timeoutMs: this.config.downloader.webhookTimeoutMs,
          maxBytes: 64 * 1024,
          followRedirects: false,
          retries: 0,
          acceptAnyStatus: true,
          signal,
        });
        stop();
        statusCode = res.statusCode;
        if (res.statusCode >= 200 && res.statusCode < 300) {
          this.metrics.webhookDeliveries.inc({ result: 'success' });
          this.logger.log(`Webhook ${payload.event} delivered to ${redactUrl(url)} (attempt ${attempt})`);
          await report({ counted: true, statusCode, final: 'delivered' });
          return true;
        }
        retryable = res.statusCode >= 500;
        outcome = `HTTP ${res.statusCode}`;
      } catch (err) {
        stop();
        // policy refusals and oversized answers will not change on retry; network errors and timeouts may
        retryable = !(err instanceof DownloaderError) || ['timeout', 'network'].includes(err.errorType ?? '');
        outcome = webhookFailure(err);
        error = outcome;
      }
      if (signal?.aborted) {
        // shutting down: still pending, whoever picks the job up next delivers it
        await report({ counted: true, statusCode, error });
        return false;
      }
      if (!retryable || attempt === max) {
        this.metrics.webhookDeliveries.inc({ result: 'failure' });
        this.logger.warn(
          `Webhook ${payload.event} to ${redactUrl(url)} failed after ${attempt} attempt(s): ${outcome}`,
        );
        await report({ counted: true, statusCode, error, final: 'failed' });
        return false;
      }
      await report({ counted: true, statusCode, error });
      this.metrics.webhookDeliveries.inc({ result: 'retry' });
      this.logger.warn(`Webhook ${payload.event} to ${redactUrl(url)}: ${outcome}, retrying`);
      try {
        await sleep(backoffMs(attempt - 1, 500, 30_000), undefined, { signal });
      } catch {
        return false; // shutting down: the pending flag stays set, the next pick-up delivers
      }
    }
    return false;
  }
}
