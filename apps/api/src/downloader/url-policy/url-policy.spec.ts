import 'reflect-metadata';
import { testConfig } from '@app/config';
import { InvalidUrlError, UrlBlockedError } from '../downloader.errors';
import { AddressCategory, classifyAddress } from './ip-ranges';
import { ResolvedAddress, Resolver } from './resolver';
import { UrlPolicy } from './url-policy';

/** A resolver answering from a table, so no test depends on real DNS. */
class TableResolver extends Resolver {
  readonly asked: string[] = [];
  constructor(private readonly table: Record<string, string[]>) {
    super();
  }
  override async lookup(hostname: string): Promise<ResolvedAddress[]> {
    this.asked.push(hostname);
    const found = this.table[hostname];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: Resolver.familyOf(address) }));
  }
}

const NAMES: Record<string, string[]> = {
  'public.example': ['93.184.215.14'],
  'public6.example': ['2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'evil-loopback.example': ['127.0.0.1'],
  'evil-metadata.example': ['169.254.169.254'],
  'evil-private.example': ['10.1.2.3'],
  'evil-mixed.example': ['93.184.215.14', '192.168.1.1'],
  'evil-v6.example': ['::1'],
  'evil-mapped.example': ['::ffff:127.0.0.1'],
  'evil-ula.example': ['fd00::1'],
  'evil-zero.example': ['0.0.0.0'],
  '127.0.0.1.nip.io': ['127.0.0.1'],
};

function policy(env: Record<string, string> = {}): { sut: UrlPolicy; resolver: TableResolver } {
  const resolver = new TableResolver(NAMES);
  return { sut: new UrlPolicy(testConfig(env), resolver), resolver };
}

async function verdict(sut: UrlPolicy, raw: string): Promise<string> {
  try {
    await sut.resolve(sut.parse(raw));
    return 'allowed';
  } catch (err) {
    if (err instanceof UrlBlockedError) return 'blocked';
    if (err instanceof InvalidUrlError) return 'invalid';
    throw err;
  }
}

// Every row is an SSRF attempt the default policy must refuse.
const BYPASS_ATTEMPTS: string[] = [
  // loopback in every IPv4 spelling
  'http://127.0.0.1/',
  'http://127.0.0.1:8080/admin',
  'http://127.255.255.254/',
  'http://2130706433/', // decimal
  'http://0177.0.0.1/', // octal
  'http://0177.0000.0000.0001/',
  'http://0x7f.0.0.1/', // hex octet
  'http://0x7f000001/', // hex whole
  'http://0x7f.1/', // hex short form
  'http://127.1/', // short form
  'http://127.0.1/',
  'http://017700000001/', // octal whole
  'http://127.0.0.1./', // trailing dot
  'http://%31%32%37.0.0.1/', // percent-encoded host
  'http://localhost/',
  'http://LOCALHOST:3000/',
  'http://localhost./',
  'http://api.localhost/',
  'http://a.b.localhost./', // trailing dot: the fully qualified spelling of a loopback name
  'http://api.localhost../',
  'http://LOCALHOST./',
  'http://evil-loopback.example./', // a name resolving inside, spelt fully qualified
  'http://evil-metadata.example../latest/meta-data/',
  // unspecified, private, link-local, CGNAT, benchmarking, documentation, multicast, broadcast, reserved
  'http://0.0.0.0/',
  'http://0/',
  'http://10.0.0.1/',
  'http://10.255.255.255/',
  'http://172.16.0.1/',
  'http://172.31.255.254/',
  'http://192.168.0.1/',
  'http://192.168.1.1:8443/',
  'http://169.254.169.254/latest/meta-data/', // cloud metadata
  'http://169.254.0.1/',
  'http://2852039166/', // 169.254.169.254 in decimal
  'http://0xa9fea9fe/', // 169.254.169.254 in hex
  'http://100.64.0.1/', // CGNAT
  'http://100.127.255.254/',
  'http://198.18.0.1/', // benchmarking
  'http://198.19.255.255/',
  'http://192.0.2.10/', // documentation
  'http://198.51.100.7/',
  'http://203.0.113.99/',
  'http://192.0.0.8/', // IETF protocol assignments
  'http://224.0.0.1/', // multicast
  'http://239.255.255.250/',
  'http://255.255.255.255/', // broadcast
  'http://240.0.0.1/', // reserved
  // IPv6 forms
  'http://[::1]/',
  'http://[0:0:0:0:0:0:0:1]/',
  'http://[::]/',
  'http://[::ffff:127.0.0.1]/', // IPv4-mapped
  'http://[::ffff:7f00:1]/',
  'http://[0:0:0:0:0:ffff:7f00:1]/',
  'http://[::ffff:169.254.169.254]/',
  'http://[::ffff:10.0.0.1]/',
  'http://[::127.0.0.1]/', // IPv4-compatible
  'http://[::ffff:0:127.0.0.1]/', // SIIT translated
  'http://[64:ff9b::127.0.0.1]/', // NAT64 of loopback
  'http://[64:ff9b::a9fe:a9fe]/', // NAT64 of metadata
  'http://[2002:7f00:1::]/', // 6to4 of loopback
  'http://[2002:c0a8:101::1]/', // 6to4 of 192.168.1.1
  'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', // Teredo carrying 127.0.0.1
  'http://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/', // Teredo (a public client, 8.8.8.8)
  'http://[fc00::1]/', // unique local
  'http://[fd12:3456:789a::1]/',
  'http://[fe80::1]/', // link-local
  'http://[febf::1]/',
  'http://[fec0::1]/', // site-local
  'http://[ff02::1]/', // multicast
  'http://[2001:db8::1]/', // documentation
  'http://[3fff::1]/', // documentation (RFC 9637)
  'http://[100::1]/', // discard-only
  'http://[64:ff9b:1::1]/', // local-use NAT64
  // names that resolve inside
  'http://evil-loopback.example/',
  'http://evil-metadata.example/latest/meta-data/',
  'http://evil-private.example/',
  'http://evil-mixed.example/', // one public and one private record
  'http://evil-v6.example/',
  'http://evil-mapped.example/',
  'http://evil-ula.example/',
  'http://evil-zero.example/',
  'http://127.0.0.1.nip.io/',
  // credentials and other schemes
  'http://user:pass@public.example/',
  'http://public.example@127.0.0.1/',
  'http://user@public.example/',
  'file:///etc/passwd',
  'ftp://public.example/',
  'gopher://127.0.0.1:6379/_INFO',
  'dict://127.0.0.1:11211/stat',
  'ws://public.example/',
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
];

describe('UrlPolicy', () => {
  it('has a table of at least 40 bypass attempts', () => {
    expect(BYPASS_ATTEMPTS.length).toBeGreaterThanOrEqual(40);
  });

  it.each(BYPASS_ATTEMPTS)('refuses %s', async (raw) => {
    const { sut } = policy();
    await expect(verdict(sut, raw)).resolves.toBe('blocked');
  });

  it.each([
    'http://public.example/',
    'https://public.example/path?q=1&x=%2F',
    'http://public6.example:8080/',
    'http://93.184.215.14/',
    'http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/',
    'http://[::ffff:93.184.215.14]/', // mapped form of a public address reaches that public address
    'http://[2002:5db8:d70e::1]/', // 6to4 of a public address
    'http://8.8.8.8/',
    'http://172.32.0.1/', // just outside 172.16/12
    'http://100.128.0.1/', // just outside CGNAT
    'http://198.20.0.1/', // just outside benchmarking
    'http://public.example./', // fully qualified spelling of a public name
  ])('allows %s', async (raw) => {
    const { sut } = policy();
    await expect(verdict(sut, raw)).resolves.toBe('allowed');
  });

  it.each(['', 'not a url', 'http://', '//no-scheme.example/', 'http://1.2.3.4.5/', 'http://[::1/'])(
    'answers INVALID_URL for %j',
    async (raw) => {
      const { sut } = policy();
      await expect(verdict(sut, raw)).resolves.toBe('invalid');
    },
  );

  it('pins the first resolved address and resolves each hop once', async () => {
    const { sut, resolver } = policy();
    const pinned = await sut.resolve(sut.parse('http://public.example/a'));
    expect(pinned).toMatchObject({ hostname: 'public.example', address: '93.184.215.14', family: 4 });
    expect(resolver.asked).toEqual(['public.example']);
  });

  it('does not resolve names when a static check already refuses the URL', async () => {
    const { sut, resolver } = policy();
    await expect(verdict(sut, 'ftp://public.example/')).resolves.toBe('blocked');
    await expect(verdict(sut, 'http://localhost/')).resolves.toBe('blocked');
    await expect(verdict(sut, 'http://a.b.localhost./')).resolves.toBe('blocked');
    await expect(verdict(sut, 'http://x.localhost.../')).resolves.toBe('blocked');
    expect(resolver.asked).toEqual([]);
  });

  it('resolves a fully qualified name (trailing dots) as the name the checks judged', async () => {
    const { sut, resolver } = policy();
    await expect(verdict(sut, 'http://public.example../')).resolves.toBe('allowed');
    expect(resolver.asked).toEqual(['public.example']);
  });

  it('reports the category of a literal address and never the address behind a name', async () => {
    const { sut } = policy();
    await expect(sut.resolve(sut.parse('http://169.254.169.254/'))).rejects.toMatchObject({
      code: 'URL_BLOCKED',
      details: { reason: 'address', category: 'link_local' },
    });
    const err = await sut.resolve(sut.parse('http://evil-private.example/')).catch((e: UrlBlockedError) => e);
    expect(JSON.stringify((err as UrlBlockedError).details)).not.toContain('10.1.2.3');
  });

  it('with DOWNLOAD_ALLOW_PRIVATE lifts the address check only', async () => {
    const { sut } = policy({ DOWNLOAD_ALLOW_PRIVATE: 'true' });
    await expect(verdict(sut, 'http://127.0.0.1:8080/')).resolves.toBe('allowed');
    await expect(verdict(sut, 'http://evil-loopback.example/')).resolves.toBe('allowed');
    await expect(verdict(sut, 'file:///etc/passwd')).resolves.toBe('blocked');
    await expect(verdict(sut, 'http://u:p@127.0.0.1/')).resolves.toBe('blocked');
  });
});

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['169.254.169.254', 'link_local'],
    ['100.64.0.1', 'cgnat'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::c0a8:101', 'private'],
    ['2002:a9fe:a9fe::', 'link_local'],
    ['fe80::1', 'link_local'],
    ['fd00::1', 'unique_local'],
    ['fec0::1', 'site_local'],
    ['ff02::1', 'multicast'],
    ['192.0.2.1', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['2001:2::1', 'benchmarking'],
    ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', 'teredo'], // a public client (8.8.8.8)
    // special-purpose ranges with no name of their own: AS112, AMT, the 6to4 relay, ORCHIDv2, discard…
    ['192.31.196.1', 'reserved'],
    ['192.52.193.1', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['192.175.48.1', 'reserved'],
    ['2001:20::1', 'reserved'],
    ['2001:4:112::1', 'reserved'],
    ['2620:4f:8000::1', 'reserved'], // AS112 inside global unicast
    ['100::1', 'reserved'],
    ['64:ff9b:1::a00:1', 'reserved'], // local-use NAT64 prefix: no public address behind it
    ['4000::1', 'reserved'], // outside global unicast 2000::/3
    // the deprecated IPv4-compatible form of a PUBLIC address is refused too; ipaddr.js alone would read
    // `::8.8.8.8` as the mapped `::ffff:8.8.8.8` and accept it
    ['::8.8.8.8', 'reserved'],
    ['::808:808', 'reserved'],
    ['::ffff:8.8.8.8', undefined],
    ['::ffff:0:8.8.8.8', undefined],
    ['64:ff9b::8.8.8.8', undefined],
    ['2002:808:808::1', undefined],
    ['1.1.1.1', undefined],
    ['2a00:1450:4001:81c::200e', undefined],
    ['0177.0.0.1', 'invalid'], // only canonical literals: odd spellings are the URL parser's to resolve
    ['127.1', 'invalid'],
    ['fe80::1%eth0', 'invalid'],
    ['not-an-ip', 'invalid'],
  ])('%s → %s', (address, category) => {
    expect(classifyAddress(address)).toBe(category);
  });
});

/**
 * api.md's URL policy list, row by row: each refused category in every IPv6 form that carries an IPv4 address
 * and every odd IPv4 spelling, through the whole policy (WHATWG parsing, then the address check), each refusal
 * reporting the category of the address inside. The same forms of a public address are the control.
 */
describe('UrlPolicy: every refusal in the URL policy list, in every form', () => {
  const REFUSED: Array<[string, AddressCategory]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link_local'],
    ['169.254.0.1', 'link_local'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.254', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.99', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
  ];
  const octets = (v4: string): number[] => v4.split('.').map(Number);
  const group = (hi: number, lo: number): string => ((hi << 8) | lo).toString(16);
  /** The IPv6 forms that carry `v4`, as a URL host. */
  const ipv6Forms = (v4: string): Record<string, string> => {
    const [a, b, c, d] = octets(v4);
    const [ia, ib, ic, id] = [a, b, c, d].map((o) => 255 - o); // Teredo stores the client address inverted
    return {
      'IPv4-mapped': `[::ffff:${v4}]`,
      'IPv4-mapped, hex': `[::ffff:${group(a, b)}:${group(c, d)}]`,
      'IPv4-mapped, in full': `[0:0:0:0:0:ffff:${group(a, b)}:${group(c, d)}]`,
      'IPv4-compatible': `[::${v4}]`,
      'IPv4-compatible, hex': `[::${group(a, b)}:${group(c, d)}]`,
      'SIIT (IPv4-translated)': `[::ffff:0:${v4}]`,
      NAT64: `[64:ff9b::${v4}]`,
      'NAT64, hex': `[64:ff9b::${group(a, b)}:${group(c, d)}]`,
      '6to4': `[2002:${group(a, b)}:${group(c, d)}::1]`,
      Teredo: `[2001:0:4136:e378:8000:63bf:${group(ia, ib)}:${group(ic, id)}]`,
    };
  };
  /** The odd IPv4 spellings the WHATWG URL parser turns into `v4`. */
  const spellings = (v4: string): Record<string, string> => {
    const [a, b, c, d] = octets(v4);
    const n = a * 2 ** 24 + b * 2 ** 16 + c * 2 ** 8 + d;
    return {
      decimal: String(n),
      'hex, whole': `0x${n.toString(16)}`,
      'hex, upper case': `0X${n.toString(16).toUpperCase()}`,
      'hex, per octet': octets(v4)
        .map((o) => `0x${o.toString(16)}`)
        .join('.'),
      'octal, whole': `0${n.toString(8)}`,
      'octal, per octet': octets(v4)
        .map((o) => `0${o.toString(8)}`)
        .join('.'),
      'short form a.b.c': `${a}.${b}.${c * 256 + d}`,
      'short form a.b': `${a}.${b * 65536 + c * 256 + d}`,
      'mixed hex, octal, short': `0x${a.toString(16)}.0${b.toString(8)}.${c * 256 + d}`,
      'trailing dot': `${v4}.`,
    };
  };
  const url = (host: string): string => `http://${host}/`;
  const refusal = async (raw: string): Promise<unknown> => {
    const { sut } = policy();
    return sut.resolve(sut.parse(raw)).then(
      () => 'allowed',
      (err: unknown) => (err instanceof UrlBlockedError ? err.details : err),
    );
  };

  const rows = (forms: (v4: string) => Record<string, string>): Array<[string, string, string, string]> =>
    REFUSED.flatMap(([v4, category]) =>
      Object.entries(forms(v4)).map(([form, host]): [string, string, string, string] => [
        category,
        form,
        host,
        v4,
      ]),
    );

  it.each(REFUSED)('refuses %s as %s', async (v4, category) => {
    await expect(refusal(url(v4))).resolves.toEqual({ reason: 'address', category });
  });

  it.each(rows(ipv6Forms))('refuses %s in the %s form %s (%s)', async (category, _form, host) => {
    await expect(refusal(url(host))).resolves.toEqual({ reason: 'address', category });
  });

  it.each(rows(spellings))('refuses %s spelt %s: %s (%s)', async (category, _form, host) => {
    await expect(refusal(url(host))).resolves.toEqual({ reason: 'address', category });
  });

  it('controls: the same forms of a public address reach it, except the ones never dialled legitimately', async () => {
    const outcomes: Record<string, unknown> = {};
    for (const [form, host] of Object.entries({ literal: '8.8.8.8', ...ipv6Forms('8.8.8.8') }))
      outcomes[form] = await refusal(url(host));
    expect(outcomes).toEqual({
      literal: 'allowed',
      'IPv4-mapped': 'allowed',
      'IPv4-mapped, hex': 'allowed',
      'IPv4-mapped, in full': 'allowed',
      'IPv4-compatible': { reason: 'address', category: 'reserved' },
      'IPv4-compatible, hex': { reason: 'address', category: 'reserved' },
      'SIIT (IPv4-translated)': 'allowed',
      NAT64: 'allowed',
      'NAT64, hex': 'allowed',
      '6to4': 'allowed',
      Teredo: { reason: 'address', category: 'teredo' },
    });
    for (const host of Object.values(spellings('8.8.8.8')))
      await expect(refusal(url(host))).resolves.toBe('allowed');
  });
});
