/** Messages between VectorIndex (the API) and its child (vector-index.worker.ts). */

/** Rows of one store as the database sends them: float32 big-endian components, `dims` per row. */
export interface VectorPage {
  documentIds: string[];
  chunkIndexes: number[];
  vectors: Uint8Array;
}

export interface VectorHit {
  documentId: string;
  chunkIndex: number;
  similarity: number;
}

/** Which documents may be hit: only these (the query's phrases), none of those (its exclusions). */
export interface DocumentFilter {
  only?: string[] | null;
  exclude?: string[];
}

export type VectorJob =
  | ({ kind: 'rank'; key: string; query: number[]; limit: number } & DocumentFilter)
  | { kind: 'begin'; key: string; store: string; rows: number; dims: number; budgetBytes: number }
  | { kind: 'append'; key: string; page: VectorPage }
  | { kind: 'end'; key: string }
  | ({ kind: 'scan'; query: number[]; limit: number; page: VectorPage } & DocumentFilter);

export type VectorReply =
  | { kind: 'hits'; hits: VectorHit[] }
  | { kind: 'missing' }
  | { kind: 'refused'; bytes: number }
  | { kind: 'ok'; bytes: number };
