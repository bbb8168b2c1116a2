// One Vipps MobilePay ePayment sandbox instance: access tokens, payments, webhook registrations, fault
// settings, idempotency keys and the webhook delivery queue. HTTP lives in plugin.ts.
import { randomBytes, randomUUID } from 'node:crypto';
import { FaultInjector, FaultSettingsSchema, type FaultSettings } from '../shared/faults';
import { IdempotencyStore } from '../shared/idempotency';
import { randomToken } from '../shared/ids';
import { WebhookQueue, type WebhookDeliveryOptions, type WebhookQueueLogger, type WebhookQueueStats } from '../shared/webhook-queue';
import { SandboxUpkeep } from '../shared/upkeep';
import { webhookHeaders } from './signing';
import { validationProblem } from './errors';
import { z } from 'zod';
import { CURRENCIES, MobilePayStore, TransitionError, type EPaymentEvent, type LedgerEntry, type SandboxPayment } from './store';

/** Reconciliation drift the sandbox can seed (see MobilePaySandbox.drift). */
export const MobilePayDriftSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('lost_webhook'), reference: z.string().min(8), amount: z.number().int().positive().optional() }),
  z.strictObject({ kind: z.literal('amount_mismatch'), reference: z.string().min(8), amount: z.number().int().positive() }),
  z.strictObject({
    kind: z.literal('orphan'),
    msn: z.string().regex(/^\d{4,7}$/),
    amount: z.strictObject({ value: z.number().int().positive(), currency: z.enum(CURRENCIES) }),
    createdMs: z.number().int().positive().optional(),
  }),
]);
export type MobilePayDrift = z.infer<typeof MobilePayDriftSchema>;

/** A settlement ledger of the Report API: one per sales unit (MSN) and currency. */
export function ledgerIdOf(msn: string, currency: string): string {
  return `${msn}${currency.toUpperCase()}`;
}

export const EPAYMENT_WEBHOOK_EVENTS = [
  'epayments.payment.created.v1',
  'epayments.payment.authorized.v1',
  'epayments.payment.captured.v1',
  'epayments.payment.cancelled.v1',
  'epayments.payment.refunded.v1',
  'epayments.payment.aborted.v1',
  'epayments.payment.expired.v1',
  'epayments.payment.terminated.v1',
] as const;

export interface MobilePayCredentials {
  clientId: string;
  clientSecret: string;
  subscriptionKey: string;
  merchantSerialNumber: string;
}

export interface MobilePaySandboxOptions {
  /** Accepted API keys. Omitted or empty: any non-empty client id, secret and subscription key, with a 4-7 digit MSN. */
  credentials?: readonly MobilePayCredentials[];
  /** Access token lifetime (Vipps: 1 h in test, 24 h in production). Default 3600. */
  tokenTtlSeconds?: number;
  /**
   * A webhook that exists without `POST /webhooks/v1/webhooks` (so `npm start` needs no registration):
   * every ePayment event of every MSN, signed with `webhookSecret`. Empty or omitted: none.
   */
  webhookUrl?: string;
  webhookSecret?: string;
  /** How long after `/_control/payments/{reference}/abandon` the payment expires (default 0: at once). */
  abandonAfterMs?: number;
  /** Initial PRNG seed for faults. */
  seed?: number;
  /** Clock (ms since epoch): token expiry and timestamps. */
  now?: () => number;
  /** Delivery tuning; defaults as the shared queue's. Vipps retries for up to 7 days. */
  webhooks?: WebhookDeliveryOptions;
  logger?: WebhookQueueLogger;
}

export interface WebhookRegistration {
  id: string;
  msn: string | null;
  url: string;
  events: string[];
  secret: string;
}

/** What the sandbox remembers of an API request (the last 200), for tests and debugging. */
export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey?: string;
  merchantSerialNumber?: string;
  /** The Vipps-System-Name, -Version, -Plugin-Name and -Plugin-Version headers. */
  system: { name?: string; version?: string; pluginName?: string; pluginVersion?: string };
  body?: unknown;
}

interface IssuedToken {
  msn: string;
  subscriptionKey: string;
  expiresAt: number;
}

export type TokenRequestResult =
  | { ok: true; body: Record<string, string> }
  | { ok: false; status: 400 | 401; error: string; description: string };

export type Authentication = { ok: true; msn: string } | { ok: false; message: string };

const STATIC_WEBHOOK_ID = 'sandbox-options';
/** The Webhooks API's limit ("at most 25 webhooks can currently be registered per event"). */
export const MAX_WEBHOOKS_PER_EVENT = 25;

export class MobilePaySandbox {
  readonly store: MobilePayStore;
  readonly faults: FaultInjector<FaultSettings>;
  readonly idempotency = new IdempotencyStore();
  readonly webhooks: WebhookQueue;
  readonly options: MobilePaySandboxOptions;
  readonly registrations = new Map<string, WebhookRegistration>();
  readonly upkeep: SandboxUpkeep;
  tokensIssued = 0;
  recentRequests: RecordedRequest[] = [];
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #now: () => number;

  constructor(options: MobilePaySandboxOptions = {}) {
    this.options = options;
    this.#now = options.now ?? Date.now;
    if (options.webhookUrl && !options.webhookSecret) throw new Error('MobilePay sandbox: webhookUrl needs a webhookSecret');
    this.faults = new FaultInjector({ schema: FaultSettingsSchema, seed: options.seed });
    this.webhooks = new WebhookQueue({ ...options.webhooks, faults: this.faults, logger: options.logger });
    this.upkeep = new SandboxUpkeep({ faults: this.faults, webhooks: this.webhooks, idempotency: this.idempotency });
    this.store = new MobilePayStore({ now: this.#now, onEvent: (event) => this.#deliver(event) });
  }

  now(): number {
    return this.#now();
  }

  // ─── Access tokens ─────────────────────────────────────────────────────────────────────────

  #knownCredentials(clientId: string, clientSecret: string, subscriptionKey: string, msn: string | undefined): boolean {
    const list = this.options.credentials ?? [];
    if (list.length === 0) return Boolean(clientId && clientSecret && subscriptionKey) && (msn === undefined || /^\d{4,7}$/.test(msn));
    return list.some(
      (c) => c.clientId === clientId && c.clientSecret === clientSecret && c.subscriptionKey === subscriptionKey && (msn === undefined || c.merchantSerialNumber === msn),
    );
  }

  /** `POST /accesstoken/get` with the headers client_id, client_secret, Ocp-Apim-Subscription-Key, Merchant-Serial-Number. */
  issueToken(headers: { clientId?: string; clientSecret?: string; subscriptionKey?: string; msn?: string }): TokenRequestResult {
    const missing = [
      ['client_id', headers.clientId],
      ['client_secret', headers.clientSecret],
      ['Ocp-Apim-Subscription-Key', headers.subscriptionKey],
      ['Merchant-Serial-Number', headers.msn],
    ]
      .filter(([, value]) => !value)
      .map(([name]) => name);
    if (missing.length > 0) return { ok: false, status: 400, error: 'invalid_request', description: `Missing header(s): ${missing.join(', ')}` };
    if (!this.#knownCredentials(headers.clientId!, headers.clientSecret!, headers.subscriptionKey!, headers.msn)) {
      return { ok: false, status: 401, error: 'unauthorized_client', description: 'Invalid client_id, client_secret, subscription key or Merchant-Serial-Number' };
    }
    const ttl = this.options.tokenTtlSeconds ?? 3600;
    const now = this.#now();
    const nowSeconds = Math.floor(now / 1000);
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = `${b64({ typ: 'JWT', alg: 'RS256' })}.${b64({ msn: headers.msn, iat: nowSeconds, exp: nowSeconds + ttl, jti: randomUUID() })}.${randomToken(43)}`;
    this.#tokens.set(token, { msn: headers.msn!, subscriptionKey: headers.subscriptionKey!, expiresAt: now + ttl * 1000 });
    this.tokensIssued += 1;
    // Vipps sends these numbers as strings.
    return {
      ok: true,
      body: {
        token_type: 'Bearer',
        expires_in: String(ttl),
        ext_expires_in: '0',
        expires_on: String(nowSeconds + ttl),
        not_before: String(nowSeconds),
        resource: '00000002-0000-0000-c000-000000000000',
        access_token: token,
      },
    };
  }

  /** Checks the bearer token and subscription key of an API call. */
  authenticate(authorization: string | undefined, subscriptionKey: string | undefined): Authentication {
    if (!subscriptionKey) {
      return { ok: false, message: 'Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.' };
    }
    const token = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
    const issued = token ? this.#tokens.get(token) : undefined;
    if (!issued) return { ok: false, message: 'Unauthorized. Access token is missing or invalid.' };
    if (this.#now() >= issued.expiresAt) {
      this.#tokens.delete(token!);
      return { ok: false, message: 'Unauthorized. Access token has expired.' };
    }
    if (issued.subscriptionKey !== subscriptionKey) {
      return { ok: false, message: 'Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.' };
    }
    return { ok: true, msn: issued.msn };
  }

  /** Forgets every issued token: the next API call with one is answered 401. */
  revokeTokens(): number {
    const count = this.#tokens.size;
    this.#tokens.clear();
    return count;
  }

  // ─── Webhooks ──────────────────────────────────────────────────────────────────────────────

  register(msn: string, url: string, events: string[]): WebhookRegistration {
    const full = [...new Set(events)].find((event) => this.registrationsOf(msn).filter((registration) => registration.events.includes(event)).length >= MAX_WEBHOOKS_PER_EVENT);
    if (full) throw validationProblem(`At most ${MAX_WEBHOOKS_PER_EVENT} webhooks can be registered per event`, [{ name: 'events', reason: `${full} has ${MAX_WEBHOOKS_PER_EVENT} webhooks already` }]);
    const registration: WebhookRegistration = { id: randomUUID(), msn, url, events: [...new Set(events)], secret: randomBytes(64).toString('base64') };
    this.registrations.set(registration.id, registration);
    return registration;
  }

  /** Registrations an MSN sees (`GET /webhooks/v1/webhooks`); the options' webhook is not listed. */
  registrationsOf(msn: string): WebhookRegistration[] {
    return [...this.registrations.values()].filter((registration) => registration.msn === msn);
  }

  unregister(msn: string, id: string): boolean {
    const registration = this.registrations.get(id);
    if (!registration || registration.msn !== msn) return false;
    this.registrations.delete(id);
    return true;
  }

  #targets(event: EPaymentEvent): WebhookRegistration[] {
    const type = `epayments.payment.${event.name.toLowerCase()}.v1`;
    const targets = [...this.registrations.values()].filter((registration) => registration.msn === event.msn && registration.events.includes(type));
    if (this.options.webhookUrl && this.options.webhookSecret) {
      targets.unshift({ id: STATIC_WEBHOOK_ID, msn: null, url: this.options.webhookUrl, events: [...EPAYMENT_WEBHOOK_EVENTS], secret: this.options.webhookSecret });
    }
    return targets;
  }

  /**
   * Seeds reconciliation drift (POST /_control/drift). `lost_webhook` moves a payment on without
   * telling the merchant (a CREATED one is authorized and captured, a captured one refunded, as from
   * the business portal); `amount_mismatch` changes its capture's ledger entry; `orphan` books a
   * capture nobody's books know of.
   */
  drift(input: MobilePayDrift): Record<string, unknown> {
    switch (input.kind) {
      case 'lost_webhook':
        return this.webhooks.withoutDelivery(() => {
          const payment = this.store.find(input.reference);
          if (payment.state === 'CREATED') {
            this.store.authorize(payment.reference);
            this.store.capture(payment.msn, payment.reference, { modificationAmount: payment.amount }, `drift-capture-${payment.reference}`);
            return { kind: input.kind, reference: payment.reference, captured: payment.aggregate.capturedAmount.value };
          }
          const refundable = payment.aggregate.capturedAmount.value - payment.aggregate.refundedAmount.value;
          if (payment.state !== 'AUTHORIZED' || refundable <= 0) throw new TransitionError(409, `Payment '${payment.reference}' has nothing to capture or refund`);
          const amount = { currency: payment.amount.currency, value: input.amount ?? refundable };
          this.store.refund(payment.msn, payment.reference, { modificationAmount: amount }, `drift-refund-${payment.reference}-${payment.events.length}`);
          return { kind: input.kind, reference: payment.reference, refunded: payment.aggregate.refundedAmount.value };
        });
      case 'amount_mismatch': {
        const entry = this.store.captureEntryOf(input.reference);
        entry.amount = input.amount;
        return { kind: input.kind, reference: input.reference, pspReference: entry.pspReference };
      }
      case 'orphan': {
        const time = new Date(input.createdMs ?? this.#now()).toISOString();
        const entry: LedgerEntry = {
          pspReference: randomUUID(),
          time,
          ledgerDate: time.slice(0, 10),
          entryType: 'capture',
          reference: `orphan-${randomToken(12, 'abcdefghijklmnopqrstuvwxyz0123456789')}`,
          currency: input.amount.currency,
          amount: input.amount.value,
          recipientHandle: `api:${input.msn}`,
        };
        this.store.ledger.push(entry);
        return { kind: input.kind, reference: entry.reference, pspReference: entry.pspReference };
      }
    }
  }

  /** The Report API's ledgers of a sales unit: one per currency it sells in. */
  ledgersOf(msn: string) {
    return CURRENCIES.map((currency) => ({ ledgerId: ledgerIdOf(msn, currency), currency, settlesForRecipientHandles: [`api:${msn}`] }));
  }

  /** One page of a ledger's funds entries booked on `ledgerDate`; the cursor is an opaque offset. */
  fundsByDate(msn: string, ledgerId: string, ledgerDate: string, cursor: string | undefined, pageSize: number): { items: LedgerEntry[]; cursor?: string } | undefined {
    const ledger = this.ledgersOf(msn).find((candidate) => candidate.ledgerId === ledgerId);
    if (!ledger) return undefined;
    const entries = this.store.ledger.filter(
      (entry) => entry.recipientHandle === `api:${msn}` && entry.currency === ledger.currency && entry.ledgerDate === ledgerDate,
    );
    const offset = cursor ? Number(Buffer.from(cursor, 'base64url').toString('utf8')) || 0 : 0;
    const items = entries.slice(offset, offset + pageSize).map((entry) => ({ ...entry }));
    const next = offset + pageSize < entries.length ? Buffer.from(String(offset + pageSize), 'utf8').toString('base64url') : undefined;
    return { items, cursor: next };
  }

  #deliver(event: EPaymentEvent): void {
    const body = JSON.stringify(event);
    for (const target of this.#targets(event)) {
      this.webhooks.enqueue({
        id: `${event.reference}:${event.name}:${event.pspReference}@${target.id}`,
        url: target.url,
        body,
        // Signed per attempt, so a retried delivery carries a fresh x-ms-date.
        headers: (payload) => ({ ...webhookHeaders(target.url, payload, target.secret, new Date(this.#now())), 'user-agent': 'Vipps MobilePay Webhooks' }),
      });
    }
  }

  // ─── The customer ──────────────────────────────────────────────────────────────────────────

  /** The user never acts: the payment expires after `afterMs` (default: the options', else at once). */
  abandon(reference: string, afterMs = this.options.abandonAfterMs ?? 0): SandboxPayment {
    if (afterMs <= 0) return this.store.expire(this.store.markAbandoned(reference, this.#now()).reference);
    const payment = this.store.markAbandoned(reference, this.#now() + afterMs);
    this.#expireAt(reference, this.#now() + afterMs);
    return payment;
  }

  /**
   * Everything Vipps would still know after a restart (shared/persistence.ts): the ePayment state and
   * the webhook registrations with their secrets. An abandoned payment's expiry is armed again.
   */
  snapshot(): unknown {
    return { ...(this.store.snapshot() as object), webhookRegistrations: [...this.registrations.values()] };
  }

  restore(state: unknown): void {
    this.store.restore(state);
    this.registrations.clear();
    for (const registration of ((state ?? {}) as { webhookRegistrations?: WebhookRegistration[] }).webhookRegistrations ?? []) {
      this.registrations.set(registration.id, registration);
    }
    for (const payment of this.store.payments.values()) {
      if (payment.state !== 'CREATED' || !payment.sandbox.expiresAt) continue;
      this.#expireAt(payment.reference, Date.parse(payment.sandbox.expiresAt));
    }
  }

  #expireAt(reference: string, at: number): void {
    this.upkeep.timers.after(
      Math.max(0, at - this.#now()),
      () => {
        try {
          this.store.expire(reference);
        } catch {
          // Reset in the meantime: nothing to expire.
        }
      },
      reference,
    );
  }

  recordRequest(request: RecordedRequest): void {
    this.recentRequests.push(request);
    if (this.recentRequests.length > 200) this.recentRequests.shift();
  }

  state() {
    return {
      payments: [...this.store.payments.values()].map((payment) => structuredClone(payment)),
      webhookRegistrations: [...this.registrations.values()].map((registration) => ({ ...registration })),
      recentRequests: structuredClone(this.recentRequests),
      counts: {
        ...this.store.counts,
        ...this.upkeep.counts(),
        tokensIssued: this.tokensIssued,
        activeTokens: this.#tokens.size,
      },
      webhooks: this.webhooks.stats() satisfies WebhookQueueStats,
      faults: { ...this.faults.settings },
    };
  }

  /** Forgets everything: payments, tokens, registrations, keys, queued webhooks, counters and faults. */
  reset(): void {
    this.upkeep.reset();
    this.store.reset();
    this.registrations.clear();
    this.#tokens.clear();
    this.tokensIssued = 0;
    this.recentRequests = [];
  }

  releaseHeldRequests(): void {
    this.upkeep.releaseHeldRequests();
  }

  /** Stops background work: webhook delivery and expiry timers. */
  close(): void {
    this.upkeep.close();
  }
}
