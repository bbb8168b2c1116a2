// The provider sandboxes as one Fastify app. buildSandbox never listens: main.ts (or a test) does.
// Each provider is a plugin under its own prefix (`/stripe`, later `/paypal`, `/swish`, …) with its
// API routes and its `/_control` routes; background work (webhook delivery, timers) stops on close.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { stripePlugin } from './stripe/plugin';
import { StripeSandbox, type StripeSandboxOptions } from './stripe/sandbox';

export interface SandboxOptions {
  /** Fastify logger setting: false (default), true, or pino options. */
  logger?: FastifyServerOptions['logger'];
  stripe: StripeSandboxOptions;
}

/** The provider sandboxes behind an app, for tests and tools that drive them directly. */
export interface SandboxHandles {
  stripe: StripeSandbox;
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
  handles.set(app, { stripe });

  // preClose runs before the server stops accepting: release held sockets so close() can finish.
  app.addHook('preClose', async () => {
    stripe.releaseHeldRequests();
  });
  app.addHook('onClose', async () => {
    stripe.close();
  });

  app.get('/health', async () => ({ status: 'ok' }));
  await app.register(stripePlugin, { prefix: '/stripe', sandbox: stripe });
  return app;
}
