import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyBinding } from '@app/config';

interface StoredKey {
  digest: Buffer;
  tenant: string;
  fingerprint: string;
}

/**
 * Looks API keys up in constant time: every stored key is compared (no early exit) on SHA-256
 * digests, so neither the position of a match nor the length of a key leaks through timing.
 */
export class ApiKeyStore {
  private readonly keys: StoredKey[];

  constructor(bindings: ApiKeyBinding[]) {
    this.keys = bindings.map((b) => {
      const digest = createHash('sha256').update(b.key).digest();
      return { digest, tenant: b.tenant, fingerprint: `key:${digest.subarray(0, 6).toString('hex')}` };
    });
  }

  get size(): number {
    return this.keys.length;
  }

  find(presented: string): { tenant: string; fingerprint: string } | undefined {
    const digest = createHash('sha256').update(presented).digest();
    let found: StoredKey | undefined;
    for (const k of this.keys) {
      if (timingSafeEqual(k.digest, digest) && !found) found = k;
    }
    return found && { tenant: found.tenant, fingerprint: found.fingerprint };
  }
}

export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1].trim();
  }
  const x = headers['x-api-key'];
  if (typeof x === 'string' && x.trim()) return x.trim();
  return undefined;
}
