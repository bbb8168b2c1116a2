// The provider sandboxes as one Fastify app. buildSandbox never listens: main.ts (or a test) does.
// Each provider is a plugin under its own prefix (`/stripe`, later `/paypal`, `/swish`, …) with its
// API routes and its `/_control` routes; background work (webhook delivery, timers) stops on close.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { stripePlugin } from './stripe/plugin';
import { StripeSandbox, type StripeSandboxOptions } from './stripe/sandbox';
import { mobilePayPlugin } from './mobilepay/plugin';
import { MobilePaySandbox, type MobilePaySandboxOptions } from './mobilepay/sandbox';
import { swishControlPlugin } from './swish/plugin';
import { SwishSandbox, type SwishSandboxOptions } from './swish/sandbox';
import { paypalPlugin } from './paypal/plugin';
import { PAYPAL_SANDBOX_WEBHOOK_ID, PayPalSandbox, type PayPalSandboxOptions } from './paypal/sandbox';
import { bookingComPlugin } from './booking-com/plugin';
import { BOOKING_COM_DEVELOPMENT_ACCOUNT, BookingComSandbox, type BookingComSandboxOptions } from './booking-com/sandbox';
import { airbnbPlugin } from './airbnb/plugin';
import { SandboxPersistence } from './shared/persistence';
import { AIRBNB_DEVELOPMENT_APP, AirbnbSandbox, type AirbnbSandboxOptions } from './airbnb/sandbox';
import { channexPlugin } from './channex/plugin';
import { CHANNEX_DEVELOPMENT_ACCOUNT, ChannexSandbox, type ChannexSandboxOptions } from './channex/sandbox';

export interface SandboxOptions {
  /** Fastify logger setting: false (default), true, or pino options. */
  logger?: FastifyServerOptions['logger'];
  stripe: StripeSandboxOptions;
  /** Vipps MobilePay ePayment under `/mobilepay`; omitted: defaults, no webhook until one is registered. */
  mobilepay?: MobilePaySandboxOptions;
  /**
   * Swish: controls under `/swish/_control` here; its API is HTTPS with mutual TLS on a listener of
   * its own, started with `startSwishApiServer(sandboxHandles(app).swish, …)` (sandbox/swish/server.ts).
   */
  swish?: SwishSandboxOptions;
  /** PayPal (Orders v2) under `/paypal`; omitted: no webhook delivery, webhook id PAYPAL_SANDBOX_WEBHOOK_ID. */
  paypal?: Partial<PayPalSandboxOptions>;
  /** Booking.com (OTA XML, machine account) under `/booking-com`; omitted: the development account. */
  bookingCom?: Partial<BookingComSandboxOptions>;
  /** Airbnb (OAuth per host, calendars, signed reservation webhooks) under `/airbnb`; omitted: no webhooks. */
  airbnb?: Partial<AirbnbSandboxOptions>;
  /** Channex (ARI, booking revisions feed, webhooks with configured headers) under `/channex`; omitted: the development API key. */
  channex?: Partial<ChannexSandboxOptions>;
  /**
   * Where the sandboxes keep their state across restarts, as the providers do (shared/persistence.ts);
   * omitted: in memory only. Every sandbox keeps its state here, one snapshot file each.
   */
  dataDir?: string;
}

/** The provider sandboxes behind an app, for tests and tools that drive them directly. */
export interface SandboxHandles {
  stripe: StripeSandbox;
  mobilepay: MobilePaySandbox;
  swish: SwishSandbox;
  paypal: PayPalSandbox;
  bookingCom: BookingComSandbox;
  airbnb: AirbnbSandbox;
  channex: ChannexSandbox;
}

const handles = new WeakMap<FastifyInstance, SandboxHandles>();

/** The sandboxes of an app made by buildSandbox. */
export function sandboxHandles(app: FastifyInstance): SandboxHandles {
  const found = handles.get(app);
  if (!found) throw new Error('sandboxHandles: this Fastify instance was not made by buildSandbox');
  return found;
}

export async function buildSandbox(options: SandboxOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    // Requests held open by a timeout fault must not keep close() waiting.
    forceCloseConnections: true,
    // Stripe ids and bodies are small; keep the default body limit.
  });

  const stripe = new StripeSandbox({
    ...options.stripe,
    logger: options.stripe.logger ?? {
      debug: (obj, msg) => app.log.debug(obj, msg),
      warn: (obj, msg) => app.log.warn(obj, msg),
    },
  });
  const mobilepay = new MobilePaySandbox({
    ...options.mobilepay,
    logger: options.mobilepay?.logger ?? {
      debug: (obj, msg) => app.log.debug(obj, msg),
      warn: (obj, msg) => app.log.warn(obj, msg),
    },
  });
  const swish = new SwishSandbox({
    ...options.swish,
    logger: options.swish?.logger ?? {
      debug: (obj, msg) => app.log.debug(obj, msg),
      warn: (obj, msg) => app.log.warn(obj, msg),
    },
  });
  const paypal = new PayPalSandbox({
    webhookUrl: '',
    webhookId: PAYPAL_SANDBOX_WEBHOOK_ID,
    ...options.paypal,
    logger: options.paypal?.logger ?? {
      debug: (obj, msg) => app.log.debug(obj, msg),
      warn: (obj, msg) => app.log.warn(obj, msg),
    },
  });
  const bookingCom = new BookingComSandbox({ ...BOOKING_COM_DEVELOPMENT_ACCOUNT, ...options.bookingCom });
  const airbnb = new AirbnbSandbox({
    ...AIRBNB_DEVELOPMENT_APP,
    webhookUrl: '',
    ...options.airbnb,
    logger: options.airbnb?.logger ?? {
      debug: (obj, msg) => app.log.debug(obj, msg),
      warn: (obj, msg) => app.log.warn(obj, msg),
    },
  });
  const channex = new ChannexSandbox({
    ...CHANNEX_DEVELOPMENT_ACCOUNT,
    ...options.channex,
    logger: options.channex?.logger ?? {
      debug: (obj, msg) => app.log.debug(obj, msg),
      warn: (obj, msg) => app.log.warn(obj, msg),
    },
  });
  handles.set(app, { stripe, mobilepay, swish, paypal, bookingCom, airbnb, channex });
  const persistence = options.dataDir ? new SandboxPersistence({ dir: options.dataDir }) : undefined;
  persistence?.attach('swish', swish.store);
  persistence?.attach('mobilepay', mobilepay);
  persistence?.attach('stripe', stripe);
  persistence?.attach('paypal', paypal);
  persistence?.attach('booking-com', bookingCom);
  persistence?.attach('airbnb', airbnb);
  persistence?.attach('channex', channex);

  // preClose runs before the server stops accepting: release held sockets so close() can finish.
  app.addHook('preClose', async () => {
    stripe.releaseHeldRequests();
    mobilepay.releaseHeldRequests();
    swish.releaseHeldRequests();
    paypal.releaseHeldRequests();
    bookingCom.releaseHeldRequests();
    airbnb.releaseHeldRequests();
    channex.releaseHeldRequests();
  });
  app.addHook('onClose', async () => {
    persistence?.close();
    stripe.close();
    mobilepay.close();
    await swish.close();
    paypal.close();
    bookingCom.close();
    airbnb.close();
    channex.close();
  });

  app.get('/health', async () => ({ status: 'ok' }));
  await app.register(stripePlugin, { prefix: '/stripe', sandbox: stripe });
  await app.register(mobilePayPlugin, { prefix: '/mobilepay', sandbox: mobilepay });
  await app.register(swishControlPlugin, { prefix: '/swish', sandbox: swish });
  await app.register(paypalPlugin, { prefix: '/paypal', sandbox: paypal });
  await app.register(bookingComPlugin, { prefix: '/booking-com', sandbox: bookingCom });
  await app.register(airbnbPlugin, { prefix: '/airbnb', sandbox: airbnb });
  await app.register(channexPlugin, { prefix: '/channex', sandbox: channex });
  return app;
}
