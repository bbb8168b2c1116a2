// How Vipps MobilePay signs a webhook request (Webhooks API "Request authentication"). Written here
// from the documentation, independently of the adapter's verifier, so one cannot hide a bug in the other.
import { createHash, createHmac } from 'node:crypto';

export function webhookHeaders(url: string, body: string, secret: string, date = new Date()): Record<string, string> {
  const target = new URL(url);
  const xMsDate = date.toUTCString();
  const contentHash = createHash('sha256').update(body, 'utf8').digest('base64');
  const signed = `POST\n${target.pathname}${target.search}\n${xMsDate};${target.host};${contentHash}`;
  const signature = createHmac('sha256', secret).update(signed, 'utf8').digest('base64');
  return {
    'content-type': 'application/json; charset=utf-8',
    'x-ms-date': xMsDate,
    'x-ms-content-sha256': contentHash,
    authorization: `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=${signature}`,
  };
}
