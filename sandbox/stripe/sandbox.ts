// One Stripe sandbox instance: the store, its fault settings, its idempotency keys and its webhook
// delivery queue. HTTP lives in plugin.ts; this is what the plugin and tests hold on to.
import Stripe from 'stripe';
import { z } from 'zod';
import { FaultInjector, FaultSettingsSchema } from '../shared/faults';
import { IdempotencyStore } from '../shared/idempotency';
import { WebhookQueue, type WebhookDeliveryOptions, type WebhookQueueLogger, type WebhookQueueStats } from '../shared/webhook-queue';
import { refundSettlementSettings, SandboxUpkeep, type UpkeepCounts } from '../shared/upkeep';
import type { Charge, PaymentIntent, Refund, StripeEvent } from './objects';
import { NO_REQUEST, StripeStore, type SandboxFlags } from './store';

/** Reconciliation drift the sandbox can seed (see StripeSandbox.drift). */
export const StripeDriftSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('lost_webhook'),
    paymentIntent: z.string().startsWith('pi_'),
    outcome: z.enum(['succeeded', 'refunded']).default('succeeded'),
    /** For `refunded`: the amount refunded (default: all). */
    amount: z.number().int().positive().optional(),
  }),
  z.strictObject({ kind: z.literal('amount_mismatch'), paymentIntent: z.string().startsWith('pi_'), amount: z.number().int().positive() }),
  z.strictObject({ kind: z.literal('currency_mismatch'), paymentIntent: z.string().startsWith('pi_'), currency: z.string().length(3) }),
  z.strictObject({ kind: z.literal('unsettled'), paymentIntent: z.string().startsWith('pi_') }),
  z.strictObject({
    kind: z.literal('orphan'),
    amount: z.number().int().positive(),
    currency: z.string().length(3),
    /** When the orphan payment happened (ms since the epoch); default now. */
    createdMs: z.number().int().positive().optional(),
  }),
]);
export type StripeDrift = z.infer<typeof StripeDriftSchema>;

/** The shared fault settings plus pending refunds (`pending`, settling to `succeeded` with refund.updated). */
export const StripeFaultSettingsSchema = FaultSettingsSchema.extend(refundSettlementSettings);
export type StripeFaultSettings = z.infer<typeof StripeFaultSettingsSchema>;

export interface StripeSandboxOptions {
  /** Where events are POSTed; an empty string turns webhook delivery off. */
  webhookUrl: string;
  /** Endpoint signing secret(s) `whsec_…`; several give several `v1=` signatures (a secret roll). */
  webhookSecret: string | readonly string[];
  /** Accepted secret keys; when empty or omitted any `sk_test_`/`rk_test_` key is accepted. */
  apiKeys?: readonly string[];
  /** Initial PRNG seed for faults. */
  seed?: number;
  /** Clock (ms since epoch) for `created` timestamps. */
  now?: () => number;
  /** Delivery tuning (backoff, timeouts); defaults follow Stripe (250 ms doubling to 30 s, 3 days). */
  webhooks?: WebhookDeliveryOptions;
  logger?: WebhookQueueLogger;
}

export interface StripeSandboxState {
  paymentIntents: (PaymentIntent & { sandbox: SandboxFlags })[];
  charges: Charge[];
  refunds: Refund[];
  counts: StripeStore['counts'] & UpkeepCounts & { events: number };
  webhooks: WebhookQueueStats;
  faults: StripeFaultSettings;
}

export const STRIPE_API_VERSION: string = Stripe.API_VERSION;

export class StripeSandbox {
  readonly store: StripeStore;
  readonly faults: FaultInjector<StripeFaultSettings>;
  readonly idempotency = new IdempotencyStore();
  readonly webhooks: WebhookQueue;
  readonly options: StripeSandboxOptions;
  readonly apiVersion = STRIPE_API_VERSION;
  readonly upkeep: SandboxUpkeep;
  readonly #secrets: readonly string[];

  constructor(options: StripeSandboxOptions) {
    this.options = options;
    this.#secrets = typeof options.webhookSecret === 'string' ? [options.webhookSecret] : options.webhookSecret;
    if (this.#secrets.length === 0 || this.#secrets.some((secret) => !secret)) {
      throw new Error('Stripe sandbox: webhookSecret must be a non-empty whsec_ secret');
    }
    this.faults = new FaultInjector<StripeFaultSettings>({ schema: StripeFaultSettingsSchema, seed: options.seed });
    this.webhooks = new WebhookQueue({
      ...options.webhooks,
      faults: this.faults,
      logger: options.logger,
      onDelivered: (message) => this.store.markDelivered(message.id),
    });
    this.upkeep = new SandboxUpkeep({ faults: this.faults, webhooks: this.webhooks, idempotency: this.idempotency });
    this.store = new StripeStore({
      apiVersion: this.apiVersion,
      now: options.now,
      webhooksEnabled: options.webhookUrl !== '',
      onEvent: (event) => this.#deliver(event),
      refundStartsPending: () => this.faults.chance(this.faults.settings.refundPendingRate),
      onRefundPending: (refund) => this.upkeep.settleLater(this.faults.settings.refundSettleMs, () => this.store.settleRefund(refund.id)),
    });
  }

  /** Whether `apiKey` may call the API. */
  acceptsKey(apiKey: string): boolean {
    const keys = this.options.apiKeys ?? [];
    if (keys.length > 0) return keys.includes(apiKey);
    return /^(sk|rk)_test_[A-Za-z0-9_]+$/.test(apiKey);
  }

  /** The `Stripe-Signature` header for `payload`, signed now with every configured secret. */
  signatureHeader(payload: string, timestamp = Math.floor(Date.now() / 1000)): string {
    const [first, ...rest] = this.#secrets.map((secret) => Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }));
    const extra = rest.map((header) => header.split(',').filter((part) => part.startsWith('v1=')).join(','));
    return [first, ...extra].join(',');
  }

  /**
   * Seeds reconciliation drift (POST /_control/drift). Each kind changes what Stripe says without
   * telling the merchant: `lost_webhook` moves a payment on (succeeds it, or refunds it) with its
   * webhooks lost; `amount_mismatch` / `currency_mismatch` change what was captured; `orphan` is a
   * payment the merchant's books never saw; `unsettled` holds a captured payment's funds back.
   */
  drift(input: StripeDrift): Record<string, unknown> {
    switch (input.kind) {
      case 'lost_webhook':
        return this.webhooks.withoutDelivery(() => {
          if (input.outcome === 'refunded') {
            const refund = this.store.createRefund({ payment_intent: input.paymentIntent, ...(input.amount ? { amount: String(input.amount) } : {}) }, NO_REQUEST);
            return { kind: input.kind, paymentIntent: input.paymentIntent, refund: refund.id };
          }
          const pi = this.store.succeed(input.paymentIntent);
          return { kind: input.kind, paymentIntent: pi.id, status: pi.status };
        });
      case 'amount_mismatch':
        return { kind: input.kind, paymentIntent: input.paymentIntent, balanceTransaction: this.store.driftAmount(input.paymentIntent, input.amount).id };
      case 'currency_mismatch':
        return { kind: input.kind, paymentIntent: input.paymentIntent, balanceTransaction: this.store.driftCurrency(input.paymentIntent, input.currency).id };
      case 'unsettled':
        return { kind: input.kind, paymentIntent: input.paymentIntent, balanceTransaction: this.store.driftUnsettled(input.paymentIntent).id };
      case 'orphan': {
        const pi = this.store.seedPayment({ amount: input.amount, currency: input.currency, createdMs: input.createdMs ?? Date.now() });
        return { kind: input.kind, paymentIntent: pi.id, balanceTransaction: this.store.chargeTransactionOf(pi.id).id };
      }
    }
  }

  #deliver(event: StripeEvent): void {
    if (this.options.webhookUrl === '') return;
    // Stripe sends the event pretty-printed; the receiver must verify these exact bytes.
    const body = JSON.stringify(event, null, 2);
    this.webhooks.enqueue({
      id: event.id,
      url: this.options.webhookUrl,
      body,
      headers: (payload) => ({
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'cache-control': 'no-cache',
        accept: '*/*; q=0.5, application/xml',
        'stripe-signature': this.signatureHeader(payload),
      }),
    });
  }

  /**
   * Stripe's state as data for shared/persistence.ts. Restored, the sandbox goes on as Stripe does
   * after an outage: a refund left pending settles after its delay, and an event not yet delivered
   * is sent again.
   */
  snapshot(): unknown {
    return this.store.snapshot();
  }

  restore(state: unknown): void {
    this.store.restore(state);
    for (const refund of this.store.refunds.values()) {
      if (refund.status === 'pending') this.upkeep.settleLater(this.faults.settings.refundSettleMs, () => this.store.settleRefund(refund.id));
    }
    for (const event of this.store.events.values()) if (event.pending_webhooks > 0) this.#deliver(event);
  }

  state(): StripeSandboxState {
    return {
      paymentIntents: [...this.store.paymentIntents.values()].map((pi) => ({
        ...structuredClone(pi),
        sandbox: { ...(this.store.flags.get(pi.id) ?? { abandoned: false, abandonedAt: null }) },
      })),
      charges: structuredClone([...this.store.charges.values()]),
      refunds: structuredClone([...this.store.refunds.values()]),
      counts: { ...this.store.counts, ...this.upkeep.counts(), events: this.store.events.size },
      webhooks: this.webhooks.stats(),
      faults: { ...this.faults.settings },
    };
  }

  /** Forgets everything: objects, events, keys, queued webhooks, counters and fault settings. */
  reset(): void {
    this.upkeep.reset();
    this.store.reset();
  }

  releaseHeldRequests(): void {
    this.upkeep.releaseHeldRequests();
  }

  /** Stops background work: webhook attempts, refund settlement timers. */
  close(): void {
    this.upkeep.close();
  }
}
