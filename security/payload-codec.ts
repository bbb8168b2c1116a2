// Workflow payloads encrypted before they reach Temporal: inputs, results, signals, queries, updates,
// memos and summaries carry guest names, emails, payer phone numbers and Stripe client secrets, and a
// history is readable by anyone with access to the Temporal cluster. Search attributes are not
// payloads the codec sees: they stay plain, and so must never hold personal data
// (domain/search-attributes.ts).
//
// As in temporalio/samples-typescript's `encryption` sample: the whole payload (its metadata and
// data) is serialized and sealed with AES-256-GCM under the payload-codec subkey; the new payload
// says `binary/encrypted` and names the key id, so payloads written under TOKEN_ENCRYPTION_KEY_PREVIOUS
// still decode during a rotation. Codecs run outside the workflow sandbox (client, worker, codec
// server): the workflow bundle never sees them.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
// @temporalio/proto is CommonJS: Node's ESM loader sees only its default export (a named import crashes
// a plain `node --import tsx` process, though vitest's transform hides it).
import proto from '@temporalio/proto';
import { deriveKeyRing, type KeyMaterial, type KeyRing } from './keys';

const { temporal } = proto;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;

const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: KeyRing) {}

  /** The id of the key payloads are encrypted with now. */
  get keyId(): string {
    return this.ring.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', this.ring.current.key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: Buffer.from(this.ring.current.id),
        },
        data: Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]),
      };
    });
  }

  /**
   * Payloads that are not encrypted pass through untouched: histories recorded before the codec, and
   * anything written by a client without it, still read and replay.
   */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
      if (!keyId) throw new ValueError('An encrypted payload without an encryption key id');
      const subKey = this.ring.byId(keyId);
      if (!subKey) {
        throw new ValueError(`A payload encrypted with key ${keyId}, which is neither TOKEN_ENCRYPTION_KEY nor TOKEN_ENCRYPTION_KEY_PREVIOUS`);
      }
      const data = payload.data ?? new Uint8Array();
      if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('An encrypted payload too short to hold its IV and tag');
      const decipher = createDecipheriv('aes-256-gcm', subKey.key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch (err) {
        throw new ValueError(`An encrypted payload (key ${keyId}) that does not decrypt: altered in transit or at rest`, err);
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

export function createPayloadCodec(material: KeyMaterial): EncryptionCodec {
  return new EncryptionCodec(deriveKeyRing(material, 'payload-codec'));
}

/**
 * What every Temporal client and worker of Skerry is given (`dataConverter`): the default payload
 * converter, then encryption. What a client without it sends still reaches the workflow (plain
 * payloads pass), but what it reads back (results, query answers, histories) is ciphertext, and
 * what it writes lands in Temporal in the clear.
 */
export function encryptedDataConverter(material: KeyMaterial): DataConverter {
  return { payloadCodecs: [createPayloadCodec(material)] };
}
