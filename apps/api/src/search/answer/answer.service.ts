import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { InjectTieredCache, TieredCache } from '@libs/cache';
import { Database, DatabaseTimeoutError } from '@libs/database';
import { AppConfig } from '@app/config';
import { PoolMetrics } from '@app/metrics';
import type { SearchResponse } from '../dto/search.dto';
import { analysisRequests, buildPlan } from '../query/query-plan';
import { parseQuery } from '../query/query-parser';
import { SearchTimeoutError, StoreNotFoundError } from '../search.errors';
import { SearchRepository } from '../search.repository';
import { SEARCH_CACHE_NAMESPACE, SearchRequest, SearchService } from '../search.service';
import { AnswerSlots } from './answer-slots';
import { Answer, AnswerKind, Citation } from './answer.dto';
import {
  AnswerCapacityError,
  AnswerUnavailableError,
  AnswerUpstreamError,
  AnswerUpstreamTimeoutError,
} from './answer.errors';
import { AnswerMetrics, AnswerMode, AnswerOutcome } from './answer.metrics';
import { AnswerRepository } from './answer.repository';
import { ChatAborted, ChatClient, ChatMessage } from './chat-client';
import { ScoredSentence, selectSentences, splitSentences } from './sentences';

/** What the answer cache holds (an object, so "no answer" is a value too, not a negative entry). */
export interface CachedAnswer {
  answer: Answer | null;
}

/** A passage an answer is made from: the text considered (bounded), and where it is stored. */
export interface Passage {
  documentId: string;
  filename: string;
  chunkIndex: number;
  /** The chunk's text from offset 0, cut at its share of ANSWER_MAX_CHARS. */
  text: string;
}

/** One server-sent event of a streamed answer. */
export type AnswerEvent =
  | { event: 'search'; data: SearchResponse }
  | { event: 'delta'; data: { text: string } }
  | { event: 'answer'; data: { answer: Answer | null } }
  | { event: 'error'; data: { code: string; message: string } };

const SYSTEM_PROMPT =
  'You answer questions using only the numbered passages you are given. Cite the passage of every claim ' +
  'with its number in square brackets, like [1] or [2][3], right after the claim. Do not use anything ' +
  'the passages do not say; when they do not answer the question, say so briefly.';

/**
 * answer=extractive|generate on search (issue 22, item 3). The answer is made from the passages of the
 * results the search returns — the first ANSWER_MAX_PASSAGES of the page, their best chunk each
 * (group=chunks: the chunks themselves) — cut to ANSWER_MAX_CHARS in all, and cached in the search cache
 * under a key holding the tenant, the store's id and version, the page, the query and the kind (and the
 * model for generate), so an upload or delete makes old answers unreachable as it does old results.
 */
@Injectable()
export class AnswerService {
  private readonly logger = new Logger('Answers');
  readonly chat?: ChatClient;
  /** ANSWER_CONCURRENCY chat requests at once in this process, fair between tenants (answer-slots.ts). */
  readonly slots: AnswerSlots;

  constructor(
    private readonly search: SearchService,
    private readonly searchRepository: SearchRepository,
    private readonly repository: AnswerRepository,
    private readonly metrics: AnswerMetrics,
    @InjectTieredCache(SEARCH_CACHE_NAMESPACE) private readonly cache: TieredCache<CachedAnswer>,
    private readonly db: Database,
    private readonly config: AppConfig,
    pools: PoolMetrics,
  ) {
    const { url, model, apiKey, timeoutMs, maxTokens, concurrency, queueWaitMs } = config.answers;
    this.slots = new AnswerSlots({ concurrency, waitMs: queueWaitMs, tenantShare: config.pools.tenantShare });
    // pool_wait_seconds{pool="answer"}, pool_in_use{pool="answer"}, refusals logged with their tenant
    pools.register('answer', this.slots.pool);
    if (url && model) {
      this.chat = new ChatClient({ url, model, apiKey, timeoutMs, maxTokens });
      this.logger.log(`answer=generate through ${this.chat.description}`);
    }
  }

  /** The search response with its `answer` (null when there is nothing to answer from). */
  async answer(tenantId: string, req: SearchRequest, kind: AnswerKind): Promise<SearchResponse> {
    let mode: AnswerMode = req.mode ?? 'lexical';
    let outcome: AnswerOutcome = 'error';
    try {
      if (kind === 'generate' && !this.chat) throw new AnswerUnavailableError();
      const response = await this.search.search(tenantId, req);
      mode = response.mode;
      let answer: Answer | null = null;
      if (response.results.length) {
        const store = await this.searchRepository.storeKey(tenantId, req.store);
        if (!store) throw new StoreNotFoundError(req.store); // deleted since the search
        const key = this.cacheKey(store, req, kind, response);
        const { value } = await this.cache.getOrLoad(tenantId, key, async () => ({
          answer: await this.build(tenantId, store.id, req, response, kind),
        }));
        answer = value?.answer ?? null;
      }
      outcome = answer ? 'success' : 'empty';
      return { ...response, answer };
    } catch (err) {
      outcome = outcomeOf(err);
      throw err;
    } finally {
      this.metrics.answered(mode, kind, outcome);
    }
  }

  /**
   * answer=generate as server-sent events: the search and the upstream's status are awaited first (their
   * errors are answered as JSON: 404, 503, 502, 504…); then the events — `search` (the results), `delta`s
   * of the reply's text, and `answer` with the citations last (or `error`). `signal` aborts the upstream
   * request (the client left). Streamed answers are not cached.
   */
  async stream(
    tenantId: string,
    req: SearchRequest,
    signal: AbortSignal,
  ): Promise<AsyncGenerator<AnswerEvent>> {
    let mode: AnswerMode = req.mode ?? 'lexical';
    const count = (outcome: AnswerOutcome) => this.metrics.answered(mode, 'generate', outcome);
    let deltas: AsyncGenerator<string> | undefined;
    let response: SearchResponse;
    let passages: Passage[] = [];
    // the answer slot, held from the upstream request to its last token, its failure, or the client leaving
    let release: (() => void) | undefined;
    try {
      const chat = this.chat;
      if (!chat) throw new AnswerUnavailableError();
      response = await this.search.search(tenantId, req);
      mode = response.mode;
      if (response.results.length) {
        passages = await this.passages(response);
        if (passages.length) {
          release = once(await this.slots.acquire(tenantId, signal));
          signal.addEventListener('abort', release, { once: true });
          deltas = await chat.stream(prompt(req.query, passages), signal);
        }
      }
    } catch (err) {
      release?.();
      count(outcomeOf(err));
      throw err;
    }
    const citations = passages.map(citationOf);
    const done = release;
    return (async function* (): AsyncGenerator<AnswerEvent> {
      try {
        yield* events();
      } finally {
        done?.();
      }
    })();
    async function* events(): AsyncGenerator<AnswerEvent> {
      yield { event: 'search', data: response };
      if (!deltas) {
        count('empty');
        yield { event: 'answer', data: { answer: null } };
        return;
      }
      let text = '';
      try {
        for await (const delta of deltas) {
          text += delta;
          yield { event: 'delta', data: { text: delta } };
        }
      } catch (err) {
        count(outcomeOf(err));
        if (err instanceof ChatAborted) return;
        const { code, message } =
          err instanceof AnswerUpstreamError || err instanceof AnswerUpstreamTimeoutError
            ? err
            : { code: 'UPSTREAM_ERROR', message: 'The answer model failed' };
        yield { event: 'error', data: { code, message } };
        return;
      }
      count('success');
      yield { event: 'answer', data: { answer: { text, citations } } };
    }
  }

  /** The tenant is added by the cache; the store's version makes an upload or delete a new key. */
  private cacheKey(
    store: { id: string; version: string },
    req: SearchRequest,
    kind: AnswerKind,
    response: SearchResponse,
  ): string {
    const model =
      kind === 'generate'
        ? createHash('sha256')
            .update(this.chat?.model ?? '')
            .digest('base64url')
            .slice(0, 16)
        : '';
    // the page's own key (store version, page, query, filter, facets, sort) under the answer's kind and model
    const page = this.search.cacheKey(store, req);
    // and the passages the answer is made from: a hybrid page changes as the store's passages are embedded
    const passages = createHash('sha256')
      .update(response.results.map((r) => `${r.documentId}:${r.chunkIndex}`).join(','))
      .digest('base64url')
      .slice(0, 16);
    return `answer:${kind}:${model}:${response.mode}:${passages}:${page}`;
  }

  private async build(
    tenantId: string,
    storeId: string,
    req: SearchRequest,
    response: SearchResponse,
    kind: AnswerKind,
  ): Promise<Answer | null> {
    const passages = await this.passages(response);
    if (!passages.length) return null;
    if (kind === 'generate') {
      const release = await this.slots.acquire(tenantId);
      try {
        const text = await (this.chat as ChatClient).complete(prompt(req.query, passages));
        return { text, citations: passages.map(citationOf) };
      } finally {
        release();
      }
    }
    return this.underTimeout(() => this.extract(storeId, req, passages));
  }

  /** The top passages of a response, in its order, bounded by ANSWER_MAX_PASSAGES and ANSWER_MAX_CHARS. */
  async passages(response: SearchResponse): Promise<Passage[]> {
    const { maxPassages, maxChars } = this.config.answers;
    const keys: Array<{ documentId: string; chunkIndex: number }> = [];
    const seen = new Set<string>();
    for (const r of response.results) {
      const id = `${r.documentId}:${r.chunkIndex}`;
      if (seen.has(id)) continue;
      seen.add(id);
      keys.push({ documentId: r.documentId, chunkIndex: r.chunkIndex });
      if (keys.length === maxPassages) break;
    }
    const contents = await this.underTimeout(() => this.searchRepository.chunks(keys));
    const out: Passage[] = [];
    let left = maxChars;
    for (const k of keys) {
      const chunk = contents.get(`${k.documentId}:${k.chunkIndex}`);
      if (!chunk || left <= 0) continue;
      const text = cut(chunk.content, left);
      left -= text.length;
      out.push({ ...k, filename: chunk.filename, text });
    }
    return out;
  }

  /** The sentences of the passages that hold the most of the query's terms, each cited. */
  private async extract(storeId: string, req: SearchRequest, passages: Passage[]): Promise<Answer | null> {
    const parsed = parseQuery(req.query);
    const { requests, index } = analysisRequests(parsed);
    const analysis = await this.searchRepository.analyse(storeId, requests);
    const plan = buildPlan(parsed, analysis.results, index);
    const spans = passages.flatMap((p, passage) =>
      splitSentences(p.text, p.chunkIndex > 0).map((s) => ({
        ...s,
        passage,
        text: p.text.slice(s.start, s.end),
      })),
    );
    const matches = await this.repository.matchSentences(
      plan,
      spans.map((s) => s.text),
    );
    const candidates: ScoredSentence[] = [];
    spans.forEach((s, i) => {
      const m = matches[i];
      if (m) candidates.push({ ...s, units: m.units, density: m.density });
    });
    const chosen = selectSentences(candidates);
    if (!chosen.length) return null;
    return {
      text: chosen.map((s, i) => `${s.text} [${i + 1}]`).join(' '),
      citations: chosen.map((s) => {
        const p = passages[s.passage];
        return {
          documentId: p.documentId,
          filename: p.filename,
          chunkIndex: p.chunkIndex,
          start: s.start,
          end: s.end,
        };
      }),
    };
  }

  private async underTimeout<T>(fn: () => Promise<T>): Promise<T> {
    const timeoutMs = this.config.search.statementTimeoutMs;
    try {
      return await this.db.withStatementTimeout(timeoutMs, fn);
    } catch (err) {
      if (err instanceof DatabaseTimeoutError) throw new SearchTimeoutError(timeoutMs);
      throw err;
    }
  }
}

/** At most `max` characters of `text` from its start, cut at a space when there is one in the last fifth. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const space = text.lastIndexOf(' ', max);
  let end = space > max * 0.8 ? space : max;
  if ((text.charCodeAt(end - 1) & 0xfc00) === 0xd800) end--; // never half a surrogate pair
  return text.slice(0, end);
}

/** The passage as given to the model: citation n is passage n. */
function citationOf(p: Passage): Citation {
  return {
    documentId: p.documentId,
    filename: p.filename,
    chunkIndex: p.chunkIndex,
    start: 0,
    end: p.text.length,
  };
}

/** The prompt: the passages only, numbered, then the question. */
export function prompt(question: string, passages: Passage[]): ChatMessage[] {
  const numbered = passages.map((p, i) => `[${i + 1}] (${p.filename})\n${p.text}`).join('\n\n');
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    { role: 'user', content: `Passages:\n\n${numbered}\n\nQuestion: ${question}` },
  ];
}

/** `fn` callable any number of times, run once. */
function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

function outcomeOf(err: unknown): AnswerOutcome {
  if (err instanceof AnswerUnavailableError || err instanceof AnswerCapacityError) return 'unavailable';
  if (err instanceof AnswerUpstreamTimeoutError) return 'timeout';
  if (err instanceof ChatAborted) return 'aborted';
  return 'error';
}
