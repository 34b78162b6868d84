import { Injectable, Logger } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { redactUrl } from '@libs/observability';
import { AppConfig } from '@app/config';
import { withRetries } from '@app/resilience';
import { DownloaderError, UpstreamTimeoutError } from '../downloader.errors';
import { DownloaderMetrics } from '../downloader.metrics';
import { SafeFetcher } from '../fetch/safe-fetcher';
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
 * that stays the same across retries (receivers deduplicate on it), retried on network errors and 5xx up
 * to WEBHOOK_MAX_ATTEMPTS. The URL passes the URL policy at every attempt (it was checked at submit too)
 * and redirects are not followed. The attempts and the waits between them (exponential backoff with
 * jitter, ended at once by shutdown) are Atrium's retry policy's (p-retry, resilience/retry.ts); this file
 * keeps what only it knows: which failures may pass on retry, and what each attempt tells the job's status,
 * the logs and webhook_deliveries_total (retry, then success or failure).
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
    let attempts = 0;
    let delivered = false;
    let unreported: DeliveryFailure | undefined; // a failed attempt the job's status has not heard of yet
    try {
      await withRetries(
        { retries: max - 1, ...WEBHOOK_BACKOFF },
        async (attempt) => {
          attempts = attempt;
          const stop = this.metrics.webhookDuration.startTimer();
          let statusCode: number;
          try {
            statusCode = (
              await this.fetcher.fetch({
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
              })
            ).statusCode;
          } catch (err) {
            unreported = DeliveryFailure.of(err);
            throw unreported;
          } finally {
            stop();
          }
          if (statusCode < 200 || statusCode > 299) {
            unreported = DeliveryFailure.status(statusCode);
            throw unreported;
          }
          delivered = true;
          this.metrics.webhookDeliveries.inc({ result: 'success' });
          this.logger.log(`Webhook ${payload.event} delivered to ${redactUrl(url)} (attempt ${attempt})`);
          await report({ counted: true, statusCode, final: 'delivered' });
        },
        {
          signal,
          retryable: (err) => err instanceof DeliveryFailure && err.retryable,
          onRetry: async (err) => {
            const failure = err as DeliveryFailure;
            unreported = undefined;
            await report({ counted: true, statusCode: failure.statusCode, error: failure.error });
            this.metrics.webhookDeliveries.inc({ result: 'retry' });
            this.logger.warn(`Webhook ${payload.event} to ${redactUrl(url)}: ${failure.message}, retrying`);
          },
        },
      );
      return true;
    } catch (err) {
      if (delivered) return true; // the signal was aborted just after the receiver accepted
      if (signal?.aborted) {
        // shutting down: still pending, whoever picks the job up next delivers it
        if (unreported)
          await report({ counted: true, statusCode: unreported.statusCode, error: unreported.error });
        return false;
      }
      const failure = err instanceof DeliveryFailure ? err : DeliveryFailure.of(err);
      this.metrics.webhookDeliveries.inc({ result: 'failure' });
      this.logger.warn(
        `Webhook ${payload.event} to ${redactUrl(url)} failed after ${attempts} attempt(s): ${failure.message}`,
      );
      await report({ counted: true, statusCode: failure.statusCode, error: failure.error, final: 'failed' });
      return false;
    }
  }
}

/** 250–500 ms, 500 ms–1 s, 1–2 s, … at most 30 s between attempts. */
const WEBHOOK_BACKOFF = { firstDelayMs: 250, maxDelayMs: 30_000 };

/** One attempt that did not deliver, and whether another may. */
class DeliveryFailure extends Error {
  private constructor(
    message: string,
    readonly retryable: boolean,
    readonly statusCode?: number,
    /** The error shown in the job's status (none for an HTTP answer: its status code says it). */
    readonly error?: string,
  ) {
    super(message);
  }

  /** 5xx may pass; any other answer will not change on retry. */
  static status(statusCode: number): DeliveryFailure {
    return new DeliveryFailure(`HTTP ${statusCode}`, statusCode >= 500, statusCode);
  }

  /** Network errors and timeouts may pass; policy refusals and oversized answers will not. */
  static of(err: unknown): DeliveryFailure {
    const message = webhookFailure(err);
    const retryable =
      !(err instanceof DownloaderError) || ['timeout', 'network'].includes(err.errorType ?? '');
    return new DeliveryFailure(message, retryable, undefined, message);
  }
}
