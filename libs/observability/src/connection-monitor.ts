import { Logger } from '@nestjs/common';

export type ConnectionState = 'connecting' | 'up' | 'down';

export interface ConnectionMonitorOptions {
  /** What is connected to, for people: `Redis`. */
  dependency: string;
  /** Where, without credentials: `127.0.0.1:6379`. */
  address: string;
  /** What the service does without it, appended to the "lost" line: `cache L2 off (L1 + source) …`. */
  impact?: string;
  /** While down, at most one reminder line per this long (default 60 s). */
  reminderMs?: number;
  now?: () => number;
  logger?: Pick<Logger, 'warn' | 'log'>;
}

/** A client's events as ioredis and node-redis emit them. */
export interface WatchedClient {
  on(event: 'error', listener: (err: unknown) => void): unknown;
  on(event: 'ready' | 'end', listener: () => void): unknown;
}

/** One client's reports: its errors and its readiness. */
export interface ConnectionReporter {
  /** The client emitted `error` (its connection failed or could not be made). */
  error(err: unknown): void;
  /** The client is connected and ready for commands. */
  ready(): void;
  /** The client was closed on purpose (shutdown): it no longer counts. */
  closed(): void;
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
};

/**
 * Why a connection failed, in a few words (`connection refused`), from a client's error: its code, a code
 * inside an AggregateError (a host name with several addresses), or the first line of its message.
 */
export function connectionFailureReason(err: unknown): string {
  const e = err as { code?: unknown; errors?: Array<{ code?: unknown }>; message?: unknown } | undefined;
  const code =
    typeof e?.code === 'string' ? e.code : e?.errors?.find((x) => typeof x?.code === 'string')?.code;
  if (typeof code === 'string' && REASONS[code]) return REASONS[code];
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (/WRONGPASS|NOAUTH|invalid password/i.test(message)) return 'authentication failed';
  if (/closed|ended|socket/i.test(message)) return 'connection closed';
  if (/timeout|timed out/i.test(message)) return 'connection timed out';
  return message.split('\n')[0].slice(0, 200);
}

/**
 * The state of one dependency that several clients connect to (Redis: the cache's two clients, the rate-limit
 * counters, the job queue, the job store), told once: one warning when the connection is lost, one line when
 * it is back, and in between at most one reminder per `reminderMs` — instead of every client printing every
 * failed reconnect. Every client must have an `error` listener anyway (an EventEmitter without one throws;
 * ioredis prints `[ioredis] Unhandled error event` with a stack): `reporter()` gives it one.
 *
 * The dependency is down from the first error of any client until every client that failed is ready again.
 */
export class ConnectionMonitor {
  private readonly clients = new Map<string, ConnectionState>();
  private readonly logger: Pick<Logger, 'warn' | 'log'>;
  private readonly now: () => number;
  private downSince?: number;
  private lastReminder = 0;
  private failedAttempts = 0;
  private lastReason?: string;
  private everUp = false;

  constructor(private readonly options: ConnectionMonitorOptions) {
    this.logger = options.logger ?? new Logger(options.dependency);
    this.now = options.now ?? Date.now;
  }

  /** `up` when every client is connected, `down` from a client's failure until they all are back. */
  get state(): ConnectionState {
    if (this.downSince !== undefined) return 'down';
    return [...this.clients.values()].every((s) => s === 'up') && this.clients.size > 0 ? 'up' : 'connecting';
  }

  /** Why the dependency is down (`connection refused`), while it is. */
  get reason(): string | undefined {
    return this.downSince !== undefined ? this.lastReason : undefined;
  }

  /** The reporter of one client, named for the log (`cache`, `rate-limit`, `job queue`…). */
  reporter(client: string): ConnectionReporter {
    let name = client;
    for (let n = 2; this.clients.has(name); n++) name = `${client} ${n}`;
    this.clients.set(name, 'connecting');
    return {
      error: (err) => this.failed(name, err),
      ready: () => this.ready(name),
      closed: () => this.closed(name),
    };
  }

  /**
   * Listens to a client that emits `error`, `ready` and `end` (ioredis, node-redis): its errors are reported
   * here — and so never unhandled —, its readiness too, and its end (closed on purpose) removes it.
   */
  watch<T extends WatchedClient>(client: string, emitter: T): T {
    const reporter = this.reporter(client);
    emitter.on('error', (err: unknown) => reporter.error(err));
    emitter.on('ready', () => reporter.ready());
    emitter.on('end', () => reporter.closed());
    return emitter;
  }

  private failed(client: string, err: unknown): void {
    if (!this.clients.has(client)) return; // closed already: its last errors are not news
    this.clients.set(client, 'down');
    this.lastReason = connectionFailureReason(err);
    this.failedAttempts++;
    const { dependency, address, impact } = this.options;
    const now = this.now();
    if (this.downSince === undefined) {
      this.downSince = now;
      this.lastReminder = now;
      this.failedAttempts = 1;
      this.logger.warn(
        {
          dependency: dependency.toLowerCase(),
          event: 'connection_lost',
          address,
          reason: this.lastReason,
          client,
        },
        `${dependency} connection lost (${address}: ${this.lastReason})` +
          (this.everUp ? '' : ' — it was never reached since start') +
          (impact ? `; ${impact}` : '') +
          '. Reconnecting in the background; one line follows when it is back',
      );
      return;
    }
    if (now - this.lastReminder >= (this.options.reminderMs ?? 60_000)) {
      this.lastReminder = now;
      const seconds = Math.round((now - this.downSince) / 1000);
      this.logger.warn(
        {
          dependency: dependency.toLowerCase(),
          event: 'connection_still_down',
          address,
          reason: this.lastReason,
          downSeconds: seconds,
          failedAttempts: this.failedAttempts,
        },
        `${dependency} still unreachable after ${seconds} s (${address}: ${this.lastReason}; ${this.failedAttempts} failed attempts)`,
      );
    }
  }

  private ready(client: string): void {
    if (!this.clients.has(client)) return;
    this.clients.set(client, 'up');
    this.everUp = true;
    if (this.downSince === undefined) return;
    if ([...this.clients.values()].some((s) => s === 'down')) return;
    const seconds = Math.round((this.now() - this.downSince) / 100) / 10;
    this.downSince = undefined;
    this.logger.log(
      {
        dependency: this.options.dependency.toLowerCase(),
        event: 'connection_restored',
        address: this.options.address,
        downSeconds: seconds,
      },
      `${this.options.dependency} connection restored (${this.options.address}) after ${seconds} s`,
    );
  }

  private closed(client: string): void {
    this.clients.delete(client);
    if (this.downSince !== undefined && ![...this.clients.values()].some((s) => s === 'down'))
      this.downSince = undefined; // shutting down: nothing left to report on
  }
}

/** `host:port` of a redis:// URL, never its credentials. */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'redis';
  }
}
