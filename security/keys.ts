// One master key (TOKEN_ENCRYPTION_KEY), one subkey per use, derived with HKDF-SHA256: the key that
// seals tokens never encrypts a workflow payload, so what one use exposes (payloads a codec server
// decrypts on request, ciphertexts chosen by a caller) says nothing about the other. A new use gets
// a purpose of its own here, never an existing subkey.
//
// The OAuth `state` needs no key: it is 256 random bits kept hashed until its callback consumes it
// (store/oauth-connects.ts), not a signed value.
//
// Every subkey has an id, a short hash of the subkey itself: what a sealed value or an encrypted
// payload carries to say which key opens it, so the key being rotated out keeps working until
// everything is re-sealed with the new one.
import { createHash, hkdfSync } from 'node:crypto';
import type { TokenEncryptionKeys } from '../config';

export type KeyPurpose = 'token-sealing' | 'payload-codec';

/** A master key as configuration holds it (base64, 32 bytes), or the current and previous keys. */
export type KeyMaterial = string | TokenEncryptionKeys;

export interface SubKey {
  /** 12 hex characters of SHA-256 over the subkey: names it without revealing it. */
  readonly id: string;
  readonly key: Buffer;
}

export interface KeyRing {
  readonly purpose: KeyPurpose;
  /** Seals, signs and encrypts everything new. */
  readonly current: SubKey;
  /** Every subkey that may open something: the current one first, then the previous one. */
  readonly readable: readonly SubKey[];
  byId(id: string): SubKey | undefined;
}

// Changing the salt or an info string changes every subkey: existing sealed values would then only
// be readable through a rotation. They are fixed for the life of the data.
const SALT = Buffer.from('skerry key derivation');

/** The master keys, current first, as 32-byte buffers. */
export function masterKeys(material: KeyMaterial): Buffer[] {
  const keys = typeof material === 'string' ? [material] : [material.current, ...(material.previous ? [material.previous] : [])];
  return keys.map((base64) => {
    const key = Buffer.from(base64, 'base64');
    if (key.length !== 32) throw new Error('an encryption key must be 32 bytes');
    return key;
  });
}

export function deriveSubKey(master: Buffer, purpose: KeyPurpose): SubKey {
  const key = Buffer.from(hkdfSync('sha256', master, SALT, `skerry ${purpose} v1`, 32));
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 12), key };
}

export function deriveKeyRing(material: KeyMaterial, purpose: KeyPurpose): KeyRing {
  const readable = masterKeys(material).map((master) => deriveSubKey(master, purpose));
  return {
    purpose,
    current: readable[0]!,
    readable,
    byId: (id) => readable.find((subKey) => subKey.id === id),
  };
}
