// Builds the provider clients and webhook verifiers from configuration, once per process.
import type { Config } from '../config';
import type { ProviderRegistry } from '../activities/payments';
import { ProviderError } from './errors';
import type { PaymentProviderClient, WebhookVerifier } from './types';
import { createStripeClient } from './stripe/client';
import { createStripeWebhookVerifier } from './stripe/webhooks';
import type { ProviderName } from '../workflows/payments/messages';

export function createProviderRegistry(config: Config): ProviderRegistry {
  const clients = new Map<ProviderName, PaymentProviderClient>([
    ['stripe', createStripeClient({ secretKey: config.stripe.secretKey, apiBase: config.stripe.apiBase })],
  ]);
  return {
    get(provider) {
      const client = clients.get(provider);
      if (!client) throw new ProviderError(provider, 'resolve', 'unsupported', `provider ${provider} is not configured`);
      return client;
    },
  };
}

export function createWebhookVerifiers(config: Config): WebhookVerifier[] {
  return [
    createStripeWebhookVerifier({ secrets: () => config.stripe.webhookSecrets, toleranceSeconds: config.stripe.webhookToleranceSeconds }),
  ];
}
