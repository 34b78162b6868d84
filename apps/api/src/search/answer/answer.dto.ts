/** `answer=` on search: sentences picked from the top passages, or a reply written by a configured chat model. */
export const ANSWER_KINDS = ['extractive', 'generate'] as const;
export type AnswerKind = (typeof ANSWER_KINDS)[number];

/**
 * A source of an answer: a passage (the stored chunk `chunkIndex` of the document) and, in it, the cited
 * text as [start, end) offsets in UTF-16 code units (JavaScript string indexes): the chunk's text
 * `.slice(start, end)` is the cited sentence (extractive) or the part of the passage the model was given
 * (generate).
 */
export interface Citation {
  documentId: string;
  filename: string;
  chunkIndex: number;
  start: number;
  end: number;
}

/** `text` carries markers `[n]`: citation n is `citations[n - 1]`. */
export interface Answer {
  text: string;
  citations: Citation[];
}
