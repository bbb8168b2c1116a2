// One Swish sandbox instance: the store, its timers (payment requests expire after ~3 minutes,
// refunds step CREATED → VALIDATED → DEBITED → PAID), its fault settings and its callback queue.
// The API is served over HTTPS with mutual TLS (server.ts); the control routes live on the main
// sandbox app under `/swish/_control`. Both hold on to this object.
import { z } from 'zod';
import { FaultInjector, FaultSettingsSchema } from '../shared/faults';
import { WebhookQueue, type WebhookDeliveryOptions, type WebhookQueueLogger, type WebhookQueueStats } from '../shared/webhook-queue';
import { SandboxUpkeep, type UpkeepCounts } from '../shared/upkeep';
import { DEFAULT_SANDBOX_PAYEE_ALIAS } from './certs';
import { randomHex } from '../shared/ids';
import { ControlError } from './errors';
import { DEFAULT_PAYER_ALIAS, SwishStore, type PaymentRequest, type PaymentRequestRecord, type Refund, type RefundRecord, type SwishSettlementRow } from './store';

/** Reconciliation drift the sandbox can seed (see SwishSandbox.drift). */
export const SwishDriftSchema = z.discriminatedUnion('kind', [
  /** The payer pays, and the callback never reaches the merchant. */
  z.strictObject({ kind: z.literal('lost_webhook'), id: z.string().regex(/^[0-9A-F]{32}$/) }),
  /** The bank settled another amount (öre) for this payment request. */
  z.strictObject({ kind: z.literal('amount_mismatch'), id: z.string().regex(/^[0-9A-F]{32}$/), amount: z.number().int().positive() }),
  /** A settled payment nobody's books know of. */
  z.strictObject({
    kind: z.literal('orphan'),
    amount: z.number().int().positive(),
    orderId: z.string().regex(/^[a-zA-Z0-9]{1,35}$/).optional(),
    createdMs: z.number().int().positive().optional(),
  }),
]);
export type SwishDrift = z.infer<typeof SwishDriftSchema>;

/** The shared fault settings plus Swish's own. */
export const SwishFaultSettingsSchema = FaultSettingsSchema.extend({
  /** Share of new refunds that end in ERROR (RF07, transaction declined) instead of PAID. */
  refundFailureRate: z.number().min(0).max(1).optional(),
  /** Refunds stay where they are until `/_control/refunds/:id/settle|fail`. */
  holdRefunds: z.boolean().optional(),
});
export type SwishFaultSettings = z.infer<typeof SwishFaultSettingsSchema>;

export interface SwishSandboxOptions {
  /** The merchant's Swish number: the common name of the client certificate the sandbox issues. */
  payeeAlias?: string;
  /** A CREATED payment request ends in ERROR TM01 after this long (Swish: about 3 minutes). */
  expiryMs?: number;
  /** Time between two refund states (CREATED → VALIDATED → DEBITED → PAID). */
  refundStepMs?: number;
  /** How long before a request created with an error code as message ends in that error (MSS: ~4 s). */
  simulatedOutcomeMs?: number;
  /** Refuse http callbacks to loopback hosts too (RP03); other http callbacks are always refused, as MSS does. */
  requireHttpsCallbacks?: boolean;
  seed?: number;
  now?: () => number;
  /** Callback delivery; defaults follow Swish (5 s doubling to 60 s, about 8 minutes in all). */
  webhooks?: WebhookDeliveryOptions;
  logger?: WebhookQueueLogger;
}

export interface SwishSandboxState {
  paymentRequests: (PaymentRequest & { sandbox: { paymentRequestToken: string | null; callbackIdentifier: string | null } })[];
  refunds: Refund[];
  counts: SwishStore['counts'] & UpkeepCounts & { callbacks: number };
  webhooks: WebhookQueueStats;
  faults: SwishFaultSettings;
  api?: { url: string; apiBase: string };
}

export const SWISH_DEFAULT_EXPIRY_MS = 180_000;

/** Something the sandbox closes with itself (its HTTPS API server). */
interface Closable {
  close(): Promise<void>;
}

export class SwishSandbox {
  readonly store: SwishStore;
  readonly faults: FaultInjector<SwishFaultSettings>;
  readonly webhooks: WebhookQueue;
  readonly payeeAlias: string;
  readonly expiryMs: number;
  readonly refundStepMs: number;
  readonly simulatedOutcomeMs: number;
  readonly upkeep: SandboxUpkeep;
  callbacks = 0;
  /** Where the HTTPS API listens, once started (server.ts). */
  api: { url: string; apiBase: string; caPath?: string; clientCertPath?: string; clientKeyPath?: string } | undefined;
  readonly #attached = new Set<Closable>();

  constructor(options: SwishSandboxOptions = {}) {
    this.payeeAlias = options.payeeAlias ?? DEFAULT_SANDBOX_PAYEE_ALIAS;
    this.expiryMs = options.expiryMs ?? SWISH_DEFAULT_EXPIRY_MS;
    this.refundStepMs = options.refundStepMs ?? 500;
    this.simulatedOutcomeMs = options.simulatedOutcomeMs ?? 1_000;
    this.faults = new FaultInjector<SwishFaultSettings>({ schema: SwishFaultSettingsSchema, seed: options.seed });
    this.webhooks = new WebhookQueue({
      initialDelayMs: 5_000,
      maxDelayMs: 60_000,
      maxAgeMs: 8 * 60_000,
      ...options.webhooks,
      faults: this.faults,
      logger: options.logger,
    });
    this.upkeep = new SandboxUpkeep({ faults: this.faults, webhooks: this.webhooks });
    this.store = new SwishStore({
      now: options.now,
      requireHttpsCallbacks: options.requireHttpsCallbacks,
      onChange: (change) => this.#callback(change.record),
    });
  }

  /** Creates a payment request and arms its timers (expiry, simulated outcome). */
  createPaymentRequest(id: string, body: unknown, merchantAlias: string): PaymentRequestRecord {
    const record = this.store.createPaymentRequest(id, body, merchantAlias);
    this.upkeep.timers.after(this.expiryMs, () => this.store.expire(id));
    if (record.simulatedError) this.upkeep.timers.after(this.simulatedOutcomeMs, () => this.store.settleSimulated(id));
    return record;
  }

  /** Creates a refund and starts moving it through its states. */
  createRefund(id: string, body: unknown, merchantAlias: string): RefundRecord {
    const forceError = this.faults.chance(this.faults.settings.refundFailureRate) ? 'RF07' : undefined;
    const record = this.store.createRefund(id, body, merchantAlias, { forceError });
    this.#scheduleRefundStep(id);
    return record;
  }

  #scheduleRefundStep(id: string): void {
    this.upkeep.timers.after(this.refundStepMs, () => {
      if (this.faults.settings.holdRefunds) return;
      if (this.store.advanceRefund(id)) this.#scheduleRefundStep(id);
    });
  }

  /**
   * Seeds reconciliation drift (POST /swish/_control/drift): a payment paid with its callback lost,
   * a settlement row with another amount, or a settled payment nobody's books know of.
   */
  drift(input: SwishDrift): Record<string, unknown> {
    const rowOf = (id: string): SwishSettlementRow => {
      const reference = this.store.findPaymentRequest(id)?.object.paymentReference;
      const row = reference ? this.store.settlements.find((candidate) => candidate.paymentReference === reference) : undefined;
      if (!row) throw new ControlError(404, `No settled payment request '${id}'`);
      return row;
    };
    switch (input.kind) {
      case 'lost_webhook': {
        const record = this.webhooks.withoutDelivery(() => this.store.pay(input.id));
        return { kind: input.kind, id: record.object.id, status: record.object.status, paymentReference: record.object.paymentReference };
      }
      case 'amount_mismatch': {
        const row = rowOf(input.id);
        row.amount = (input.amount / 100).toFixed(2);
        return { kind: input.kind, id: input.id, paymentReference: row.paymentReference };
      }
      case 'orphan': {
        const at = new Date(input.createdMs ?? Date.now()).toISOString();
        const row: SwishSettlementRow = {
          rowId: `${this.store.settlements.length + 1}`,
          bookingDate: at.slice(0, 10),
          transactionTime: at,
          type: 'CREDIT',
          amount: (input.amount / 100).toFixed(2),
          currency: 'SEK',
          swishNumber: this.payeeAlias,
          payerAlias: DEFAULT_PAYER_ALIAS,
          paymentReference: randomHex(32),
          orderId: input.orderId ?? null,
          message: null,
          originalPaymentReference: null,
        };
        this.store.settlements.push(row);
        return { kind: input.kind, paymentReference: row.paymentReference };
      }
    }
  }

  /** Swish POSTs the object to its callbackUrl on every final status (and refunds when debited). */
  #callback(record: PaymentRequestRecord | RefundRecord): void {
    // A callback lost on purpose (drift) is not counted as sent either.
    if (this.webhooks.losing) return;
    const { object } = record;
    if (object.status === 'CREATED' || object.status === 'VALIDATED') return;
    this.callbacks += 1;
    this.webhooks.enqueue({
      id: `${object.id}:${object.status}`,
      url: object.callbackUrl,
      body: JSON.stringify(object),
      headers: () => ({
        'content-type': 'application/json',
        'user-agent': 'Swish-Callback/1.0 (Skerry sandbox)',
        ...(record.callbackIdentifier ? { callbackidentifier: record.callbackIdentifier } : {}),
      }),
    });
  }

  /** Ties `closable` (an API server) to this sandbox's lifetime. */
  attach(closable: Closable): void {
    this.#attached.add(closable);
  }

  detach(closable: Closable): void {
    this.#attached.delete(closable);
  }

  state(): SwishSandboxState {
    return {
      paymentRequests: [...this.store.paymentRequests.values()].map((record) => ({
        ...structuredClone(record.object),
        sandbox: { paymentRequestToken: record.token, callbackIdentifier: record.callbackIdentifier },
      })),
      refunds: [...this.store.refunds.values()].map((record) => structuredClone(record.object)),
      counts: {
        ...this.store.counts,
        ...this.upkeep.counts(),
        callbacks: this.callbacks,
      },
      webhooks: this.webhooks.stats(),
      faults: { ...this.faults.settings },
      ...(this.api ? { api: { url: this.api.url, apiBase: this.api.apiBase } } : {}),
    };
  }

  /** Forgets everything: objects, timers, queued callbacks, counters and fault settings. */
  reset(): void {
    this.upkeep.reset();
    this.store.reset();
    this.callbacks = 0;
  }

  releaseHeldRequests(): void {
    this.upkeep.releaseHeldRequests();
  }

  /** Stops background work (timers, callbacks) and closes attached API servers. */
  async close(): Promise<void> {
    this.upkeep.close();
    const attached = [...this.#attached];
    this.#attached.clear();
    await Promise.allSettled(attached.map((closable) => closable.close()));
  }
}
