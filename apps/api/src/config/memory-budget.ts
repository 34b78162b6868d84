import type { AppConfig } from './app-config';

const MiB = 1024 * 1024;

/** The vector index child's resident memory besides the vectors it holds (Node, one page in transit). */
export const VECTOR_INDEX_OVERHEAD_MB = 128;

/**
 * What one replica needs besides its V8 heap and the parser children: code, native buffers, uploads in
 * flight (up to UPLOAD_MAX_FILES × UPLOAD_MAX_FILE_BYTES per request are held as Buffers), sockets.
 */
export const MEMORY_OVERHEAD_BYTES = 256 * MiB;

/**
 * The memory a replica may use under its configured limits: the heap threshold of /health, every parser
 * child at its RSS limit, and the overhead. A container memory limit below this can OOM-kill the whole
 * pod before any of Atrium's own limits acts (deploy/k8s and docker-compose are checked against it).
 */
export function memoryBudgetBytes(config: AppConfig): number {
  return (
    config.health.heapMaxBytes +
    config.extraction.workers * config.extraction.workerRssMb * MiB +
    (config.embeddings.provider === 'local' ? config.embeddings.workerRssMb * MiB : 0) +
    (config.embeddings.provider === 'off'
      ? 0
      : (config.embeddings.indexMb + VECTOR_INDEX_OVERHEAD_MB) * MiB) +
    MEMORY_OVERHEAD_BYTES
  );
}
