// `npm run sandbox`: the provider sandboxes on 127.0.0.1:<SANDBOX_PORT>, sending webhooks to the
// Skerry API at PUBLIC_URL. Closes cleanly on SIGINT/SIGTERM.
import { loadConfig, loadEnvFiles } from '../config/index';
import { buildSandbox } from './server';

async function main(): Promise<void> {
  loadEnvFiles();
  const config = loadConfig();
  const webhookSecret = config.stripe.webhookSecrets[0];
  if (!webhookSecret) throw new Error('No Stripe webhook secret configured');

  const app = await buildSandbox({
    logger: { level: config.logLevel },
    stripe: {
      webhookUrl: `${config.publicUrl}/webhooks/stripe`,
      webhookSecret,
    },
  });

  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'sandbox closing');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'sandbox failed to close');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  await app.listen({ host: '127.0.0.1', port: config.sandbox.port });
  app.log.info({ stripe: `${config.sandbox.url}/stripe`, webhooks: `${config.publicUrl}/webhooks/stripe` }, 'sandbox ready');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
