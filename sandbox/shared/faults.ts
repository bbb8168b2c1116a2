// Fault injection shared by every provider sandbox: one settings object (validated with zod), one
// seeded PRNG deciding which request or webhook gets a fault, and Fastify hooks applying the faults
// to a provider's API routes. Control routes never pass through these hooks.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createPrng, randomSeed, type Random } from './prng';

const rate = () => z.number().min(0).max(1).optional();

/** The settings every provider understands. Providers may `.extend()` the schema with their own. */
export const faultSettingsShape = {
  /** Added to every API call before it is handled. */
  latencyMs: z.number().int().min(0).max(120_000).optional(),
  /** Share of API calls answered with the provider's 500 error. */
  errorRate: rate(),
  /**
   * Whether an injected 500 counts as "execution began": when true (the default, as at Stripe) it is
   * saved under the request's idempotency key and replayed to retries with the same key.
   */
  storeInjectedErrors: z.boolean().optional(),
  /** Share of API calls answered with 429 and a Retry-After header. */
  rateLimitRate: rate(),
  retryAfterSeconds: z.number().int().min(0).max(3_600).optional(),
  /** Share of API calls that never get an answer: the socket is destroyed after `timeoutMs`. */
  timeoutRate: rate(),
  timeoutMs: z.number().int().min(1).max(600_000).optional(),
  /**
   * `before`: the request is dropped unprocessed; `after`: it is processed (and its idempotent
   * result saved) but the answer is lost; `random` (default): either, chosen by the PRNG.
   */
  timeoutPhase: z.enum(['before', 'after', 'random']).optional(),
  /**
   * Share of API calls that are processed (state changed, idempotent result saved) and then answered
   * 502 by a gateway in front of the provider, with the gateway's HTML page instead of the provider's
   * answer: the caller learns neither the outcome nor the provider's error format.
   */
  gatewayErrorRate: rate(),
  /** Share of successfully delivered webhooks that are delivered a second time. */
  duplicateWebhooks: rate(),
  /** Deliver due webhooks in random order instead of first-in first-out. */
  reorderWebhooks: z.boolean().optional(),
  /** Share of webhook attempts that are treated as failed (not sent) and retried with backoff. */
  webhookFailureRate: rate(),
  /** Reseeds the PRNG so the same sequence of calls meets the same faults. */
  seed: z.number().int().optional(),
};

export const FaultSettingsSchema = z.strictObject(faultSettingsShape);
export type FaultSettings = z.infer<typeof FaultSettingsSchema>;

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_RETRY_AFTER_SECONDS = 1;

export type FaultKind =
  | 'latency'
  | 'error'
  | 'rateLimit'
  | 'timeout'
  | 'gatewayError'
  | 'webhookDuplicate'
  | 'webhookFailure'
  | 'webhookReorder';

export interface FaultValidationIssue {
  field: string;
  message: string;
}

/** One API request as the sandbox received it (the request log: rates, conditional GETs). */
export interface LoggedRequest {
  /** Milliseconds since the epoch, when the request arrived. */
  at: number;
  method: string;
  path: string;
  /** Whether it carried If-None-Match (a conditional GET). */
  conditional: boolean;
  /** The answer's status, once sent (undefined while in flight or when the socket was dropped). */
  status?: number;
}

const REQUEST_LOG_SIZE = 20_000;

export type FaultUpdateResult<S> = { ok: true; settings: S } | { ok: false; issues: FaultValidationIssue[] };

function zeroCounts(): Record<FaultKind, number> {
  return { latency: 0, error: 0, rateLimit: 0, timeout: 0, gatewayError: 0, webhookDuplicate: 0, webhookFailure: 0, webhookReorder: 0 };
}

export interface FaultInjectorOptions<S extends FaultSettings> {
  /** A schema extending FaultSettingsSchema with provider-specific settings. */
  schema?: z.ZodType<S>;
  /** Initial PRNG seed (random when omitted). */
  seed?: number;
}

export class FaultInjector<S extends FaultSettings = FaultSettings> {
  readonly #schema: z.ZodType<S>;
  #settings: S = {} as S;
  #random: Random;
  #counts = zeroCounts();
  #requests: LoggedRequest[] = [];
  /** Requests held open by a timeout fault, released (socket destroyed) on close. */
  readonly #held = new Set<{ timer: NodeJS.Timeout; release: () => void }>();
  #closing = new AbortController();

  constructor(options: FaultInjectorOptions<S> = {}) {
    this.#schema = options.schema ?? (FaultSettingsSchema as unknown as z.ZodType<S>);
    this.#random = createPrng(options.seed ?? randomSeed());
  }

  get settings(): Readonly<S> {
    return this.#settings;
  }

  get counts(): Readonly<Record<FaultKind, number>> {
    return { ...this.#counts };
  }

  /** Replaces the settings as a whole (fields left out are off). */
  set(input: unknown): FaultUpdateResult<S> {
    const parsed = this.#schema.safeParse(input ?? {});
    if (!parsed.success) {
      return {
        ok: false,
        issues: parsed.error.issues.map((issue) => {
          const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
          return { field: [...issue.path.map(String), ...keys].join('.') || '(root)', message: issue.message };
        }),
      };
    }
    this.#settings = parsed.data;
    if (parsed.data.seed !== undefined) this.#random = createPrng(parsed.data.seed);
    return { ok: true, settings: parsed.data };
  }

  clear(): void {
    this.#settings = {} as S;
  }

  resetCounts(): void {
    this.#counts = zeroCounts();
  }

  /** Records an API request (the last REQUEST_LOG_SIZE are kept). */
  logRequest(entry: LoggedRequest): LoggedRequest {
    this.#requests.push(entry);
    if (this.#requests.length > REQUEST_LOG_SIZE) this.#requests.splice(0, this.#requests.length - REQUEST_LOG_SIZE);
    return entry;
  }

  /** The API requests received since the last clear, oldest first. */
  requestLog(): readonly LoggedRequest[] {
    return [...this.#requests];
  }

  clearRequestLog(): void {
    this.#requests = [];
  }

  random(): number {
    return this.#random();
  }

  /** True with probability `rate`, drawn from the seeded PRNG (no draw when the rate is off). */
  chance(rate: number | undefined): boolean {
    if (!rate || rate <= 0) return false;
    return this.#random() < rate;
  }

  count(kind: FaultKind): void {
    this.#counts[kind] += 1;
  }

  /** Resolves after `ms`, or at once when the sandbox closes. */
  delay(ms: number): Promise<void> {
    if (ms <= 0 || this.#closing.signal.aborted) return Promise.resolve();
    const signal = this.#closing.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Calls `release` after `ms`, or at once on close. */
  hold(ms: number, release: () => void): void {
    if (this.#closing.signal.aborted) {
      release();
      return;
    }
    const entry = {
      timer: setTimeout(() => {
        this.#held.delete(entry);
        release();
      }, ms),
      release,
    };
    this.#held.add(entry);
  }

  /** Releases held requests and pending delays; call before the HTTP server closes. */
  close(): void {
    this.#closing.abort();
    for (const entry of this.#held) {
      clearTimeout(entry.timer);
      entry.release();
    }
    this.#held.clear();
  }
}

export interface FaultHookOptions {
  injector: FaultInjector<FaultSettings>;
  /** Which requests faults apply to (a provider's API routes, never its control routes). */
  appliesTo: (request: FastifyRequest) => boolean;
  /** Sends the provider's own 500 body. */
  serverError: (request: FastifyRequest, reply: FastifyReply) => FastifyReply;
  /** Sends the provider's own 429 body; the hook has already set Retry-After. */
  rateLimited: (request: FastifyRequest, reply: FastifyReply, retryAfterSeconds: number) => FastifyReply;
}

interface FaultPlan {
  error: boolean;
  timeoutAfter: boolean;
  gatewayErrorAfter?: boolean;
}

/** What a load balancer in front of an API sends when its upstream's answer does not reach it. */
const GATEWAY_ERROR_PAGE = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n';

/**
 * Adds the fault hooks to `app` (an encapsulated plugin context). Register an idempotency layer
 * *before* calling this so that an injected 500 happens after the idempotency check and is saved
 * (see `storeInjectedErrors`).
 */
export function installFaultHooks(app: FastifyInstance, options: FaultHookOptions): void {
  const { injector } = options;
  const plans = new WeakMap<FastifyRequest, FaultPlan>();
  const logged = new WeakMap<FastifyRequest, LoggedRequest>();

  app.addHook('onRequest', async (request, reply) => {
    if (!options.appliesTo(request)) return;
    logged.set(
      request,
      injector.logRequest({ at: Date.now(), method: request.method, path: request.url.split('?')[0]!, conditional: request.headers['if-none-match'] !== undefined }),
    );
    const settings = injector.settings;
    if (settings.latencyMs) {
      injector.count('latency');
      await injector.delay(settings.latencyMs);
    }
    if (injector.chance(settings.timeoutRate)) {
      injector.count('timeout');
      const phase = settings.timeoutPhase ?? 'random';
      const after = phase === 'after' || (phase === 'random' && injector.random() < 0.5);
      const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      if (!after) {
        // Take the request away from Fastify: it is never handled and never answered.
        reply.hijack();
        const socket = request.raw.socket;
        injector.hold(timeoutMs, () => socket.destroy());
        return;
      }
      plans.set(request, { error: false, timeoutAfter: true });
      return;
    }
    if (injector.chance(settings.gatewayErrorRate)) {
      injector.count('gatewayError');
      plans.set(request, { error: false, timeoutAfter: false, gatewayErrorAfter: true });
      return;
    }
    if (injector.chance(settings.rateLimitRate)) {
      injector.count('rateLimit');
      const seconds = settings.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
      reply.header('Retry-After', String(seconds));
      return options.rateLimited(request, reply, seconds);
    }
    if (injector.chance(settings.errorRate)) {
      injector.count('error');
      if (settings.storeInjectedErrors === false) return options.serverError(request, reply);
      plans.set(request, { error: true, timeoutAfter: false });
    }
  });

  app.addHook('onResponse', async (request, reply) => {
    const entry = logged.get(request);
    if (entry) entry.status = reply.statusCode;
  });

  app.addHook('preHandler', async (request, reply) => {
    if (plans.get(request)?.error) return options.serverError(request, reply);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const plan = plans.get(request);
    if (plan?.gatewayErrorAfter) {
      // The idempotency layer's onSend (installed first) has saved the real answer: a retry with the
      // same key gets it, as behind a real gateway.
      reply.code(502);
      reply.header('content-type', 'text/html');
      reply.removeHeader('content-length');
      return GATEWAY_ERROR_PAGE;
    }
    if (!plan?.timeoutAfter) return payload;
    // The request was handled (state changed, idempotent result saved); its answer is lost.
    const socket = request.raw.socket;
    const timeoutMs = injector.settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    await new Promise<void>((resolve) =>
      injector.hold(timeoutMs, () => {
        socket.destroy();
        resolve();
      }),
    );
    return payload;
  });
}
