import ipaddr from 'ipaddr.js';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * Which IP addresses a server-side fetcher must never dial. The special-purpose ranges and the address
 * parsing are ipaddr.js's (its `range()` follows the IANA special-purpose registries). What Atrium's own code
 * here still does, because the library has no opinion on it:
 * - default deny: every range ipaddr.js names is refused, including ones it adds in a later version, and so
 *   is IPv6 outside global unicast 2000::/3 (ipaddr.js calls that 'unicast');
 * - an IPv6 address that carries an IPv4 address (mapped, SIIT, NAT64 64:ff9b::/96, compatible, 6to4, Teredo)
 *   is judged by the address it carries: ipaddr.js names the form, not what is inside it;
 * - the category vocabulary of URL_BLOCKED's `details.category` (documentation and IPv4 benchmarking, which
 *   ipaddr.js files under 'reserved', keep their own names);
 * - strict input: only the canonical literals that WHATWG URL parsing and getaddrinfo produce (node:net),
 *   never ipaddr.js's inet_aton spellings; IPv6 is re-serialised first, because ipaddr.js reads the
 *   deprecated `::a.b.c.d` (IPv4-compatible) as `::ffff:a.b.c.d` (IPv4-mapped).
 */
export type AddressCategory =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link_local'
  | 'cgnat'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'unique_local'
  | 'site_local'
  | 'teredo'
  | 'invalid';

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;

/** ipaddr.js range names with a category of their own; every other name it has (or adds) is 'reserved'. */
const CATEGORY: Readonly<Record<string, AddressCategory>> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'link_local', // incl. 169.254.169.254, the cloud metadata service
  carrierGradeNat: 'cgnat',
  uniqueLocal: 'unique_local',
  deprecatedSiteLocal: 'site_local',
  teredo: 'teredo',
  benchmarking: 'benchmarking',
};

const cidrs = (...list: string[]): Array<[IPv4 | IPv6, number]> => list.map((c) => ipaddr.parseCIDR(c));
/** Ranges ipaddr.js reports as 'reserved' that keep their own name in `details.category`. */
const RESERVED_NAMED = {
  documentation: cidrs('192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32', '3fff::/20'),
  benchmarking: cidrs('198.18.0.0/15'),
};
const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96'); // 64:ff9b:1::/48 (local use) carries nothing public

function categoryOf(address: IPv4 | IPv6, range: string): AddressCategory | undefined {
  if (range === 'unicast') return undefined;
  if (range === 'reserved') {
    const named = ipaddr.subnetMatch(address, RESERVED_NAMED, 'reserved');
    return named === 'documentation' || named === 'benchmarking' ? named : 'reserved';
  }
  return CATEGORY[range] ?? 'reserved';
}

function classifyIpv4(address: IPv4): AddressCategory | undefined {
  return categoryOf(address, address.range());
}

/**
 * The IPv4 address an IPv6 form carries, and the verdict when that address is public: mapped, SIIT and
 * NAT64 reach it (judged by it alone), 6to4 is global unicast, Teredo and the deprecated compatible form
 * are never legitimately dialled.
 */
function carriedIpv4(address: IPv6, range: string): { ipv4: IPv4; ifPublic?: AddressCategory } | undefined {
  const bytes = address.toByteArray();
  const at = (from: number, invert = false): IPv4 =>
    ipaddr.IPv4.parse(
      bytes
        .slice(from, from + 4)
        .map((b) => (invert ? ~b & 0xff : b))
        .join('.'),
    );
  switch (range) {
    case 'ipv4Mapped':
      return { ipv4: address.toIPv4Address() };
    case 'rfc6145': // ::ffff:0:a.b.c.d (SIIT)
      return { ipv4: at(12) };
    case 'rfc6052':
      return address.match(NAT64_WELL_KNOWN) ? { ipv4: at(12) } : undefined;
    case '6to4':
      return { ipv4: at(2) };
    case 'teredo': // the client's address is the last 32 bits, inverted
      return { ipv4: at(12, true), ifPublic: 'teredo' };
    case 'unicast': // ::a.b.c.d (IPv4-compatible, RFC 4291: deprecated); :: and ::1 have ranges of their own
      return bytes.slice(0, 12).every((b) => b === 0) ? { ipv4: at(12), ifPublic: 'reserved' } : undefined;
    default:
      return undefined;
  }
}

function classifyIpv6(address: IPv6): AddressCategory | undefined {
  const range = address.range();
  const carried = carriedIpv4(address, range);
  if (carried) return classifyIpv4(carried.ipv4) ?? carried.ifPublic;
  if (range === 'unicast' && !address.match(GLOBAL_UNICAST)) return 'reserved';
  return categoryOf(address, range);
}

/** The canonical text of an IPv6 literal (hex groups only), as the WHATWG URL serialiser writes it. */
function canonicalIpv6(text: string): string | undefined {
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined; // e.g. a zone id (fe80::1%eth0), which no URL or resolver answer carries
  }
}

/**
 * The special-purpose category of an IP address, or undefined for an ordinary public unicast address.
 * Anything that is not a canonical IPv4/IPv6 literal is 'invalid' (refused too).
 */
export function classifyAddress(address: string): AddressCategory | undefined {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(bare)) return classifyIpv4(ipaddr.IPv4.parse(bare));
  const canonical = isIPv6(bare) ? canonicalIpv6(bare) : undefined;
  return canonical ? classifyIpv6(ipaddr.IPv6.parse(canonical)) : 'invalid';
}
