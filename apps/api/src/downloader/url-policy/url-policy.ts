import { Injectable } from '@nestjs/common';
import { isIPv4, isIPv6 } from 'node:net';
import { AppConfig } from '@app/config';
import { InvalidUrlError, UpstreamError, UpstreamTimeoutError, UrlBlockedError } from '../downloader.errors';
import { classifyAddress } from './ip-ranges';
import { ResolvedAddress, Resolver } from './resolver';

export const MAX_REDIRECTS = 5;
const MAX_URL_LENGTH = 8192;

/** A URL that passed the policy, with the one address it was resolved to: connect there and nowhere else. */
export interface PinnedTarget {
  url: URL;
  hostname: string;
  address: string;
  family: 4 | 6;
}

/**
 * The downloader's SSRF policy (api.md): http/https only, no credentials, the host resolved once and
 * every address it resolves to checked against the special-purpose ranges; the caller connects to
 * the checked address (see PinnedAgents). Applied to every redirect hop, to webhooks and to every
 * request a rendered page makes. DOWNLOAD_ALLOW_PRIVATE lifts the address check only.
 */
@Injectable()
export class UrlPolicy {
  private readonly allowPrivate: boolean;

  constructor(
    config: AppConfig,
    private readonly resolver: Resolver,
  ) {
    this.allowPrivate = config.downloader.allowPrivate;
  }

  /**
   * Parses with the WHATWG URL parser, which also canonicalises odd IPv4 spellings (2130706433,
   * 0177.0.0.1, 0x7f.1, 127.1 all become 127.0.0.1) so the address check sees the real address.
   */
  parse(raw: string, base?: URL): URL {
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_URL_LENGTH)
      throw new InvalidUrlError(`The URL must be 1–${MAX_URL_LENGTH} characters`);
    let url: URL;
    try {
      url = new URL(raw.trim(), base);
    } catch {
      throw new InvalidUrlError();
    }
    if (!url.hostname && (url.protocol === 'http:' || url.protocol === 'https:')) throw new InvalidUrlError();
    return url;
  }

  /** The checks that need no DNS: scheme, credentials, and a literal address in the URL. */
  checkStatic(url: URL): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new UrlBlockedError('scheme', `Only http and https URLs are allowed (got ${url.protocol})`);
    if (url.username || url.password)
      throw new UrlBlockedError('credentials', 'URLs with credentials (user:password@) are not allowed');
    if (this.allowPrivate) return;
    const host = hostName(url);
    if (isIPv4(host) || isIPv6(host)) this.checkAddress(host);
    else if (host === 'localhost' || host.endsWith('.localhost'))
      throw new UrlBlockedError('hostname', 'The host is a loopback name');
    else if (/^[\d.]+$/.test(host) || /^0x/i.test(host))
      // a numeric host the URL parser did not turn into an address: never let DNS interpret it
      throw new UrlBlockedError('hostname', 'The host is not a valid address or name');
  }

  /** Refuses an address in a special-purpose range (unless DOWNLOAD_ALLOW_PRIVATE). */
  checkAddress(address: string): void {
    if (this.allowPrivate) return;
    const category = classifyAddress(address);
    if (category)
      throw new UrlBlockedError('address', 'The URL points to an address that is not allowed', { category });
  }

  /**
   * Full check of one hop: the static checks, then ONE resolution whose every address must pass; the
   * first is returned to be dialled. Refusing when any address is special defeats names that mix a
   * public and an internal record.
   */
  async resolve(url: URL, signal?: AbortSignal): Promise<PinnedTarget> {
    this.checkStatic(url);
    const hostname = hostName(url);
    if (isIPv4(hostname) || isIPv6(hostname))
      return { url, hostname, address: hostname, family: isIPv6(hostname) ? 6 : 4 };
    let addresses: ResolvedAddress[];
    try {
      addresses = await withSignal(this.resolver.lookup(hostname), signal);
    } catch (err) {
      if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new UpstreamTimeoutError(0);
      const code = (err as { code?: string }).code;
      throw new UpstreamError(`The host name could not be resolved`, {
        reason: code === 'ENOTFOUND' ? 'dns_not_found' : 'dns',
      });
    }
    if (addresses.length === 0)
      throw new UpstreamError('The host name could not be resolved', { reason: 'dns_not_found' });
    for (const a of addresses) this.checkAddress(a.address);
    return { url, hostname, address: addresses[0].address, family: addresses[0].family };
  }
}

/**
 * The host as the checks and the resolver see it: IPv6 brackets removed and trailing dots dropped.
 * `a.b.localhost.` is the fully qualified spelling of `a.b.localhost` (and `localhost..` of nothing
 * different to a resolver): names are judged in one canonical form, the one that is then resolved.
 */
export function hostName(url: URL): string {
  return bareHost(url.hostname).replace(/\.+$/, '');
}

export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function withSignal<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e); // eslint-disable-line @typescript-eslint/prefer-promise-reject-errors -- rethrows what the lookup threw
      },
    );
  });
}
