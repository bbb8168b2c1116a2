// How the sandbox signs the webhooks it sends, the scheme the receiving endpoint checks: the header
// `X-Airbnb-Signature: t=<unix seconds>,v1=<hex>`, v1 being HMAC-SHA256 with the endpoint's secret
// over `<t>.<the exact body bytes>`. Signing the timestamp with the body lets the receiver refuse a
// replay after its tolerance; one v1 per secret lets an endpoint roll its secret without a gap.
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-airbnb-signature';

/** The header value for `body` sent at `unixSeconds`, with a v1 per secret (the new one last during a roll). */
export function webhookSignature(secrets: string | readonly string[], body: string, unixSeconds: number): string {
  const signatures = (typeof secrets === 'string' ? [secrets] : secrets).map(
    (secret) => `v1=${createHmac('sha256', secret).update(`${unixSeconds}.`).update(body, 'utf8').digest('hex')}`,
  );
  return [`t=${unixSeconds}`, ...signatures].join(',');
}
