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

/**
 * What a bound series shares: the record it adds to (found again when the metric replaced it), and the
 * public API when the record cannot be used. `locate` finds or creates the series' record in the
 * metric (undefined: not of the known shape); `viaApi` is prom-client's own call.
 */
abstract class BoundSeries<R extends { labels: object }> {
  private key: string | undefined;
  private record: R | undefined;
  private publicOnly = false;

  constructor(
    protected readonly metric: object,
    protected readonly labels: Record<string, string | number>,
  ) {}

  protected abstract locate(internals: Internals<R>): R | undefined;
  protected abstract viaApi(value: number): void;

  /** The record to add to now, or undefined (then the caller goes through the public API). */
  protected current(): R | undefined {
    if (this.publicOnly) return undefined;
    const internals = this.metric as Internals<R>;
    const record = this.record;
    if (record !== undefined && internals.hashMap?.[this.key as string] === record) return record;
    const found = internals.enableExemplars ? undefined : this.locate(internals);
    const key = found && internals.hashMap ? findRecord(internals.hashMap, this.labels) : undefined;
    if (found === undefined || key === undefined || internals.hashMap?.[key] !== found) {
      this.publicOnly = true;
      this.record = undefined;
      return undefined;
    }
    this.key = key;
    this.record = found;
    return found;
  }

  protected get exemplars(): boolean {
    return (this.metric as Internals<R>).enableExemplars === true;
  }
}

class BoundCounterSeries<T extends string> extends BoundSeries<CounterRecord> implements BoundCounter {
  constructor(
    private readonly counter: Counter<T>,
    labels: LabelValues<T>,
  ) {
    super(counter, labels as Record<string, string | number>);
  }

  inc(value = 1): void {
    const record = value >= 0 && value !== Infinity ? this.current() : undefined;
    if (record === undefined) return this.viaApi(value);
    record.value += value;
  }

  /** prom-client's own inc (it validates: throws for a negative or non-finite value). */
  protected viaApi(value: number): void {
    const labels = this.labels as LabelValues<T>;
    if (this.exemplars) (this.counter as unknown as { inc(o: object): void }).inc({ labels, value });
    else this.counter.inc(labels, value);
  }

  protected locate(internals: Internals<CounterRecord>): CounterRecord | undefined {
    this.counter.inc(this.labels as LabelValues<T>, 0); // creates the series if needed, validating the labels
    const key = internals.hashMap && findRecord(internals.hashMap, this.labels);
    const record = key === undefined ? undefined : internals.hashMap?.[key];
    return record && typeof record.value === 'number' ? record : undefined;
  }
}

class BoundHistogramSeries<T extends string> extends BoundSeries<HistogramRecord> implements BoundHistogram {
  private bounds: number[] = [];

  constructor(
    private readonly histogram: Histogram<T>,
    labels: LabelValues<T>,
  ) {
    super(histogram, labels as Record<string, string | number>);
  }

  observe(value: number): void {
    const record = Number.isFinite(value) ? this.current() : undefined;
    if (record === undefined) return this.viaApi(value);
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
  protected viaApi(value: number): void {
    const labels = this.labels as LabelValues<T>;
    if (this.exemplars)
      (this.histogram as unknown as { observe(o: object): void }).observe({ labels, value });
    else this.histogram.observe(labels, value);
  }

  protected locate(internals: Internals<HistogramRecord>): HistogramRecord | undefined {
    const bounds = internals.upperBounds;
    if (!Array.isArray(bounds) || internals.hashMap === undefined) return undefined;
    // a new series gets no sample: zero() creates it (labels() first: zero() does not validate the names);
    // an existing one is kept
    if (findRecord(internals.hashMap, this.labels) === undefined) {
      this.histogram.labels(this.labels as LabelValues<T>);
      this.histogram.zero(this.labels as LabelValues<T>);
    }
    const key = internals.hashMap && findRecord(internals.hashMap, this.labels);
    const record = key === undefined ? undefined : internals.hashMap?.[key];
    if (
      record === undefined ||
      typeof record.sum !== 'number' ||
      typeof record.count !== 'number' ||
      typeof record.bucketValues !== 'object' ||
      !bounds.every((b) => typeof record.bucketValues[b] === 'number')
    )
      return undefined;
    this.bounds = bounds;
    return record;
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
