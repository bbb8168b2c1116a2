// Builds the provider clients and webhook verifiers from configuration, once per process. Clients
// go through this process's resilience mechanisms (throttle, quota, conditional GETs, shared OAuth
// tokens) and are rebuilt when the configuration they were built from changes (a rotated key).
import { createHash } from 'node:crypto';
import { enabledPaymentProviders, type Config } from '../config';
import { acceptedWebhookSecrets } from '../config/resilience';
import { staticConfig, type ConfigSource } from '../config/secrets';
import type { ProviderResilience } from './resilience';
import type { SwishClient } from './swish/client';
import type { ProviderRegistry } from './types';
import { ProviderError } from './errors';
import type { PaymentProviderClient, WebhookVerifier } from './types';
import { createStripeClient } from './stripe/client';
import { createStripeWebhookVerifier } from './stripe/webhooks';
import { createSwishClient } from './swish/client';
import { createSwishWebhookVerifier } from './swish/webhooks';
import { createMobilePayClient } from './mobilepay/client';
import { mobilePayConnection } from './mobilepay/api';
import { createMobilePayWebhookVerifier } from './mobilepay/webhooks';
import { createPayPalClient } from './paypal/client';
import { createPayPalWebhookVerifier, type PayPalWebhookVerifier } from './paypal/webhooks';
import { createAirbnbWebhookVerifier } from './airbnb/webhooks';
import { createChannexWebhookVerifier } from './channex/webhooks';
import { registerCounter } from '../observability/metrics';
import type { ProviderName } from '../domain/payments';

/** What the registry builds clients with: the current configuration and this process's resilience. */
export interface RegistryOptions {
  /**
   * Where the current configuration comes from. A reloadable source (config/secrets.ts) makes a
   * rotated key take effect at the next provider call, without restarting workers or workflows.
   */
  source?: ConfigSource;
  /** Throttles, quotas, conditional GETs and the shared OAuth token manager (providers/resilience). */
  resilience?: ProviderResilience;
  /** Webhook secrets of registrations Skerry made through a provider's API (store/provider-webhooks.ts). */
  storedWebhookSecrets?: Partial<Record<ProviderName, (fresh?: boolean) => Promise<readonly string[]>>>;
}

/** PayPal refuses a token without these (Skerry refunds, so it needs the refund scope). */
export const PAYPAL_REQUIRED_SCOPES = ['https://uri.paypal.com/services/payments/refund'];

/** A digest of what a client or verifier is built from: a change (a rotated key) rebuilds it. */
const digestOf = (parts: unknown[]): string => createHash('sha256').update(JSON.stringify(parts)).digest('hex');

function fingerprintOf(provider: ProviderName, config: Config): string {
  const parts: Record<ProviderName, unknown[]> = {
    stripe: [config.stripe.secretKey, config.stripe.apiBase],
    paypal: [config.paypal.clientId, config.paypal.clientSecret, config.paypal.apiBase, config.paypal.returnUrl, config.paypal.cancelUrl],
    swish: [config.swish.apiBase, config.swish.payeeAlias, config.swish.cert, config.swish.key, config.swish.ca, config.swish.passphrase, config.swish.callbackUrl],
    mobilepay: [
      config.mobilepay.clientId,
      config.mobilepay.clientSecret,
      config.mobilepay.subscriptionKey,
      config.mobilepay.merchantSerialNumber,
      config.mobilepay.apiBase,
      config.mobilepay.returnUrl,
    ],
  };
  return digestOf(parts[provider]);
}

export function createProviderRegistry(config: Config, options: RegistryOptions = {}): ProviderRegistry {
  const source = options.source ?? staticConfig(config);
  const resilience = options.resilience;
  const build: Record<ProviderName, (config: Config) => PaymentProviderClient> = {
    stripe: (c) => createStripeClient({ secretKey: c.stripe.secretKey, apiBase: c.stripe.apiBase, gate: resilience?.gate('stripe') }),
    paypal: (c) =>
      createPayPalClient({
        clientId: c.paypal.clientId,
        clientSecret: c.paypal.clientSecret,
        apiBase: c.paypal.apiBase,
        returnUrl: c.paypal.returnUrl,
        cancelUrl: c.paypal.cancelUrl,
        gate: resilience?.gate('paypal'),
        tokens: resilience?.tokens,
        requiredScopes: PAYPAL_REQUIRED_SCOPES,
        refreshMarginSeconds: resilience ? resilience.config.oauthRefreshMarginMs / 1000 : undefined,
      }),
    // The certificate files are read at the first call: the sandbox may write them after this.
    swish: (c) =>
      createSwishClient({
        apiBase: c.swish.apiBase,
        payeeAlias: c.swish.payeeAlias,
        cert: c.swish.cert,
        key: c.swish.key,
        ca: c.swish.ca,
        passphrase: c.swish.passphrase,
        callbackUrl: c.swish.callbackUrl,
        settlementReportUrl: c.swish.settlementReportUrl,
        gate: resilience?.gate('swish'),
      }),
    mobilepay: (c) =>
      createMobilePayClient({
        ...mobilePayConnection(c.mobilepay),
        gate: resilience?.gate('mobilepay'),
        tokens: resilience?.tokens,
        tokenRefreshMarginMs: resilience?.config.oauthRefreshMarginMs,
      }),
  };
  const clients = new Map<ProviderName, { fingerprint: string; client: PaymentProviderClient }>();
  return {
    get(provider) {
      const current = source.current();
      // Only the providers this deployment offers get a client; the others answer 'unsupported'.
      if (!enabledPaymentProviders(current).includes(provider)) {
        throw new ProviderError(provider, 'resolve', 'unsupported', `provider ${provider} is not configured`);
      }
      const fingerprint = fingerprintOf(provider, current);
      let entry = clients.get(provider);
      if (!entry || entry.fingerprint !== fingerprint) {
        const replaced = entry?.client as Partial<SwishClient> | undefined;
        entry = { fingerprint, client: build[provider](current) };
        clients.set(provider, entry);
        // Calls in flight finish on the old client; its connections close a minute later.
        if (replaced?.close) setTimeout(() => void replaced.close!().catch(() => undefined), 60_000).unref();
      }
      return entry.client;
    },
  };
}

/** A verifier built from part of the configuration, and built again when that part changes. */
function rebuiltOnChange(provider: WebhookVerifier['provider'], source: ConfigSource, inputs: (config: Config) => unknown[], build: (config: Config) => PayPalWebhookVerifier): PayPalWebhookVerifier {
  let built: { fingerprint: string; verifier: PayPalWebhookVerifier } | undefined;
  const current = () => {
    const config = source.current();
    const fingerprint = digestOf(inputs(config));
    if (built?.fingerprint !== fingerprint) built = { fingerprint, verifier: build(config) };
    return built.verifier;
  };
  return {
    provider,
    apiBase: () => current().apiBase(),
    verify: (webhook) => current().verify(webhook),
  };
}

export function createWebhookVerifiers(config: Config, options: RegistryOptions = {}): WebhookVerifier[] {
  const source = options.source ?? staticConfig(config);
  const enabled = new Set(enabledPaymentProviders(config));
  const verifiers: WebhookVerifier[] = [
    // Secrets are read at every request: a reload (or the end of a rotation's overlap) applies at once.
    createStripeWebhookVerifier({
      secrets: (now) => acceptedWebhookSecrets(source.current().stripe.webhookSecrets, source.current().stripe.previousWebhookSecrets, now),
      toleranceSeconds: config.stripe.webhookToleranceSeconds,
    }),
    // PayPal verifies by calling PayPal with the app's credentials: rebuilt when a reload rotates them.
    rebuiltOnChange(
      'paypal',
      source,
      (c) => [c.paypal.webhookId, c.paypal.clientId, c.paypal.clientSecret, c.paypal.apiBase],
      (c) =>
        createPayPalWebhookVerifier({
          webhookId: c.paypal.webhookId,
          clientId: c.paypal.clientId,
          clientSecret: c.paypal.clientSecret,
          apiBase: c.paypal.apiBase,
          gate: options.resilience?.gate('paypal'),
          tokens: options.resilience?.tokens,
          requiredScopes: PAYPAL_REQUIRED_SCOPES,
        }),
    ),
    createSwishWebhookVerifier(),
    createMobilePayWebhookVerifier({
      secrets: (now) => acceptedWebhookSecrets(source.current().mobilepay.webhookSecrets, source.current().mobilepay.previousWebhookSecrets, now),
      toleranceSeconds: config.mobilepay.webhookToleranceSeconds,
      storedSecrets: options.storedWebhookSecrets?.mobilepay,
    }),
    ...(config.channels.airbnb.enabled
      ? [createAirbnbWebhookVerifier({ secrets: () => source.current().channels.airbnb.webhookSecrets, toleranceSeconds: config.channels.airbnb.webhookToleranceSeconds })]
      : []),
    ...(config.channels.channex.enabled ? [channexWebhookVerifier(config, source)] : []),
  ];
  return verifiers.filter((verifier) => !(verifier.provider in config) || enabled.has(verifier.provider as ProviderName));
}

/** Channex's webhooks, checked by their configured secret header; its health events are counted (alerted on). */
function channexWebhookVerifier(config: Config, source: ConfigSource): WebhookVerifier {
  const healthEvents = registerCounter('skerry_channel_health_events_total', "Problems a channel reported about itself (Channex: booking_unmapped_room, booking_unmapped_rate, sync_error, non_acked_booking)", ['channel', 'event']);
  return createChannexWebhookVerifier({
    header: config.channels.channex.webhookHeader,
    secrets: () => source.current().channels.channex.webhookSecrets,
    onHealthEvent: (event) => healthEvents.inc({ channel: 'channex', event }),
  });
}
