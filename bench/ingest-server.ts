// B1's two servers, each in its own process: `full` is Skerry's webhook ingress (verify the
// Stripe-Signature, record in the Postgres inbox, answer); `bare` is the same Fastify answering
// at once, the baseline. Delivery to workflows is B2's subject and is not started here.
import Fastify from 'fastify';
import { createDatabase } from '../db/client';
import { createWebhookInbox } from '../store/webhook-inbox';
import { registerWebhookRoutes } from '../api/webhooks/routes';
import { createStripeWebhookVerifier } from '../providers/stripe/webhooks';

const mode = process.argv[2];
const port = Number(process.argv[3]);
const app = Fastify({ logger: false });
let close = async () => {};
if (mode === 'full') {
  const database = createDatabase(process.env.DATABASE_URL!, { max: Number(process.env.BENCH_DB_POOL ?? 20) });
  close = () => database.close();
  const inbox = createWebhookInbox(database.db);
  // Delivery to workflows is B2's and B1b's subject: here it is never backed up and does nothing.
  const delivery = { deliverNow: () => {}, saturated: () => false } as never;
  await app.register(
    async (scope) =>
      registerWebhookRoutes(scope, {
        inbox,
        delivery,
        verifiers: [createStripeWebhookVerifier({ secrets: () => [process.env.STRIPE_WEBHOOK_SECRET!], toleranceSeconds: 300 })],
      }),
    { prefix: '/webhooks' },
  );
} else {
  await app.register(
    async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
      scope.post('/:provider', async () => ({ received: 1, duplicates: 0 }));
    },
    { prefix: '/webhooks' },
  );
}
await app.listen({ host: '127.0.0.1', port });
process.send?.({ ready: true });
process.once('SIGTERM', () => void app.close().then(close).then(() => process.exit(0)));
