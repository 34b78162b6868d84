import { Injectable } from '@nestjs/common';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Name resolution for the URL policy, as a provider so tests can answer for names without touching
 * /etc/hosts (spy on `lookup`). The policy calls it once per hop and pins the connection to the
 * address it checked.
 */
@Injectable()
export class Resolver {
  async lookup(hostname: string): Promise<ResolvedAddress[]> {
    const found = await lookup(hostname, { all: true, verbatim: true });
    return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
  }

  /**
   * The socket address dialled for an address the policy accepted. The identity in every deployment;
   * a seam for tests, which map a public-looking address onto the loopback fixture.
   */
  dialAddress(checked: string): string {
    return checked;
  }

  static familyOf(address: string): 4 | 6 {
    return isIP(address) === 6 ? 6 : 4;
  }
}
