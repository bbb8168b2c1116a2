// One PayPal sandbox instance: the store, OAuth client credentials and access tokens, fault settings,
// PayPal-Request-Id keys, the webhook delivery queue and the signing key behind PAYPAL-TRANSMISSION-SIG.
// HTTP lives in plugin.ts; this is what the plugin and tests hold on to.
import { createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import { FaultInjector, FaultSettingsSchema } from '../shared/faults';
import { IdempotencyStore } from '../shared/idempotency';
import { randomToken } from '../shared/ids';
import { WebhookQueue, type WebhookDeliveryOptions, type WebhookQueueLogger, type WebhookQueueStats } from '../shared/webhook-queue';
import { refundSettlementSettings, SandboxUpkeep, type UpkeepCounts } from '../shared/upkeep';
import type { StoredAuthorization, StoredCapture, StoredOrder, StoredRefund, WebhookEvent } from './objects';
import { PayPalStore, TransitionError } from './store';

const money = z.strictObject({ value: z.number().int().positive(), currency: z.string().length(3).toUpperCase() });

/** Reconciliation drift the sandbox can seed (see PayPalSandbox.drift). */
export const PayPalDriftSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('lost_webhook'),
    orderId: z.string().min(1),
    /** For a COMPLETED order: the amount refunded without telling the merchant (default: all). */
    amount: z.number().int().positive().optional(),
  }),
  z.strictObject({ kind: z.literal('amount_mismatch'), orderId: z.string().min(1), amount: z.number().int().positive() }),
  z.strictObject({ kind: z.literal('currency_mismatch'), orderId: z.string().min(1), currency: z.string().length(3).toUpperCase() }),
  z.strictObject({ kind: z.literal('unsettled'), orderId: z.string().min(1) }),
  z.strictObject({ kind: z.literal('orphan'), amount: money, createdMs: z.number().int().positive().optional() }),
]);
export type PayPalDrift = z.infer<typeof PayPalDriftSchema>;

/** The shared fault settings plus pending refunds (PENDING, completed later with PAYMENT.CAPTURE.REFUNDED). */
export const PayPalFaultSettingsSchema = FaultSettingsSchema.extend(refundSettlementSettings);
export type PayPalFaultSettings = z.infer<typeof PayPalFaultSettingsSchema>;

export interface PayPalClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface PayPalSandboxOptions {
  /** Where events are POSTed; an empty string turns webhook delivery off. */
  webhookUrl: string;
  /** The id of that webhook endpoint, as PayPal's dashboard shows it; signed into every transmission. */
  webhookId: string;
  /** Accepted REST app credentials; when empty or omitted any non-empty client id and secret work. */
  clients?: readonly PayPalClientCredentials[];
  /** Lifetime of access tokens (`expires_in`); PayPal issues about 9 hours. */
  tokenTtlSeconds?: number;
  /** The API base clients use, for links; by default learned from the Host of each request. */
  baseUrl?: string;
  seed?: number;
  /** Clock (ms since epoch) for timestamps and token expiry. */
  now?: () => number;
  /** Delivery tuning; defaults follow PayPal (up to 25 attempts over 3 days), with short backoffs. */
  webhooks?: WebhookDeliveryOptions;
  logger?: WebhookQueueLogger;
}

interface AccessToken {
  clientId: string;
  expiresAt: number;
}

interface Transmission {
  eventId: string;
  time: string;
  signature: string;
  webhookId: string;
  certUrl: string;
  authAlgo: string;
}

export interface VerifyRequest {
  auth_algo: string;
  cert_url: string;
  transmission_id: string;
  transmission_sig: string;
  transmission_time: string;
  webhook_id: string;
  webhook_event: unknown;
}

export interface PayPalSandboxState {
  orders: (Record<string, unknown> & { sandbox: StoredOrder['flags'] })[];
  captures: StoredCapture[];
  authorizations: StoredAuthorization[];
  refunds: StoredRefund[];
  counts: PayPalStore['counts'] & UpkeepCounts & { tokensIssued: number; events: number };
  webhooks: WebhookQueueStats;
  faults: PayPalFaultSettings;
}

export const PAYPAL_AUTH_ALGO = 'SHA256withRSA';
/** The webhook id the sandbox signs with when none is configured. */
export const PAYPAL_SANDBOX_WEBHOOK_ID = '8PT597110X687430LKGECATA';
const MAX_TRANSMISSIONS = 20_000;

export class PayPalSandbox {
  readonly store: PayPalStore;
  readonly faults: FaultInjector<PayPalFaultSettings>;
  readonly idempotency = new IdempotencyStore({ ttlMs: 6 * 3_600_000 });
  readonly webhooks: WebhookQueue;
  readonly options: PayPalSandboxOptions;
  readonly certId = `CERT-360caa42-fca2a594-${randomToken(8, '0123456789abcdef')}`;
  readonly appId = `APP-${randomToken(17, '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ')}`;
  readonly upkeep: SandboxUpkeep;
  tokensIssued = 0;
  #baseUrl: string;
  readonly #tokens = new Map<string, AccessToken>();
  readonly #transmissions = new Map<string, Transmission>();
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #now: () => number;

  constructor(options: PayPalSandboxOptions) {
    if (!options.webhookId) throw new Error('PayPal sandbox: webhookId is required');
    this.options = options;
    this.#now = options.now ?? Date.now;
    this.#baseUrl = options.baseUrl?.replace(/\/+$/, '') ?? 'http://127.0.0.1/paypal';
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#privateKey = privateKey;
    this.#publicKey = publicKey;
    this.faults = new FaultInjector<PayPalFaultSettings>({ schema: PayPalFaultSettingsSchema, seed: options.seed });
    this.webhooks = new WebhookQueue({
      initialDelayMs: 250,
      maxDelayMs: 30_000,
      maxAgeMs: 3 * 24 * 3_600_000,
      maxAttempts: 25,
      ...options.webhooks,
      faults: this.faults,
      logger: options.logger,
    });
    this.upkeep = new SandboxUpkeep({ faults: this.faults, webhooks: this.webhooks, idempotency: this.idempotency });
    this.store = new PayPalStore({
      baseUrl: () => this.#baseUrl,
      now: this.#now,
      onEvent: (event) => this.#deliver(event),
      refundStartsPending: () => this.faults.chance(this.faults.settings.refundPendingRate),
      onRefundPending: (refund) => this.upkeep.settleLater(this.faults.settings.refundSettleMs, () => this.store.settleRefund(refund.id)),
    });
  }

  get baseUrl(): string {
    return this.#baseUrl;
  }

  /** Links follow the base the client called, unless one was fixed in the options. */
  learnBaseUrl(url: string): void {
    if (!this.options.baseUrl) this.#baseUrl = url.replace(/\/+$/, '');
  }

  // ─── OAuth ───────────────────────────────────────────────────────────────────────────────

  acceptsClient(clientId: string, clientSecret: string): boolean {
    const clients = this.options.clients ?? [];
    if (clients.length > 0) return clients.some((client) => client.clientId === clientId && client.clientSecret === clientSecret);
    return clientId.length > 0 && clientSecret.length > 0;
  }

  issueToken(clientId: string): { access_token: string; expires_in: number } {
    const ttl = this.options.tokenTtlSeconds ?? 32_400;
    const token = `A21AA${randomToken(92, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')}`;
    this.#tokens.set(token, { clientId, expiresAt: this.#now() + ttl * 1000 });
    this.tokensIssued += 1;
    return { access_token: token, expires_in: ttl };
  }

  /** The client a bearer token belongs to, or why it is refused. */
  checkToken(token: string): { clientId: string } | { refused: 'unknown' | 'expired' } {
    const entry = this.#tokens.get(token);
    if (!entry) return { refused: 'unknown' };
    if (this.#now() >= entry.expiresAt) return { refused: 'expired' };
    return { clientId: entry.clientId };
  }

  // ─── Webhooks: transmission signatures and their verification ───────────────────────────

  get publicKeyPem(): string {
    return createPublicKey(this.#publicKey).export({ type: 'spki', format: 'pem' }).toString();
  }

  certUrl(): string {
    return `${this.#baseUrl}/v1/notifications/certs/${this.certId}`;
  }

  /** The PAYPAL-* headers of one delivery attempt: a new transmission, signed as PayPal signs it. */
  transmissionHeaders(event: WebhookEvent, body: string): Record<string, string> {
    const transmissionId = randomUUID();
    const time = new Date(this.#now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const crc = crc32(body);
    const signature = sign('sha256', Buffer.from(`${transmissionId}|${time}|${this.options.webhookId}|${crc}`), this.#privateKey).toString('base64');
    const certUrl = this.certUrl();
    this.#transmissions.set(transmissionId, { eventId: event.id, time, signature, webhookId: this.options.webhookId, certUrl, authAlgo: PAYPAL_AUTH_ALGO });
    if (this.#transmissions.size > MAX_TRANSMISSIONS) this.#transmissions.delete(this.#transmissions.keys().next().value!);
    return {
      'content-type': 'application/json',
      'user-agent': 'PayPal/AUHD-214.0-58713487',
      'correlation-id': randomToken(13, '0123456789abcdef'),
      'paypal-transmission-id': transmissionId,
      'paypal-transmission-time': time,
      'paypal-transmission-sig': signature,
      'paypal-cert-url': certUrl,
      'paypal-auth-algo': PAYPAL_AUTH_ALGO,
    };
  }

  /**
   * POST /v1/notifications/verify-webhook-signature: SUCCESS only for a transmission this sandbox
   * sent, to the configured webhook id, with its headers unchanged and the very bytes of the event it
   * carried (`rawEvent`, the `webhook_event` text as posted): the signature covers their CRC32, so a
   * modified or re-serialized event fails, as it does at PayPal.
   */
  verifyTransmission(request: VerifyRequest, rawEvent: string | undefined): 'SUCCESS' | 'FAILURE' {
    const sent = this.#transmissions.get(request.transmission_id);
    if (!sent || !this.store.events.has(sent.eventId)) return 'FAILURE';
    if (request.webhook_id !== this.options.webhookId || request.webhook_id !== sent.webhookId) return 'FAILURE';
    if (request.auth_algo !== sent.authAlgo || request.cert_url !== sent.certUrl || request.transmission_time !== sent.time) return 'FAILURE';
    const crc = crc32(rawEvent ?? JSON.stringify(request.webhook_event));
    const message = Buffer.from(`${request.transmission_id}|${request.transmission_time}|${request.webhook_id}|${crc}`);
    try {
      return verify('sha256', message, this.#publicKey, Buffer.from(request.transmission_sig, 'base64')) ? 'SUCCESS' : 'FAILURE';
    } catch {
      return 'FAILURE';
    }
  }

  /**
   * Seeds reconciliation drift (POST /_control/drift). `lost_webhook` moves an order on without
   * telling the merchant: a CREATED order is approved and captured, a COMPLETED one refunded.
   * `amount_mismatch`, `currency_mismatch` and `unsettled` (status P) change the capture's
   * transaction-search line; `orphan` adds a line nobody's books know of.
   */
  drift(input: PayPalDrift): Record<string, unknown> {
    const { store } = this;
    switch (input.kind) {
      case 'lost_webhook':
        return this.webhooks.withoutDelivery(() => {
          const order = store.getOrder(input.orderId);
          if (order.status === 'CREATED' || order.status === 'PAYER_ACTION_REQUIRED' || order.status === 'APPROVED') {
            if (order.intent !== 'CAPTURE') throw new TransitionError(409, `order ${order.id} has intent ${order.intent}; lost_webhook drift needs CAPTURE`);
            if (order.status !== 'APPROVED') store.approve(order.id);
            store.captureOrder(order.id, {});
            return { kind: input.kind, orderId: order.id, status: store.getOrder(order.id).status, capture: store.captureTransactionOf(order.id).transactionId };
          }
          const captureId = order.captureIds.at(-1);
          if (!captureId) throw new TransitionError(409, `order ${order.id} is ${order.status} without a capture`);
          const capture = store.getCapture(captureId);
          const refund = store.refundCapture(captureId, input.amount ? { amount: { currency_code: capture.amount.currency, value: (input.amount / 100).toFixed(2) } } : {});
          return { kind: input.kind, orderId: order.id, refund: refund.id };
        });
      case 'amount_mismatch': {
        const record = store.captureTransactionOf(input.orderId);
        record.amount = { ...record.amount, minor: input.amount };
        return { kind: input.kind, orderId: input.orderId, transaction: record.transactionId };
      }
      case 'currency_mismatch': {
        const record = store.captureTransactionOf(input.orderId);
        record.amount = { ...record.amount, currency: input.currency };
        return { kind: input.kind, orderId: input.orderId, transaction: record.transactionId };
      }
      case 'unsettled': {
        const record = store.captureTransactionOf(input.orderId);
        record.status = 'P';
        return { kind: input.kind, orderId: input.orderId, transaction: record.transactionId };
      }
      case 'orphan': {
        const record = store.seedOrphanTransaction({ amount: { minor: input.amount.value, currency: input.amount.currency }, createdMs: input.createdMs ?? this.#now() });
        return { kind: input.kind, transaction: record.transactionId };
      }
    }
  }

  #deliver(event: WebhookEvent): void {
    if (this.options.webhookUrl === '') return;
    this.webhooks.enqueue({
      id: event.id,
      url: this.options.webhookUrl,
      body: JSON.stringify(event),
      headers: (body) => this.transmissionHeaders(event, body),
    });
  }

  // ─── Bookkeeping ─────────────────────────────────────────────────────────────────────────

  /**
   * PayPal's state as data for shared/persistence.ts: the resources and the access tokens it issued
   * (a client's cached token keeps working across the restart, as at PayPal). Restored, a refund
   * left PENDING completes after its delay.
   */
  snapshot(): unknown {
    const live = [...this.#tokens.entries()].filter(([, entry]) => entry.expiresAt > this.#now());
    return { ...(this.store.snapshot() as object), tokens: live, tokensIssued: this.tokensIssued };
  }

  restore(state: unknown): void {
    this.store.restore(state);
    const saved = (state ?? {}) as { tokens?: [string, AccessToken][]; tokensIssued?: number };
    this.#tokens.clear();
    for (const [token, entry] of saved.tokens ?? []) this.#tokens.set(token, entry);
    this.tokensIssued = saved.tokensIssued ?? this.tokensIssued;
    for (const refund of this.store.refunds.values()) {
      if (refund.status === 'PENDING') this.upkeep.settleLater(this.faults.settings.refundSettleMs, () => this.store.settleRefund(refund.id));
    }
  }

  state(): PayPalSandboxState {
    return {
      orders: [...this.store.orders.values()].map((order) => ({
        ...this.store.renderOrder(order, 'representation'),
        sandbox: { ...order.flags },
      })),
      captures: structuredClone([...this.store.captures.values()]),
      authorizations: structuredClone([...this.store.authorizations.values()]),
      refunds: structuredClone([...this.store.refunds.values()]),
      counts: {
        ...this.store.counts,
        ...this.upkeep.counts(),
        tokensIssued: this.tokensIssued,
        events: this.store.events.size,
      },
      webhooks: this.webhooks.stats(),
      faults: { ...this.faults.settings },
    };
  }

  /** Forgets everything: resources, events, tokens, keys, queued webhooks, counters and faults. */
  reset(): void {
    this.upkeep.reset();
    this.store.reset();
    this.#tokens.clear();
    this.#transmissions.clear();
    this.tokensIssued = 0;
  }

  releaseHeldRequests(): void {
    this.upkeep.releaseHeldRequests();
  }

  /** Stops background work: webhook attempts, refund settlement timers. */
  close(): void {
    this.upkeep.close();
  }
}
