// Starts the provider sandboxes a configuration needs, wired to that configuration's webhook URLs,
// secrets and credentials: one place for `npm start`, `npm run sandbox`, the tests and the bench.
import type { FastifyServerOptions } from 'fastify';
import { join } from 'node:path';
import { buildSandbox, sandboxHandles } from './server';
import { startSwishApiServer } from './swish/server';
import type { WebhookDeliveryOptions } from './shared/webhook-queue';

export interface RunningSandboxes {
  app: Awaited<ReturnType<typeof buildSandbox>>;
  url: string;
  /** The Swish API's HTTPS (mutual TLS) base, when Swish is sandboxed. */
  swishApiBase?: string;
  handles: ReturnType<typeof sandboxHandles>;
  close(): Promise<void>;
}

/**
 * What the sandboxes need to know of a deployment: which providers are simulated, where their
 * webhooks go and which credentials they accept. Skerry's configuration has this shape; it is written
 * out here so the sandboxes depend on no product module (they stand for other companies' servers).
 */
export interface SandboxLaunchSettings {
  publicUrl: string;
  /** The sandboxes' state is kept under `<dataDir>/sandboxes`, so a restart forgets nothing. */
  dataDir?: string;
  sandbox: { port: number; swishPort: number; url: string };
  stripe: { sandboxed: boolean; webhookSecrets: readonly string[] };
  paypal: { sandboxed: boolean; webhookId: string; clientId: string; clientSecret: string };
  swish: { sandboxed: boolean; sandboxCertDir: string };
  mobilepay: { sandboxed: boolean; webhookSecrets: readonly string[]; clientId: string; clientSecret: string; subscriptionKey: string; merchantSerialNumber: string };
  channels: {
    bookingCom: { sandboxed: boolean; username: string; password: string };
    airbnb: { sandboxed: boolean; clientId: string; clientSecret: string; webhookSecrets: readonly string[] };
    channex: { sandboxed: boolean; apiKey: string; webhookHeader: string; webhookSecrets: readonly string[]; rateWindowSeconds: number };
  };
}

export function needsSandboxes(config: SandboxLaunchSettings): boolean {
  return (
    config.stripe.sandboxed ||
    config.paypal.sandboxed ||
    config.swish.sandboxed ||
    config.mobilepay.sandboxed ||
    config.channels.bookingCom.sandboxed ||
    config.channels.airbnb.sandboxed ||
    config.channels.channex.sandboxed
  );
}

export async function startSandboxes(
  config: SandboxLaunchSettings,
  options: { logger?: FastifyServerOptions['logger']; webhooks?: WebhookDeliveryOptions } = {},
): Promise<RunningSandboxes> {
  const webhookUrl = (provider: string, sandboxed: boolean) => (sandboxed ? `${config.publicUrl}/webhooks/${provider}` : '');
  const app = await buildSandbox({
    logger: options.logger ?? false,
    dataDir: config.dataDir === undefined ? undefined : join(config.dataDir, 'sandboxes'),
    stripe: { webhookUrl: webhookUrl('stripe', config.stripe.sandboxed), webhookSecret: config.stripe.webhookSecrets[0]!, webhooks: options.webhooks },
    paypal: {
      webhookUrl: webhookUrl('paypal', config.paypal.sandboxed),
      webhookId: config.paypal.webhookId,
      clients: [{ clientId: config.paypal.clientId, clientSecret: config.paypal.clientSecret }],
      webhooks: options.webhooks,
    },
    mobilepay: {
      webhookUrl: webhookUrl('mobilepay', config.mobilepay.sandboxed),
      webhookSecret: config.mobilepay.webhookSecrets[0]!,
      credentials: [
        {
          clientId: config.mobilepay.clientId,
          clientSecret: config.mobilepay.clientSecret,
          subscriptionKey: config.mobilepay.subscriptionKey,
          merchantSerialNumber: config.mobilepay.merchantSerialNumber,
        },
      ],
      webhooks: options.webhooks,
    },
    swish: { webhooks: options.webhooks },
    bookingCom: { username: config.channels.bookingCom.username, password: config.channels.bookingCom.password },
    airbnb: {
      clientId: config.channels.airbnb.clientId,
      clientSecret: config.channels.airbnb.clientSecret,
      webhookUrl: webhookUrl('airbnb', config.channels.airbnb.sandboxed),
      webhookSecret: config.channels.airbnb.webhookSecrets[0]!,
      webhooks: options.webhooks,
    },
    channex: { apiKey: config.channels.channex.apiKey, rateWindowSeconds: config.channels.channex.rateWindowSeconds, webhooks: options.webhooks },
  });
  const { channex } = config.channels;
  const channexWebhook = webhookUrl('channex', channex.sandboxed);
  // At Channex the integrator creates the webhook (UI or API) with its secret header; the sandbox has it made once.
  if (channexWebhook && !sandboxHandles(app).channex.listWebhooks().some((webhook) => webhook.callback_url === channexWebhook)) {
    sandboxHandles(app).channex.createWebhook({ callback_url: channexWebhook, event_mask: '*', headers: { [channex.webhookHeader]: channex.webhookSecrets[0]! } });
  }
  await app.listen({ host: '127.0.0.1', port: config.sandbox.port });
  let swishApiBase: string | undefined;
  if (config.swish.sandboxed) {
    // Swish is HTTPS with mutual TLS on a listener of its own; the generated test CA and merchant
    // certificate are the files config.swish points the client at.
    const swish = await startSwishApiServer(sandboxHandles(app).swish, { port: config.sandbox.swishPort, certDir: config.swish.sandboxCertDir });
    swishApiBase = swish.apiBase;
  }
  return { app, url: config.sandbox.url, swishApiBase, handles: sandboxHandles(app), close: () => app.close() };
}
