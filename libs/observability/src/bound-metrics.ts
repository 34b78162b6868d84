import type { Counter, Histogram, LabelValues } from 'prom-client';

/*
 * prom-client 15 hashes the label object on every `inc`/`observe` (and its `labels()` children do too):
 * sort the label names, join the values, validate each, build a closure and a label/value pair — about
 * ten times per cached request, ~12 µs of the cache stage's CPU in a profile of the hot path, and much
 * of its garbage. A bound series does that once: it holds the series' own record in the metric and adds
 * to it, exactly as prom-client's own `inc`/`observe` would (same record, same exposition, same
 * `reset()`), without the per-call hashing.
 *
 * The records are prom-client's internals (`hashMap`, `{value}` for a counter series, `{sum, count,
 * bucketValues}` for a histogram's, `upperBounds`): each bound series checks their shape when it binds
 * and, if they are not what this was written against, or the metric keeps exemplars, it goes through
 * the public API on every call instead (slower, never wrong). A record replaced under it (`reset()`, a
 * registry's `resetMetrics()`, `remove()`) is noticed on the next call and bound again.
 */

interface CounterRecord {
  value: number;
  labels: object;
}

interface HistogramRecord {
  labels: object;
  sum: number;
  count: number;
  bucketValues: Record<string, number>;
}

interface Internals<R> {
  hashMap?: Record<string, R>;
  upperBounds?: number[];
  enableExemplars?: boolean;
}

/** The key under which `metric` holds the record for `labels`: the same object, or equal label values. */
function findRecord<R extends { labels: object }>(
  map: Record<string, R>,
  labels: Record<string, string | number>,
): string | undefined {
  let equal: string | undefined;
  for (const key of Object.keys(map)) {
    const recorded = map[key].labels as Record<string, unknown>;
    if (recorded === labels) return key;
    if (
      equal === undefined &&
      Object.keys(labels).length === Object.keys(recorded).length &&
      Object.keys(labels).every((name) => String(recorded[name]) === String(labels[name]))
    )
      equal = key;
  }
  return equal;
}

export interface BoundCounter {
  inc(value?: number): void;
}

export interface BoundHistogram {
  observe(value: number): void;
}

class BoundCounterSeries<T extends string> implements BoundCounter {
  private key: string | undefined;
  private record: CounterRecord | undefined;
  private publicOnly = false;

  constructor(
    private readonly counter: Counter<T>,
    private readonly labels: LabelValues<T>,
  ) {}

  inc(value = 1): void {
    if (this.publicOnly || !(value >= 0) || value === Infinity) return this.viaApi(value);
    const map = (this.counter as unknown as Internals<CounterRecord>).hashMap;
    let record = this.record;
    if (record === undefined || map?.[this.key as string] !== record) {
      record = this.bind();
      if (record === undefined) return this.viaApi(value);
    }
    record.value += value;
  }

  /** prom-client's own inc (it validates: throws for a negative or non-finite value). */
  private viaApi(value: number): void {
    if ((this.counter as unknown as Internals<CounterRecord>).enableExemplars)
      (this.counter as unknown as { inc(o: object): void }).inc({ labels: this.labels, value });
    else this.counter.inc(this.labels, value);
  }

  private bind(): CounterRecord | undefined {
    const internals = this.counter as unknown as Internals<CounterRecord>;
    if (internals.enableExemplars) return this.giveUp();
    this.counter.inc(this.labels, 0); // creates the series if needed, validating the labels
    const map = internals.hashMap;
    const key = map && findRecord(map, this.labels as Record<string, string | number>);
    const record = key === undefined ? undefined : map?.[key];
    if (record === undefined || typeof record.value !== 'number') return this.giveUp();
    this.key = key;
    this.record = record;
    return record;
  }

  private giveUp(): undefined {
    this.publicOnly = true;
    this.record = undefined;
    return undefined;
  }
}

class BoundHistogramSeries<T extends string> implements BoundHistogram {
  private key: string | undefined;
  private record: HistogramRecord | undefined;
  private bounds: number[] = [];
  private publicOnly = false;

  constructor(
    private readonly histogram: Histogram<T>,
    private readonly labels: LabelValues<T>,
  ) {}

  observe(value: number): void {
    if (this.publicOnly || !Number.isFinite(value)) return this.viaApi(value);
    const map = (this.histogram as unknown as Internals<HistogramRecord>).hashMap;
    let record = this.record;
    if (record === undefined || map?.[this.key as string] !== record) {
      record = this.bind();
      if (record === undefined) return this.viaApi(value);
    }
    record.sum += value;
    record.count += 1;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        record.bucketValues[bounds[i]] += 1;
        return;
      }
    }
    // above the last bound: counted in +Inf only (count), as prom-client does
  }

  /** prom-client's own observe (it validates: throws for a non-finite value). */
  private viaApi(value: number): void {
    if ((this.histogram as unknown as Internals<HistogramRecord>).enableExemplars)
      (this.histogram as unknown as { observe(o: object): void }).observe({ labels: this.labels, value });
    else this.histogram.observe(this.labels, value);
  }

  private bind(): HistogramRecord | undefined {
    const internals = this.histogram as unknown as Internals<HistogramRecord>;
    if (internals.enableExemplars || !Array.isArray(internals.upperBounds)) return this.giveUp();
    const labels = this.labels as Record<string, string | number>;
    let map = internals.hashMap;
    if (map === undefined) return this.giveUp();
    let key = findRecord(map, labels);
    if (key === undefined) {
      this.histogram.zero(this.labels); // a new series, no sample: validates the labels
      map = internals.hashMap ?? {};
      key = findRecord(map, labels);
    }
    const record = key === undefined ? undefined : map[key];
    const bounds = internals.upperBounds;
    if (
      record === undefined ||
      typeof record.sum !== 'number' ||
      typeof record.count !== 'number' ||
      typeof record.bucketValues !== 'object' ||
      !bounds.every((b) => typeof record.bucketValues[b] === 'number')
    )
      return this.giveUp();
    this.key = key;
    this.record = record;
    this.bounds = bounds;
    return record;
  }

  private giveUp(): undefined {
    this.publicOnly = true;
    this.record = undefined;
    return undefined;
  }
}

/** One series of `counter` (its label values fixed): `inc` adds to it without per-call label hashing. */
export function bindCounter<T extends string>(counter: Counter<T>, labels: LabelValues<T>): BoundCounter {
  return new BoundCounterSeries(counter, labels);
}

/** One series of `histogram` (its label values fixed): `observe` without per-call label hashing. */
export function bindHistogram<T extends string>(
  histogram: Histogram<T>,
  labels: LabelValues<T>,
): BoundHistogram {
  return new BoundHistogramSeries(histogram, labels);
}
