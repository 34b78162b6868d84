import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { Agent } from 'undici';
import { AppConfig } from '@app/config';
import { Resolver } from '../url-policy/resolver';
import type { PinnedTarget } from '../url-policy/url-policy';

type LookupCallback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;

const MAX_AGENTS = 256;

/**
 * undici Agents whose connector never resolves a name itself: its `lookup` answers with the address
 * the URL policy checked, so DNS is asked once per hop and a rebinding answer can never be dialled.
 * TLS still uses the host name for SNI and certificate checks. One Agent per (tenant, host, pinned address),
 * kept in a small LRU so keep-alive connections are reused across downloads: an Agent's connections to an
 * origin are a pool too, and one tenant's slow requests to a host must not queue another tenant's behind them.
 */
@Injectable()
export class PinnedAgents implements OnApplicationShutdown {
  private readonly agents = new Map<string, Agent>();

  constructor(
    private readonly config: AppConfig,
    private readonly resolver: Resolver,
  ) {}

  for(target: PinnedTarget, tenant = ''): Agent {
    const dial = this.resolver.dialAddress(target.address);
    const key = `${tenant}|${target.hostname}|${target.address}|${dial}`;
    const existing = this.agents.get(key);
    if (existing) {
      this.agents.delete(key); // re-insert: most recently used last
      this.agents.set(key, existing);
      return existing;
    }
    const family = Resolver.familyOf(dial);
    const lookup = (
      _host: string,
      options: LookupOptions | number | LookupCallback,
      cb?: LookupCallback,
    ): void => {
      const callback = (typeof options === 'function' ? options : cb)!;
      const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
      if (all) callback(null, [{ address: dial, family }]);
      else callback(null, dial, family);
    };
    const agent = new Agent({
      connect: { timeout: this.config.downloader.connectTimeoutMs, lookup },
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 30_000,
      connections: 16,
    });
    this.agents.set(key, agent);
    if (this.agents.size > MAX_AGENTS) {
      const [oldestKey, oldest] = this.agents.entries().next().value as [string, Agent];
      this.agents.delete(oldestKey);
      // graceful: requests in flight on it finish first
      oldest.close().catch(() => undefined);
    }
    return agent;
  }

  async onApplicationShutdown(): Promise<void> {
    const all = [...this.agents.values()];
    this.agents.clear();
    await Promise.allSettled(all.map((a) => a.destroy()));
  }
}
