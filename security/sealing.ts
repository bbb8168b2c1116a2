// Secrets at rest (OAuth access and refresh tokens): AES-256-GCM under the token-sealing subkey.
//
//   v2:<key id>:<iv>:<ciphertext>:<tag>       (base64url parts)
//
// The key id says which subkey opens the value, so during a rotation values sealed with
// TOKEN_ENCRYPTION_KEY_PREVIOUS still open, and `isCurrent` tells the re-sealing what is left to do.
// The additional data (`context`) binds a ciphertext to its row and use: a token copied into another
// row, or an access token swapped for a refresh token, does not open.
//
// Before key ids there was v1 (`v1:<iv>:<tag>:<ciphertext>`, standard base64, the master key itself
// as the AES key): still opened, with either master key, until a rotation re-seals it as v2.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deriveKeyRing, masterKeys, type KeyMaterial } from './keys';

const VERSION = 'v2';
const LEGACY_VERSION = 'v1';

export class SealedValueError extends Error {
  override readonly name = 'SealedValueError';
}

export interface Sealer {
  /** The id of the key new values are sealed with. */
  readonly keyId: string;
  seal(plaintext: string, context: string): string;
  /** Throws SealedValueError when no configured key opens the value, or it was altered. */
  open(sealed: string, context: string): string;
  /** Sealed with the current key in the current format: nothing for a rotation to do. */
  isCurrent(sealed: string): boolean;
}

function decrypt(key: Buffer, iv: Buffer, data: Buffer, tag: Buffer, context: string): string {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
}

export function createSealer(material: KeyMaterial): Sealer {
  const ring = deriveKeyRing(material, 'token-sealing');
  const legacyKeys = masterKeys(material);

  const openLegacy = (parts: string[], context: string) => {
    const [, iv, tag, data] = parts;
    if (parts.length !== 4 || !iv || !tag || data === undefined) throw new SealedValueError('not a sealed value');
    for (const key of legacyKeys) {
      try {
        return decrypt(key, Buffer.from(iv, 'base64'), Buffer.from(data, 'base64'), Buffer.from(tag, 'base64'), context);
      } catch {
        // Sealed with the other master key, or altered: the next key, or the error below.
      }
    }
    throw new SealedValueError('a v1 sealed value that neither TOKEN_ENCRYPTION_KEY nor TOKEN_ENCRYPTION_KEY_PREVIOUS opens');
  };

  return {
    keyId: ring.current.id,

    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', ring.current.key, iv);
      cipher.setAAD(Buffer.from(context));
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, ring.current.id, iv.toString('base64url'), data.toString('base64url'), cipher.getAuthTag().toString('base64url')].join(':');
    },

    open(sealed, context) {
      const parts = sealed.split(':');
      if (parts[0] === LEGACY_VERSION) return openLegacy(parts, context);
      const [version, keyId, iv, data, tag] = parts;
      if (version !== VERSION || parts.length !== 5 || !keyId || !iv || data === undefined || !tag) throw new SealedValueError('not a sealed value');
      const subKey = ring.byId(keyId);
      if (!subKey) {
        throw new SealedValueError(`sealed with key ${keyId}, which is neither TOKEN_ENCRYPTION_KEY nor TOKEN_ENCRYPTION_KEY_PREVIOUS`);
      }
      try {
        return decrypt(subKey.key, Buffer.from(iv, 'base64url'), Buffer.from(data, 'base64url'), Buffer.from(tag, 'base64url'), context);
      } catch (err) {
        throw new SealedValueError(`sealed value with key ${keyId} does not open: altered, or sealed for another row or use`, { cause: err });
      }
    },

    isCurrent: (sealed) => sealed.startsWith(`${VERSION}:${ring.current.id}:`),
  };
}
