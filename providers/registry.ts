// Builds the provider clients and webhook verifiers from configuration, once per process.
import { enabledPaymentProviders, type Config } from '../config';
import type { ProviderRegistry } from '../activities/payments';
import { ProviderError } from './errors';
import type { PaymentProviderClient, WebhookVerifier } from './types';
import { createStripeClient } from './stripe/client';
import { createStripeWebhookVerifier } from './stripe/webhooks';
import { createSwishClient } from './swish/client';
import { createSwishWebhookVerifier } from './swish/webhooks';
import { createMobilePayClient } from './mobilepay/client';
import { createMobilePayWebhookVerifier } from './mobilepay/webhooks';
import { createPayPalClient } from './paypal/client';
import { createPayPalWebhookVerifier } from './paypal/webhooks';
import type { ProviderName } from '../workflows/payments/messages';

export function createProviderRegistry(config: Config): ProviderRegistry {
  const enabled = new Set(enabledPaymentProviders(config));
  const all: Array<[ProviderName, () => PaymentProviderClient]> = [
    ['stripe', () => createStripeClient({ secretKey: config.stripe.secretKey, apiBase: config.stripe.apiBase })],
    ['paypal', () => createPayPalClient({ clientId: config.paypal.clientId, clientSecret: config.paypal.clientSecret, apiBase: config.paypal.apiBase })],
    [
      'swish',
      // The certificate files are read at the first call: the sandbox may write them after this.
      () =>
        createSwishClient({
          apiBase: config.swish.apiBase,
          payeeAlias: config.swish.payeeAlias,
          cert: config.swish.cert,
          key: config.swish.key,
          ca: config.swish.ca,
          passphrase: config.swish.passphrase,
          callbackUrl: config.swish.callbackUrl,
        }),
    ],
    [
      'mobilepay',
      () =>
        createMobilePayClient({
          clientId: config.mobilepay.clientId,
          clientSecret: config.mobilepay.clientSecret,
          subscriptionKey: config.mobilepay.subscriptionKey,
          merchantSerialNumber: config.mobilepay.merchantSerialNumber,
          apiBase: config.mobilepay.apiBase,
          returnUrl: config.mobilepay.returnUrl,
        }),
    ],
  ];
  // Only the providers this deployment offers get a client; the others answer 'unsupported'.
  const clients = new Map(all.filter(([name]) => enabled.has(name)).map(([name, create]) => [name, create()] as const));
  return {
    get(provider) {
      const client = clients.get(provider);
      if (!client) throw new ProviderError(provider, 'resolve', 'unsupported', `provider ${provider} is not configured`);
      return client;
    },
  };
}

export function createWebhookVerifiers(config: Config): WebhookVerifier[] {
  const enabled = new Set(enabledPaymentProviders(config));
  const verifiers: WebhookVerifier[] = [
    createStripeWebhookVerifier({ secrets: () => config.stripe.webhookSecrets, toleranceSeconds: config.stripe.webhookToleranceSeconds }),
    createPayPalWebhookVerifier({
      webhookId: config.paypal.webhookId,
      clientId: config.paypal.clientId,
      clientSecret: config.paypal.clientSecret,
      apiBase: config.paypal.apiBase,
    }),
    createSwishWebhookVerifier(),
    createMobilePayWebhookVerifier({ secrets: () => config.mobilepay.webhookSecrets, toleranceSeconds: config.mobilepay.webhookToleranceSeconds }),
  ];
  return verifiers.filter((verifier) => !(verifier.provider in config) || enabled.has(verifier.provider as ProviderName));
}
