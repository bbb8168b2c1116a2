// What store/channel-accounts.ts wrote before sealed values carried a key id (v1): AES-256-GCM under
// the master key itself, `v1:<iv>:<tag>:<ciphertext>` in standard base64. Rows like this are still in
// databases made before; tests seal them here to prove they stay readable and get re-sealed.
import { createCipheriv, randomBytes } from 'node:crypto';

export function sealV1(base64Key: string, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(base64Key, 'base64'), iv);
  cipher.setAAD(Buffer.from(context));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), data.toString('base64')].join(':');
}
