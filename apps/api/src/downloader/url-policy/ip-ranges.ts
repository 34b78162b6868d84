import { isIPv4, isIPv6 } from 'node:net';

/**
 * Special-purpose address ranges (IANA IPv4/IPv6 special-purpose registries, RFC 6890 and successors)
 * that a server-side fetcher must never dial. IPv6 forms that embed an IPv4 address (mapped, compatible,
 * 6to4, NAT64, Teredo) are judged by the address they embed as well.
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

interface Range4 {
  base: number;
  bits: number;
  category: AddressCategory;
}

function v4(cidr: string, category: AddressCategory): Range4 {
  const [addr, bits] = cidr.split('/');
  return { base: ipv4ToInt(addr)!, bits: Number(bits), category };
}

// Order matters only for the category reported: the most specific range first.
const IPV4_RANGES: Range4[] = [
  v4('255.255.255.255/32', 'broadcast'),
  v4('0.0.0.0/8', 'unspecified'),
  v4('10.0.0.0/8', 'private'),
  v4('100.64.0.0/10', 'cgnat'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link_local'), // incl. 169.254.169.254, the cloud metadata service
  v4('172.16.0.0/12', 'private'),
  v4('192.0.0.0/24', 'reserved'), // IETF protocol assignments
  v4('192.0.2.0/24', 'documentation'),
  v4('192.31.196.0/24', 'reserved'), // AS112-v4
  v4('192.52.193.0/24', 'reserved'), // AMT
  v4('192.88.99.0/24', 'reserved'), // deprecated 6to4 relay anycast
  v4('192.168.0.0/16', 'private'),
  v4('192.175.48.0/24', 'reserved'), // direct delegation AS112
  v4('198.18.0.0/15', 'benchmarking'),
  v4('198.51.100.0/24', 'documentation'),
  v4('203.0.113.0/24', 'documentation'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved'),
];

/** Strict dotted-quad (the canonical form WHATWG URL parsing and getaddrinfo produce) to a uint32. */
export function ipv4ToInt(address: string): number | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const octet = Number(p);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function classifyIpv4(address: string): AddressCategory | undefined {
  const n = ipv4ToInt(address);
  if (n === undefined) return 'invalid';
  for (const r of IPV4_RANGES) {
    const mask = r.bits === 0 ? 0 : (~0 << (32 - r.bits)) >>> 0;
    if ((n & mask) >>> 0 === (r.base & mask) >>> 0) return r.category;
  }
  return undefined;
}

/** An IPv6 address (no zone id) to its 8 16-bit groups; undefined when malformed. */
export function parseIpv6(address: string): number[] | undefined {
  if (!isIPv6(address) || address.includes('%')) return undefined;
  let text = address.toLowerCase();
  // an embedded dotted quad at the end (::ffff:1.2.3.4) becomes two groups
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = ipv4ToInt(dotted[1]);
    if (n === undefined) return undefined;
    text = text.slice(0, -dotted[1].length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 && missing !== 0) return undefined;
  if (halves.length === 2 && missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail].map((g) =>
    parseInt(g, 16),
  );
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

function prefixMatches(groups: number[], prefix: number[], bits: number): boolean {
  for (let i = 0; i < 8 && bits > 0; i++) {
    const take = Math.min(16, bits);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((groups[i] & mask) !== ((prefix[i] ?? 0) & mask)) return false;
    bits -= take;
  }
  return true;
}

interface Range6 {
  prefix: number[];
  bits: number;
  category: AddressCategory;
}

function v6(cidr: string, category: AddressCategory): Range6 {
  const [addr, bits] = cidr.split('/');
  return { prefix: parseIpv6(addr)!, bits: Number(bits), category };
}

// Checked inside global unicast (2000::/3); everything outside it is refused outright below.
const IPV6_GLOBAL_SPECIAL: Range6[] = [
  v6('2001:db8::/32', 'documentation'),
  v6('2001::/32', 'teredo'),
  v6('2001:2::/48', 'benchmarking'),
  v6('2001::/23', 'reserved'), // IETF protocol assignments (ORCHID, AMT, AS112…)
  v6('3fff::/20', 'documentation'), // RFC 9637
];

/** The IPv4 address an IPv6 address carries, for the transition forms that carry one. */
export function embeddedIpv4(groups: number[]): { address: string; form: string } | undefined {
  const word = (hi: number, lo: number): number => ((hi << 16) >>> 0) + lo;
  const zero = (from: number, to: number): boolean => groups.slice(from, to).every((g) => g === 0);
  if (zero(0, 5) && groups[5] === 0xffff)
    return { address: intToIpv4(word(groups[6], groups[7])), form: 'mapped' };
  if (zero(0, 4) && groups[4] === 0xffff && groups[5] === 0)
    return { address: intToIpv4(word(groups[6], groups[7])), form: 'translated' }; // ::ffff:0:a.b.c.d (SIIT)
  if (zero(0, 6)) return { address: intToIpv4(word(groups[6], groups[7])), form: 'compatible' };
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zero(2, 6))
    return { address: intToIpv4(word(groups[6], groups[7])), form: 'nat64' };
  if (groups[0] === 0x2002) return { address: intToIpv4(word(groups[1], groups[2])), form: '6to4' };
  if (groups[0] === 0x2001 && groups[1] === 0)
    // Teredo: the client's IPv4 address is the last 32 bits, inverted
    return { address: intToIpv4(~word(groups[6], groups[7]) >>> 0), form: 'teredo' };
  return undefined;
}

export function classifyIpv6(address: string): AddressCategory | undefined {
  const g = parseIpv6(address);
  if (!g) return 'invalid';
  if (g.every((x) => x === 0)) return 'unspecified';
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';

  const embedded = embeddedIpv4(g);
  if (embedded) {
    const inner = classifyIpv4(embedded.address);
    if (inner) return inner;
    // mapped/translated/NAT64 of a public address reach that public address: judge by it alone
    if (embedded.form === 'mapped' || embedded.form === 'nat64' || embedded.form === 'translated')
      return undefined;
    if (embedded.form === 'compatible') return 'reserved'; // deprecated (RFC 4291), never legitimately dialled
    if (embedded.form === 'teredo') return 'teredo';
    // 6to4 of a public address falls through to the global unicast checks
  }

  if ((g[0] & 0xfe00) === 0xfc00) return 'unique_local'; // fc00::/7
  if ((g[0] & 0xffc0) === 0xfe80) return 'link_local'; // fe80::/10
  if ((g[0] & 0xffc0) === 0xfec0) return 'site_local'; // fec0::/10
  if ((g[0] & 0xff00) === 0xff00) return 'multicast'; // ff00::/8
  if ((g[0] & 0xe000) !== 0x2000) return 'reserved'; // outside 2000::/3 (100::/64 discard, 64:ff9b:1::/48…)
  for (const r of IPV6_GLOBAL_SPECIAL) if (prefixMatches(g, r.prefix, r.bits)) return r.category;
  return undefined;
}

/**
 * The special-purpose category of an IP address, or undefined for an ordinary public unicast address.
 * Anything that is not a canonical IPv4/IPv6 literal is 'invalid' (refused too).
 */
export function classifyAddress(address: string): AddressCategory | undefined {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(bare)) return classifyIpv4(bare);
  if (isIPv6(bare)) return classifyIpv6(bare);
  return 'invalid';
}
