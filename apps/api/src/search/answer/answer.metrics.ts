import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { counterProvider } from '@app/metrics';
import { SEARCH_MODES, SearchMode } from '../dto/search.dto';
import { ANSWER_KINDS, AnswerKind } from './answer.dto';

/**
 * How an answer request ended: `success` (an answer), `empty` (no passage or no sentence to answer from:
 * `answer: null`), `unavailable` (503 ANSWER_UNAVAILABLE), `error` (502 / the search failed), `timeout`
 * (504), `aborted` (the client left a stream before its end).
 */
export const ANSWER_OUTCOMES = ['success', 'empty', 'unavailable', 'error', 'timeout', 'aborted'] as const;
export type AnswerOutcome = (typeof ANSWER_OUTCOMES)[number];
/** The retrieval that found the passages (`mode` of the contract): the search's own mode. */
export const ANSWER_MODES = SEARCH_MODES;
export type AnswerMode = SearchMode;

export const ANSWER_METRICS = [
  counterProvider({
    name: 'search_answers_total',
    help: 'Search answers by retrieval mode, kind (extractive, generate) and outcome',
    labelNames: ['mode', 'kind', 'outcome'],
    zeroes: { mode: ANSWER_MODES, kind: ANSWER_KINDS, outcome: ANSWER_OUTCOMES },
  }),
];

@Injectable()
export class AnswerMetrics {
  constructor(
    @InjectMetric('search_answers_total') private readonly answers: Counter<'mode' | 'kind' | 'outcome'>,
  ) {}

  answered(mode: AnswerMode, kind: AnswerKind, outcome: AnswerOutcome): void {
    this.answers.inc({ mode, kind, outcome });
  }
}
