// The chores every provider sandbox does besides simulating its provider: counting API requests per
// route, running background timers (refund settlement, expiry) that must die with the sandbox, and
// resetting or closing its fault injector, webhook queue and idempotency keys together. One copy
// here, so a fix to how a sandbox resets or shuts down reaches all of them.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { FaultInjector, FaultSettings } from './faults';
import type { IdempotencyStore } from './idempotency';
import type { WebhookQueue } from './webhook-queue';

/** API requests by route pattern (`POST /v1/payment_intents/:id/capture`), for `/_control/state`. */
export class RequestCounter {
  #total = 0;
  #byRoute: Record<string, number> = {};

  count(route: string): void {
    this.#total += 1;
    this.#byRoute[route] = (this.#byRoute[route] ?? 0) + 1;
  }

  /** The shape `/_control/state` has always shown under `counts`. */
  snapshot(): { requests: number; requestsByRoute: Record<string, number> } {
    return { requests: this.#total, requestsByRoute: { ...this.#byRoute } };
  }

  reset(): void {
    this.#total = 0;
    this.#byRoute = {};
  }
}

/**
 * Counts the requests `appliesTo` selects under their route pattern relative to the plugin prefix
 * (the URL path for unknown routes). Install before the provider's own onRequest hook so a request
 * refused there (bad credentials) is still counted, as the provider's rate limits count it.
 */
export function countRequests(app: FastifyInstance, counter: RequestCounter, appliesTo: (request: FastifyRequest) => boolean): void {
  app.addHook('onRequest', async (request) => {
    if (!appliesTo(request)) return;
    const pattern = request.routeOptions.url ?? request.url.split('?')[0]!;
    counter.count(`${request.method} ${pattern.slice(app.prefix.length)}`);
  });
}

/**
 * Background timers that do not keep the process alive and are all cancelled on reset or close. A
 * `key` makes a timer replace the previous one with the same key (re-scheduling one payment's expiry).
 */
export class SandboxTimers {
  readonly #timers = new Map<NodeJS.Timeout | string, NodeJS.Timeout>();

  after(ms: number, run: () => void, key?: string): void {
    if (key !== undefined) clearTimeout(this.#timers.get(key));
    const timer = setTimeout(() => {
      this.#timers.delete(key ?? timer);
      run();
    }, ms);
    timer.unref();
    this.#timers.set(key ?? timer, timer);
  }

  clear(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}

/** How long a refund left pending takes to settle when the fault settings do not say. */
const DEFAULT_SETTLE_MS = 2_000;

/**
 * Fault settings of providers whose refunds can stay pending (Stripe `pending`, PayPal `PENDING`):
 * extend a provider's fault schema with these.
 */
export const refundSettlementSettings = {
  /** Share of new refunds left pending, settling (with the provider's event) later. */
  refundPendingRate: z.number().min(0).max(1).optional(),
  /** How long a pending refund takes to settle (default 2 s). */
  refundSettleMs: z.number().int().min(0).max(86_400_000).optional(),
};

/** What a store asks its sandbox about refunds: whether a new one starts pending, and to settle it later. */
export interface RefundSettlementHooks<Refund> {
  /** Asked for each new refund: true leaves it pending (settled later by the store's settleRefund). */
  refundStartsPending?: () => boolean;
  onRefundPending?: (refund: Refund) => void;
}

export type UpkeepCounts = ReturnType<SandboxUpkeep['counts']>;

export interface UpkeepParts {
  faults: FaultInjector<FaultSettings>;
  webhooks?: WebhookQueue;
  idempotency?: IdempotencyStore;
}

/** One sandbox's shared machinery and its lifecycle; the provider's store and state stay its own. */
export class SandboxUpkeep {
  readonly requests = new RequestCounter();
  readonly timers = new SandboxTimers();
  readonly #parts: UpkeepParts;

  constructor(parts: UpkeepParts) {
    this.#parts = parts;
  }

  /**
   * Settles something the provider answered as pending (a refund) after `delayMs`, as providers do
   * a while after the API call returned; the sandbox's reset or close cancels it.
   */
  settleLater(delayMs: number | undefined, settle: () => void): void {
    this.timers.after(delayMs ?? DEFAULT_SETTLE_MS, settle);
  }

  /** Counters every `/_control/state` carries next to the provider's own. */
  counts(): { requests: number; requestsByRoute: Record<string, number>; faultsInjected: FaultInjector['counts'] } {
    return { ...this.requests.snapshot(), faultsInjected: this.#parts.faults.counts };
  }

  /** Back to a fresh sandbox: timers, idempotency keys, queued webhooks, fault settings and counters. */
  reset(): void {
    this.timers.clear();
    this.#parts.idempotency?.clear();
    this.#parts.webhooks?.clear();
    this.#parts.faults.clear();
    this.#parts.faults.resetCounts();
    this.requests.reset();
  }

  /** Lets requests held by timeout faults go; call before the HTTP server closes. */
  releaseHeldRequests(): void {
    this.#parts.faults.close();
  }

  /** Stops background work: held requests, webhook attempts and timers. */
  close(): void {
    this.#parts.faults.close();
    this.#parts.webhooks?.close();
    this.timers.clear();
  }
}
