// One process of concurrent Stripe callers through Skerry's own resilience (throttle, shared
// Postgres pacer) and Stripe client, as a worker process has them: `CALLERS` loops of `REQUESTS`
// PaymentIntent creates each, started together at `START_AT` (epoch ms). A request that missed its
// slots is tried again, as its activity would be. Prints one JSON line: what it sent and missed.
import { loadConfig } from '../../config';
import { createDatabase } from '../../db/client';
import { createLogger } from '../../observability/logger';
import { createProviderResilience } from '../../providers/resilience';
import { RequestSlotMissedError } from '../../providers/resilience/pacer';
import { createStripeSdk } from '../../providers/stripe/client';

const env = process.env;
const config = loadConfig(env);
const database = createDatabase(env.DATABASE_URL!, { max: 10 });
const resilience = createProviderResilience({
  config: config.resilience,
  tokenEncryptionKey: config.channels.tokenEncryptionKey,
  db: database.db,
  pacerConnection: database.pacerConnection,
  logger: createLogger({ level: 'warn' }),
});
const gate = resilience.gate('stripe');
/** When each admitted request was let go (epoch ms): the pacer's view, to set beside the sandbox's. */
const admittedAt: number[] = [];
const timedGate = { ...gate, admit: async () => { await gate.admit(); admittedAt.push(Date.now()); } };
const stripe = createStripeSdk({ secretKey: 'sk_test_pacer', apiBase: `${env.SANDBOX_URL}/stripe`, gate: timedGate });
const callers = Number(env.CALLERS);
const requests = Number(env.REQUESTS);
let sent = 0;
let missed = 0;

// A worker's event loop also runs workflow tasks: blocks of up to BLOCK_MS of synchronous work every
// 100 ms, so callers wake late for their slots as they do in a busy worker.
const blockMs = Number(env.BLOCK_MS ?? 0);
const busy = blockMs > 0
  ? setInterval(() => {
      const until = performance.now() + Math.random() * blockMs;
      while (performance.now() < until);
    }, 100)
  : undefined;

await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(env.START_AT) - Date.now())));
await Promise.all(
  Array.from({ length: callers }, async (_, caller) => {
    for (let i = 0; i < requests; i++) {
      for (;;) {
        try {
          await stripe.paymentIntents.create({ amount: 1_000, currency: 'sek', metadata: { caller: `${process.pid}-${caller}-${i}` } });
          sent += 1;
          break;
        } catch (err) {
          // The Stripe SDK wraps what its HTTP client threw (a connection error, its detail the cause).
          const cause = err instanceof RequestSlotMissedError ? err : (err as { detail?: unknown }).detail;
          if (!(cause instanceof RequestSlotMissedError)) throw err;
          missed += 1;
        }
      }
    }
  }),
);
clearInterval(busy);
console.log(JSON.stringify({ pid: process.pid, sent, missed, admittedAt }));
await resilience.close();
await database.close();
