// How a sandbox answers a failure. Its API routes answer as the provider does (each provider has its
// own error body: Stripe's `{ error: { type, … } }`, PayPal's `{ name, debug_id, … }`, an OTA
// `<Errors>` element); its `/_control` routes answer `{ error }`. The routing between the two, the
// logging of what nobody expected, and the 404 for unknown routes are the same everywhere.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { installFaultHooks, type FaultInjector, type FaultSettings } from './faults';

/**
 * A refusal that is the sandbox's, not the provider's: a control call that cannot be done (no such
 * payment, a state that does not allow it). Answered `{ error, ...details }` on any route.
 */
export class SandboxRefusal extends Error {
  override readonly name: string = 'SandboxRefusal';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface ProviderErrorFormat {
  /** Names the sandbox in the log line of an unexpected failure. */
  provider: string;
  /** Requests that speak the provider's protocol; errors elsewhere are answered `{ error }`. */
  isApi: (request: FastifyRequest) => boolean;
  /** Answers an error the provider's own code raised (its error class); undefined for any other. */
  own?: (error: unknown, request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined;
  /** A request refused before a handler ran (malformed body, wrong media type), as the provider words it. */
  malformed: (request: FastifyRequest, reply: FastifyReply, status: number, message: string) => FastifyReply;
  /** Something nobody expected, as the provider words a 500. */
  failed: (request: FastifyRequest, reply: FastifyReply, error: unknown) => FastifyReply;
  /** An unknown API route as the provider answers it; omitted: no not-found handler of its own. */
  unknownRoute?: (request: FastifyRequest, reply: FastifyReply, path: string) => FastifyReply;
}

const statusOf = (error: unknown): number | undefined => (error as { statusCode?: number } | undefined)?.statusCode;
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function installErrorHandler(app: FastifyInstance, format: ProviderErrorFormat): void {
  app.setErrorHandler((error, request, reply) => {
    const answered = format.own?.(error, request, reply);
    if (answered) return answered;
    if (error instanceof SandboxRefusal) return reply.code(error.statusCode).send({ error: error.message, ...error.details });
    const status = statusOf(error);
    if (status !== undefined && status >= 400 && status < 500) {
      if (format.isApi(request)) return format.malformed(request, reply, status, messageOf(error));
      return reply.code(status).send({ error: messageOf(error) });
    }
    request.log.error({ err: error }, `${format.provider} sandbox error`);
    if (format.isApi(request)) return format.failed(request, reply, error);
    return reply.code(500).send({ error: messageOf(error) });
  });

  const { unknownRoute } = format;
  if (!unknownRoute) return;
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!.slice(app.prefix.length);
    if (format.isApi(request)) return unknownRoute(request, reply, path);
    return reply.code(404).send({ error: `Unknown sandbox route ${request.method} ${path}` });
  });
}

export interface ProviderFailures extends ProviderErrorFormat {
  faults: FaultInjector<FaultSettings>;
  /** Requests faults reach; default `isApi`. */
  faultsApplyTo?: (request: FastifyRequest) => boolean;
  /** The provider's 429 (the Retry-After header is set already). */
  rateLimited: (request: FastifyRequest, reply: FastifyReply) => FastifyReply;
  /** An injected 500; default the same answer as a real one (`failed`). */
  injectedError?: (request: FastifyRequest, reply: FastifyReply) => FastifyReply;
}

/**
 * Fault injection and error answers of a provider's API in one go, so an injected failure reads
 * like a real one. Install after the idempotency hooks (see installFaultHooks).
 */
export function installProviderFailures(app: FastifyInstance, failures: ProviderFailures): void {
  installFaultHooks(app, {
    injector: failures.faults,
    appliesTo: failures.faultsApplyTo ?? failures.isApi,
    serverError: failures.injectedError ?? ((request, reply) => failures.failed(request, reply, new Error('injected fault'))),
    rateLimited: failures.rateLimited,
  });
  installErrorHandler(app, failures);
}
