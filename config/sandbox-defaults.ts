// The values Skerry's own sandboxes accept. They are in the repository, so they are public: a
// provider may fall back to them only while its API base is a loopback address (Skerry's sandbox or a
// local mock), never when it calls a real API, whose webhooks anyone could then forge.

/** Development runs against the sandboxes with these well-known, non-secret test values. */
export const SANDBOX_DEFAULTS = {
  stripeSecretKey: 'sk_test_skerry_sandbox',
  stripeWebhookSecret: 'whsec_skerry_sandbox_development',
  paypalClientId: 'skerry-sandbox-paypal-client-id',
  paypalClientSecret: 'skerry-sandbox-paypal-client-secret',
  paypalWebhookId: 'SKERRYSANDBOXWEBHOOK01',
  /** Swish's own test merchant number (Merchant Swish Simulator), the sandbox certificate's CN. */
  swishPayeeAlias: '1234679304',
  mobilepayClientId: 'skerry-sandbox-client-id',
  mobilepayClientSecret: 'skerry-sandbox-client-secret',
  mobilepaySubscriptionKey: 'skerry-sandbox-subscription-key',
  mobilepayMsn: '123456',
  mobilepayWebhookSecret: 'skerry-sandbox-mobilepay-webhook-secret',
} as const;

/** Development-only values; outside development the real ones are required. */
export const CHANNEL_SANDBOX_DEFAULTS = {
  // sha256("skerry development token key"): public, so never for real tokens.
  tokenEncryptionKey: 'ZkHKoPubu/KO7S0Io3wktyB1E3dexgkOyn7XmyAtCWE=',
  bookingComUsername: 'skerry-machine-account',
  bookingComPassword: 'skerry-sandbox-password',
  airbnbClientId: 'skerry-sandbox-airbnb-client',
  airbnbClientSecret: 'skerry-sandbox-airbnb-secret',
  airbnbWebhookSecret: 'skerry-sandbox-airbnb-webhook-secret',
  channexApiKey: 'skerry-sandbox-channex-api-key',
  channexWebhookSecret: 'skerry-sandbox-channex-webhook-secret',
} as const;

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

/** True for an API base on this machine: Skerry's sandbox (at a loopback SANDBOX_URL) or a local mock. */
export function isLoopbackApi(base: string | undefined): boolean {
  if (base === undefined) return false;
  const host = new URL(base).hostname.toLowerCase();
  return LOOPBACK_HOSTS.has(host) || /^127(?:\.\d{1,3}){3}$/.test(host);
}
