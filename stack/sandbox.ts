// `npm run sandbox`: the provider sandboxes alone, on 127.0.0.1:<SANDBOX_PORT> (Swish on its own mutual-TLS
// port), sending webhooks to the Skerry API at PUBLIC_URL. It lives in stack/ because it reads Skerry's
// configuration; the sandboxes themselves import nothing of the product. Closes cleanly on SIGINT/SIGTERM.
import { loadConfig, loadEnvFiles } from '../config';
import { startSandboxes } from '../sandbox/start';

loadEnvFiles();
const config = loadConfig();
const sandboxes = await startSandboxes(config, { logger: { level: config.logLevel } });
sandboxes.app.log.info({ url: sandboxes.url, swish: sandboxes.swishApiBase, webhooks: `${config.publicUrl}/webhooks/<provider>` }, 'sandbox ready');

let closing = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (closing) return;
  closing = true;
  sandboxes.app.log.info({ signal }, 'sandbox closing');
  sandboxes.close().then(
    () => process.exit(0),
    (error: unknown) => {
      sandboxes.app.log.error({ err: error }, 'sandbox failed to close');
      process.exit(1);
    },
  );
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
