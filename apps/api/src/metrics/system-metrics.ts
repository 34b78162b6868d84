import { Injectable, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { statfs } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { AppConfig } from '@app/config';
import { gaugeProvider } from './metric-providers';

function cpuTotals(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
  }
  return { idle, total };
}

/** Host CPU, disk and event-loop readings for the gauges above, /metrics/live and the event-loop health check. */
@Injectable()
export class SystemMetrics implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private lastCpu = cpuTotals();
  private cpuPercent = 0;
  private diskPercent = 0;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });
  private loopWindowTimer?: NodeJS.Timeout;

  constructor(private readonly config: AppConfig) {}

  onModuleInit(): void {
    this.loopDelay.enable();
  }

  /** Event-loop lag is reported over rolling 30 s windows, starting after boot (module loading blocks the loop by design). */
  onApplicationBootstrap(): void {
    this.loopDelay.reset();
    this.loopWindowTimer = setInterval(() => this.loopDelay.reset(), 30000);
    this.loopWindowTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.loopWindowTimer);
    this.loopDelay.disable();
  }

  /** CPU usage since the previous call (scrape), percent. */
  sampleCpu(): number {
    const now = cpuTotals();
    const total = now.total - this.lastCpu.total;
    const idle = now.idle - this.lastCpu.idle;
    if (total > 0) this.cpuPercent = Math.round((1 - idle / total) * 10000) / 100;
    this.lastCpu = now;
    return this.cpuPercent;
  }

  get cpuUsagePercent(): number {
    return this.cpuPercent;
  }

  /** Share (0–1) of the volume holding DATA_DIR (or the working directory before it exists) in use. */
  async diskUsage(): Promise<number> {
    const s = await statfs(this.config.dataDir).catch(() => statfs('.'));
    return 1 - s.bavail / s.blocks;
  }

  /** The disk gauge's value, percent. */
  async sampleDisk(): Promise<number> {
    try {
      this.diskPercent = Math.round((await this.diskUsage()) * 10000) / 100;
    } catch {
      // keep the last value: a transient statfs failure is not worth an error in the scrape
    }
    return this.diskPercent;
  }

  eventLoopLagMs(): { p50: number; p99: number; max: number } {
    const ms = (ns: number): number => (Number.isFinite(ns) ? Math.round(ns / 1e4) / 100 : 0);
    return {
      p50: ms(this.loopDelay.percentile(50)),
      p99: ms(this.loopDelay.percentile(99)),
      max: ms(this.loopDelay.max),
    };
  }
}

/** app_info and the system_* gauges; values are read when Prometheus scrapes. */
export const SYSTEM_METRICS = [
  gaugeProvider({
    name: 'app_info',
    help: 'Atrium build information',
    labelNames: ['version', 'node_version'],
    inject: [AppConfig],
    collect(config: AppConfig) {
      this.set({ version: config.version, node_version: process.version }, 1);
    },
  }),
  gaugeProvider({
    name: 'system_cpu_usage_percent',
    help: 'Host CPU usage since the previous scrape, percent',
    inject: [SystemMetrics],
    collect(system: SystemMetrics) {
      this.set(system.sampleCpu());
    },
  }),
  gaugeProvider({
    name: 'system_memory_usage_percent',
    help: 'Host memory in use, percent',
    collect() {
      this.set(Math.round((1 - freemem() / totalmem()) * 10000) / 100);
    },
  }),
  gaugeProvider({
    name: 'system_disk_usage_percent',
    help: 'Usage of the volume holding DATA_DIR, percent',
    inject: [SystemMetrics],
    async collect(system: SystemMetrics) {
      this.set(await system.sampleDisk());
    },
  }),
];
