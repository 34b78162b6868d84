import { Logger } from '@nestjs/common';
import { Dispatcher, request } from 'undici';
import { currentRequestId, redactUrl } from '@libs/observability';
import { AppError } from '@app/errors';
import { AnswerUpstreamError, AnswerUpstreamTimeoutError } from './answer.errors';

/** ANSWER_* settings, when answer=generate is configured. */
export interface ChatSettings {
  /** Base URL of an OpenAI-compatible API (up to `/v1`); the client posts to `${url}/chat/completions`. */
  url: string;
  model: string;
  apiKey?: string;
  timeoutMs: number;
  maxTokens: number;
}

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

/** A compliant server sends at most max_tokens tokens; a body past this is not one, and is cut off. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The client left while its answer was being generated: not the upstream's failure, and nobody reads the
 * answer (nginx's 499 in the HTTP metrics, a `client` fault).
 */
export class ChatAborted extends AppError {
  constructor() {
    super(499, 'CLIENT_CLOSED_REQUEST', 'The client closed the request before its answer was complete');
  }
}

/**
 * An OpenAI-compatible `POST {url}/chat/completions` client (OpenAI, Ollama, vLLM, llama.cpp's server…):
 * one request per answer, bounded by max_tokens and, from the first byte sent to the last received, by
 * ANSWER_TIMEOUT_MS (504 UPSTREAM_TIMEOUT past it). Failures are 502 UPSTREAM_ERROR without the upstream's
 * body. The key goes in the Authorization header only and is never logged (the URL is logged redacted).
 * No retry: a generation is not cheap, and the caller can ask again.
 */
export class ChatClient {
  private readonly logger = new Logger('Answers');
  private readonly endpoint: string;

  constructor(private readonly settings: ChatSettings) {
    this.endpoint = `${settings.url.replace(/\/+$/, '')}/chat/completions`;
  }

  get model(): string {
    return this.settings.model;
  }

  get description(): string {
    return `${redactUrl(this.endpoint)} (model ${this.settings.model})`;
  }

  /** The whole reply's text. */
  async complete(messages: ChatMessage[], signal?: AbortSignal): Promise<string> {
    const call = this.open(messages, false, signal);
    const res = await call.response;
    try {
      const body = await readCapped(res.body);
      return completionText(body, 'message');
    } catch (err) {
      throw call.classify(err);
    }
  }

  /**
   * The reply as text deltas, from `stream: true` server-sent events (`data: {…}` lines, `data: [DONE]`
   * last). A server that answers a stream request with one JSON completion yields its text once. The
   * first await (before any delta) is where status errors are thrown, so the caller can still answer
   * them as JSON.
   */
  async stream(messages: ChatMessage[], signal?: AbortSignal): Promise<AsyncGenerator<string>> {
    const call = this.open(messages, true, signal);
    const res = await call.response;
    const type = String(res.headers['content-type'] ?? '');
    return (async function* () {
      try {
        if (!type.includes('text/event-stream')) {
          yield completionText(await readCapped(res.body), 'message');
          return;
        }
        const decoder = new TextDecoder();
        let buffered = '';
        let bytes = 0;
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          bytes += chunk.length;
          if (bytes > MAX_BODY_BYTES) throw new AnswerUpstreamError('The answer model sent more than 1 MiB');
          buffered += decoder.decode(chunk, { stream: true });
          let nl: number;
          while ((nl = buffered.indexOf('\n')) !== -1) {
            const line = buffered.slice(0, nl).replace(/\r$/, '');
            buffered = buffered.slice(nl + 1);
            if (!line.startsWith('data:')) continue; // comments, event names, blank separators
            const data = line.slice(5).trim();
            if (data === '[DONE]') return;
            const text = completionText(data, 'delta');
            if (text) yield text;
          }
        }
        throw new AnswerUpstreamError('The answer model ended its stream without [DONE]');
      } catch (err) {
        throw call.classify(err);
      } finally {
        if (!res.body.destroyed) res.body.destroy();
      }
    })();
  }

  private open(
    messages: ChatMessage[],
    stream: boolean,
    signal?: AbortSignal,
  ): { response: Promise<Dispatcher.ResponseData>; classify(err: unknown): Error } {
    const { timeoutMs } = this.settings;
    const timer = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([timer, signal]) : timer;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: stream ? 'text/event-stream' : 'application/json',
    };
    if (this.settings.apiKey) headers.authorization = `Bearer ${this.settings.apiKey}`;
    const requestId = currentRequestId();
    if (requestId) headers['x-request-id'] = requestId;
    const classify = (err: unknown): Error => {
      if (err instanceof AnswerUpstreamError || err instanceof AnswerUpstreamTimeoutError) return err;
      if (signal?.aborted) return new ChatAborted();
      if (timer.aborted) return new AnswerUpstreamTimeoutError(timeoutMs);
      this.logger.warn(`Answer model ${this.description} failed: ${(err as Error).message}`);
      return new AnswerUpstreamError('The answer model could not be reached or its answer was cut off');
    };
    const response = request(this.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        model: this.settings.model,
        messages,
        max_tokens: this.settings.maxTokens,
        temperature: 0,
        stream,
      }),
      signal: combined,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    }).then(
      async (res) => {
        if (res.statusCode >= 200 && res.statusCode < 300) return res;
        await res.body.dump().catch(() => undefined);
        this.logger.warn(`Answer model ${this.description} answered ${res.statusCode}`);
        throw new AnswerUpstreamError(`The answer model answered ${res.statusCode}`, res.statusCode);
      },
      (err: unknown) => {
        throw classify(err);
      },
    );
    return { response, classify };
  }
}

/** The body as text, refused past MAX_BODY_BYTES. */
async function readCapped(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_BODY_BYTES) {
      body.destroy();
      throw new AnswerUpstreamError('The answer model sent more than 1 MiB');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** choices[0].message.content (a completion) or choices[0].delta.content (a stream chunk; may be absent). */
function completionText(json: string, field: 'message' | 'delta'): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new AnswerUpstreamError('The answer model sent something that is not JSON');
  }
  const choice = (parsed as { choices?: Array<Record<string, { content?: unknown } | undefined>> })
    .choices?.[0];
  const content = choice?.[field]?.content;
  if (typeof content === 'string') return content;
  if (field === 'delta' && choice && (content === undefined || content === null)) return '';
  throw new AnswerUpstreamError('The answer model sent something that is not a chat completion');
}
