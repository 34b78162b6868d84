import 'reflect-metadata';
import { testConfig } from '@app/config';
import { InvalidUrlError, UrlBlockedError } from '../downloader.errors';
import { classifyAddress, parseIpv6 } from './ip-ranges';
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
  'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', // Teredo (public client)
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
    ['0.0.0.0', 'unspecified'],
    ['169.254.169.254', 'link_local'],
    ['100.64.0.1', 'cgnat'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::c0a8:101', 'private'],
    ['2002:a9fe:a9fe::', 'link_local'],
    ['fe80::1', 'link_local'],
    ['fd00::1', 'unique_local'],
    ['1.1.1.1', undefined],
    ['2a00:1450:4001:81c::200e', undefined],
    ['0177.0.0.1', 'invalid'],
    ['not-an-ip', 'invalid'],
  ])('%s → %s', (address, category) => {
    expect(classifyAddress(address)).toBe(category);
  });

  it('expands IPv6 with an embedded dotted quad', () => {
    expect(parseIpv6('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
    expect(parseIpv6('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIpv6('fe80::1%eth0')).toBeUndefined();
  });
});
