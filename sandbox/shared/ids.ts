// Provider-style identifiers (`pi_3OrpBECyQAg6NyoS07fH88Yd`). Cryptographically random, never seeded:
// ids must not collide across sandbox restarts, and no test should depend on their value.
import { randomBytes } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random string over [A-Za-z0-9] (no modulo bias: bytes ≥ 248 are skipped). */
export function randomToken(length: number, alphabet: string = ALPHANUMERIC): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= limit) continue;
      out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** `<prefix>_<24 random alphanumerics>`, the shape of Stripe object ids. */
export function newId(prefix: string, length = 24): string {
  return `${prefix}_${randomToken(length)}`;
}

/** 32 uppercase hex characters, the shape of Swish instruction UUIDs. */
export function randomHex(length = 32): string {
  return randomToken(length, '0123456789ABCDEF');
}
