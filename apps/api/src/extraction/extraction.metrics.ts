import { counterProvider, gaugeProvider } from '@app/metrics';
import { KILL_REASONS } from './extraction-pool';
import { ExtractionService } from './extraction.service';

/**
 * extraction_workers{state} and extraction_workers_killed_total{reason} (observability.md, hostile
 * input), providers of ExtractionModule. The killed counter is recorded by ExtractionService.
 */
export const EXTRACTION_METRICS = [
  gaugeProvider({
    name: 'extraction_workers',
    help: 'Parser child processes by state (busy, idle) and extractions waiting for one (queued)',
    labelNames: ['state'],
    inject: [ExtractionService],
    collect(extraction: ExtractionService) {
      const s = extraction.pool.stats();
      this.set({ state: 'busy' }, s.busy);
      // a child still starting up counts as idle: it holds no job of its own yet
      this.set({ state: 'idle' }, s.idle + s.starting);
      this.set({ state: 'queued' }, s.queued);
    },
  }),
  counterProvider({
    name: 'extraction_workers_killed_total',
    help: 'Parser child processes killed at a limit (memory, timeout, cpu) or dead on their own (crash)',
    labelNames: ['reason'],
    zeroes: { reason: KILL_REASONS },
  }),
];
