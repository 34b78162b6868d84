import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '@app/config';
import { EmbeddingsService } from './embeddings.service';

/** How often the indexer looks for work nobody told it about (another replica's uploads, a failed step). */
const POLL_MS = 30_000;
/** After a failed step the indexer waits 1 s, 2 s, 4 s… up to this long before trying again. */
const MAX_BACKOFF_MS = 60_000;

/**
 * Embeds stored passages in the background, so that an upload answers as soon as its text is stored and
 * searchable lexically. The work is in the database — a published chunk not embedded by the configured model
 * is pending — so it survives a restart (the indexer resumes at start-up) and a change of provider or model
 * re-embeds everything. Each step takes one store's next EMBEDDINGS_BATCH passages (oldest document first);
 * stores take turns (round robin by store id), so one tenant's 500-page upload delays another's first
 * passages by one batch per store, never by the whole upload. The embedding itself runs in the provider
 * (the model's child process, or the remote server); the API process only moves text and vectors.
 */
@Injectable()
export class EmbeddingIndexer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('EmbeddingIndexer');
  private cursor = '';
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private failures = 0;
  private poll?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly embeddings: EmbeddingsService,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.embeddings.provider) return;
    this.poll = setInterval(() => this.kick(), POLL_MS);
    this.poll.unref();
    this.kick(); // passages left pending by the last run
  }

  /** There may be new work (an upload was published): runs the steps until none is left. */
  kick(): void {
    if (this.stopped || !this.embeddings.provider) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves when no step runs (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        if (await this.step()) continue;
        if (!this.again) return;
        this.again = false;
      }
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      const delayMs = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.failures - 1));
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err) },
        `Embedding passages failed; trying again in ${delayMs} ms (the next store first)`,
      );
      clearTimeout(this.retry);
      this.retry = setTimeout(() => this.kick(), delayMs);
      this.retry.unref();
    }
  }

  /** One batch of one store (the next in turn with pending passages); false when no store has any. */
  async step(): Promise<boolean> {
    const model = this.embeddings.model;
    if (!model) return false;
    const repo = this.embeddings.repository;
    let store = await repo.nextStore(model, this.cursor);
    if (!store && this.cursor) store = await repo.nextStore(model, (this.cursor = ''));
    if (!store) return false;
    this.cursor = store.id;
    const chunks = await repo.pendingChunks(store.id, model, this.config.embeddings.batch);
    if (!chunks.length) return true;
    const vectors = await this.embeddings.embed(
      chunks.map((c) => c.content),
      { tenant: store.tenantId, background: true },
    );
    await repo.store(chunks, vectors, model);
    // the store row's progress, which searches read with the store's key (and key their cache by)
    await repo.refreshCounts(store.id, model);
    this.failures = 0;
    return true;
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    clearTimeout(this.retry);
    // a step waiting on the provider ends with it (closed at shutdown); the database is still open here
    if (this.running) await Promise.race([this.running, sleep(2000)]);
  }
}
