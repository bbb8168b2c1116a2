// The Stripe sandbox's state and its state machine: PaymentIntents, Charges, Refunds, balance
// transactions, payouts and Events, in memory. Every state change records an Event (handed to
// `onEvent` for webhook delivery). Synchronous and free of HTTP: the plugin maps requests to calls.
//
// Behaviour follows current API versions (2025-03-31.basil and later): a partial capture or a
// cancellation releases the rest of an authorization without creating a Refund, without touching
// `amount_refunded` and without a `charge.refunded` event.
import { newId, randomToken } from '../shared/ids';
import { SandboxRefusal } from '../shared/errors';
import { mapEntries, refill } from '../shared/persistence';
import type { RefundSettlementHooks } from '../shared/upkeep';
import {
  cardError,
  invalidParam,
  invalidRequest,
  resourceMissing,
  unexpectedState,
  type StripeApiError,
} from './errors';
import type {
  BalanceTransaction,
  CancellationReason,
  CaptureMethod,
  CardDetails,
  Charge,
  EventType,
  LastPaymentError,
  PaymentIntent,
  PaymentIntentStatus,
  PaymentMethodSummary,
  Payout,
  Refund,
  RefundReason,
  StripeEvent,
  StripeList,
  StripeObject,
} from './objects';
import {
  PAGE_PARAMS,
  applyMetadata,
  inRange,
  readBoolean,
  readEnum,
  readInteger,
  readMetadata,
  readObject,
  readPage,
  readRange,
  readString,
  readStringArray,
  rejectUnknown,
  type PageParams,
  type Params,
} from './params';

export interface RequestContext {
  /** `req_…` of the API request that caused the change; null for customer/operator actions. */
  requestId: string | null;
  idempotencyKey: string | null;
}

export const NO_REQUEST: RequestContext = Object.freeze({ requestId: null, idempotencyKey: null });

/** A control (customer/operator) action that does not apply: 404 unknown id, 409 wrong state. */
export class TransitionError extends SandboxRefusal {
  override readonly name = 'TransitionError';
  constructor(statusCode: 404 | 409, message: string, details: Record<string, unknown> = {}) {
    super(statusCode, message, details);
  }
}

/** The sandbox decides which refunds stay pending and settles them later (shared/upkeep.ts). */
export interface StripeStoreOptions extends RefundSettlementHooks<Refund> {
  apiVersion: string;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** Whether events go to a webhook endpoint (sets `pending_webhooks`). */
  webhooksEnabled?: boolean;
  onEvent?: (event: StripeEvent) => void;
}

export interface DeclineOptions {
  code?: string;
  declineCode?: string;
  message?: string;
}

export interface SandboxFlags {
  abandoned: boolean;
  abandonedAt: number | null;
}

const CANCELABLE: readonly PaymentIntentStatus[] = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'];
const CONFIRMABLE: readonly PaymentIntentStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action'];
const UPDATABLE: readonly PaymentIntentStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action'];

/** Smallest chargeable amounts (minor units) per currency; others need at least 1. */
const MINIMUM_AMOUNT: Record<string, number> = { usd: 50, eur: 50, gbp: 30, sek: 300, nok: 300, dkk: 250, chf: 50, cad: 50, aud: 50, pln: 200, isk: 100 };
const SUPPORTED_CURRENCIES = new Set(['usd', 'eur', 'gbp', 'sek', 'nok', 'dkk', 'chf', 'cad', 'aud', 'pln', 'isk', 'jpy', 'nzd', 'czk', 'huf']);
/** Fixed part of the card fee (minor units); the variable part is 1.5 %. */
const FIXED_FEE: Record<string, number> = { sek: 180, nok: 200, dkk: 180, isk: 3_000, eur: 25, usd: 30, gbp: 20, chf: 30, pln: 100 };
const CURRENCY_SYMBOL: Record<string, string> = { usd: '$', eur: '€', gbp: '£' };
const AVAILABLE_AFTER_SECONDS = 2 * 86_400;

interface TestCard {
  outcome: 'success' | 'decline' | 'requires_action';
  brand: string;
  last4: string;
  decline?: { code: string; declineCode?: string; message: string };
}

const VISA: TestCard = { outcome: 'success', brand: 'visa', last4: '4242' };
/** Stripe's test PaymentMethods, usable with `confirm` (e.g. `payment_method=pm_card_visa`). */
const TEST_PAYMENT_METHODS: Record<string, TestCard> = {
  pm_card_visa: VISA,
  pm_card_visa_debit: { outcome: 'success', brand: 'visa', last4: '5556' },
  pm_card_mastercard: { outcome: 'success', brand: 'mastercard', last4: '4444' },
  pm_card_amex: { outcome: 'success', brand: 'amex', last4: '8431' },
  pm_card_chargeDeclined: { outcome: 'decline', brand: 'visa', last4: '0002', decline: { code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.' } },
  pm_card_chargeDeclinedInsufficientFunds: { outcome: 'decline', brand: 'visa', last4: '9995', decline: { code: 'card_declined', declineCode: 'insufficient_funds', message: 'Your card has insufficient funds.' } },
  pm_card_chargeDeclinedLostCard: { outcome: 'decline', brand: 'visa', last4: '9987', decline: { code: 'card_declined', declineCode: 'lost_card', message: 'Your card was declined.' } },
  pm_card_chargeDeclinedExpiredCard: { outcome: 'decline', brand: 'visa', last4: '0069', decline: { code: 'expired_card', message: 'Your card has expired.' } },
  pm_card_chargeDeclinedProcessingError: { outcome: 'decline', brand: 'visa', last4: '0119', decline: { code: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.' } },
  pm_card_authenticationRequired: { outcome: 'requires_action', brand: 'visa', last4: '3184' },
  pm_card_threeDSecure2Required: { outcome: 'requires_action', brand: 'visa', last4: '3220' },
};

const CODE_MESSAGES: Record<string, string> = {
  expired_card: 'Your card has expired.',
  incorrect_cvc: "Your card's security code is incorrect.",
  incorrect_number: 'Your card number is incorrect.',
  processing_error: 'An error occurred while processing your card. Try again in a little bit.',
  authentication_required: 'Your card was declined. This transaction requires authentication.',
};

const DECLINE_MESSAGES: Record<string, string> = {
  generic_decline: 'Your card was declined.',
  insufficient_funds: 'Your card has insufficient funds.',
  lost_card: 'Your card was declined.',
  stolen_card: 'Your card was declined.',
  do_not_honor: 'Your card was declined.',
  fraudulent: 'Your card was declined.',
};

function clone<T>(value: T): T {
  return structuredClone(value);
}

export function formatMoney(amount: number, currency: string): string {
  const symbol = CURRENCY_SYMBOL[currency];
  const major = (amount / 100).toFixed(2);
  return symbol ? `${symbol}${major}` : `${major} ${currency.toUpperCase()}`;
}

export function processingFee(amount: number, currency: string): number {
  return Math.min(amount, Math.round(amount * 0.015) + (FIXED_FEE[currency] ?? 25));
}

export class StripeStore {
  readonly paymentIntents = new Map<string, PaymentIntent>();
  readonly charges = new Map<string, Charge>();
  readonly refunds = new Map<string, Refund>();
  readonly balanceTransactions = new Map<string, BalanceTransaction>();
  readonly payouts = new Map<string, Payout>();
  readonly events = new Map<string, StripeEvent>();
  readonly flags = new Map<string, SandboxFlags>();
  /** Balance transaction id → payout id, once paid out. */
  readonly #paidOut = new Map<string, string>();
  /** Balance transactions held back from settlement (drift: `unsettled`). */
  readonly #held = new Set<string>();
  /** Balance transactions in creation order, and each one's position: listing pages walk back from a cursor. */
  readonly #txnList: BalanceTransaction[] = [];
  readonly #txnIndex = new Map<string, number>();
  /** Creation order of every object, for cursor pagination (Stripe lists newest first). */
  readonly #seq = new Map<string, number>();
  #nextSeq = 0;
  counts = { paymentIntentsCreated: 0, chargesCreated: 0, refundsCreated: 0, eventsCreated: 0, payoutsCreated: 0 };

  readonly #options: StripeStoreOptions;
  readonly #now: () => number;

  constructor(options: StripeStoreOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  reset(): void {
    for (const map of [this.paymentIntents, this.charges, this.refunds, this.balanceTransactions, this.payouts, this.events, this.flags, this.#paidOut, this.#seq]) {
      map.clear();
    }
    this.#nextSeq = 0;
    this.#held.clear();
    this.#txnList.length = 0;
    this.#txnIndex.clear();
    this.counts = { paymentIntentsCreated: 0, chargesCreated: 0, refundsCreated: 0, eventsCreated: 0, payoutsCreated: 0 };
  }

  /** Everything Stripe would still know after a restart (shared/persistence.ts). */
  snapshot(): unknown {
    return {
      paymentIntents: mapEntries(this.paymentIntents),
      charges: mapEntries(this.charges),
      refunds: mapEntries(this.refunds),
      balanceTransactions: mapEntries(this.balanceTransactions),
      payouts: mapEntries(this.payouts),
      events: mapEntries(this.events),
      flags: mapEntries(this.flags),
      paidOut: mapEntries(this.#paidOut),
      held: [...this.#held],
      seq: mapEntries(this.#seq),
      nextSeq: this.#nextSeq,
      counts: this.counts,
    };
  }

  restore(state: unknown): void {
    const saved = (state ?? {}) as Record<string, unknown> & { held?: string[]; nextSeq?: number; counts?: Partial<StripeStore['counts']> };
    refill(this.paymentIntents, saved.paymentIntents);
    refill(this.charges, saved.charges);
    refill(this.refunds, saved.refunds);
    refill(this.balanceTransactions, saved.balanceTransactions);
    refill(this.payouts, saved.payouts);
    refill(this.events, saved.events);
    refill(this.flags, saved.flags);
    refill(this.#paidOut, saved.paidOut);
    refill(this.#seq, saved.seq);
    this.#held.clear();
    for (const id of saved.held ?? []) this.#held.add(id);
    // The listing order is the creation order, which the map kept.
    this.#txnList.length = 0;
    this.#txnIndex.clear();
    for (const txn of this.balanceTransactions.values()) {
      this.#txnIndex.set(txn.id, this.#txnList.length);
      this.#txnList.push(txn);
    }
    this.#nextSeq = saved.nextSeq ?? this.#seq.size;
    this.counts = { ...this.counts, ...saved.counts };
  }

  #seconds(): number {
    return Math.floor((this.#clockOverrideMs ?? this.#now()) / 1000);
  }

  /** While seeding history: the clock objects are created at, and no Events (nothing to deliver). */
  #clockOverrideMs: number | undefined;
  #silent = false;

  #seeding<T>(createdMs: number, fn: () => T): T {
    const previous = { clock: this.#clockOverrideMs, silent: this.#silent };
    this.#clockOverrideMs = createdMs;
    this.#silent = true;
    try {
      return fn();
    } finally {
      this.#clockOverrideMs = previous.clock;
      this.#silent = previous.silent;
    }
  }

  #track(id: string): void {
    this.#seq.set(id, this.#nextSeq++);
  }

  // ─── PaymentIntents ────────────────────────────────────────────────────────────────────────

  createPaymentIntent(params: Params, ctx: RequestContext): PaymentIntent {
    rejectUnknown(params, [
      'amount', 'currency', 'capture_method', 'confirmation_method', 'description', 'metadata', 'allowed_payment_method_types',
      'excluded_payment_method_types', 'payment_method_types', 'automatic_payment_methods', 'customer', 'customer_account',
      'receipt_email', 'statement_descriptor', 'statement_descriptor_suffix', 'payment_method', 'payment_method_configuration',
      'confirm', 'return_url', 'payment_method_options', 'expand', 'transfer_group', 'off_session', 'application_fee_amount',
      'use_stripe_sdk', 'setup_future_usage', 'error_on_requires_action', 'shipping', 'radar_options', 'mandate_data',
    ]);
    const amount = this.#readAmount(params, 'amount', true)!;
    const currency = this.#readCurrency(params);
    const minimum = MINIMUM_AMOUNT[currency] ?? 1;
    if (amount < minimum) {
      const shown = CURRENCY_SYMBOL[currency] ? formatMoney(minimum, currency) : (minimum / 100).toFixed(2);
      throw invalidParam(`Amount must be at least ${shown} ${currency}`, 'amount', 'amount_too_small');
    }
    const captureMethod = readEnum<CaptureMethod>(params, 'capture_method', ['automatic', 'automatic_async', 'manual']) ?? 'automatic_async';
    const confirmationMethod = readEnum(params, 'confirmation_method', ['automatic', 'manual']) ?? 'automatic';
    // `allowed_payment_method_types` in current API versions; `payment_method_types` in older ones.
    const allowedTypes = readStringArray(params, 'allowed_payment_method_types');
    const types = allowedTypes ?? readStringArray(params, 'payment_method_types');
    const automatic = readObject(params, 'automatic_payment_methods');
    let automaticPaymentMethods: PaymentIntent['automatic_payment_methods'] = null;
    if (automatic) {
      rejectUnknown(automatic, ['enabled', 'allow_redirects']);
      const enabled = readBoolean(automatic, 'enabled');
      if (enabled === undefined) throw invalidParam('Missing required param: automatic_payment_methods[enabled].', 'automatic_payment_methods[enabled]', 'parameter_missing');
      const allowRedirects = readEnum(automatic, 'allow_redirects', ['always', 'never']);
      automaticPaymentMethods = { enabled, allow_redirects: allowRedirects ?? 'always' };
      if (enabled && types) {
        throw invalidParam(
          `You may only specify one of these parameters: automatic_payment_methods, ${allowedTypes ? 'allowed_payment_method_types' : 'payment_method_types'}.`,
          'automatic_payment_methods',
        );
      }
    } else if (!types) {
      // Since 2023-08-16, automatic payment methods are on unless types are given.
      automaticPaymentMethods = { enabled: true, allow_redirects: 'always' };
    }
    const paymentMethod = readString(params, 'payment_method');
    const confirm = readBoolean(params, 'confirm') ?? false;
    const metadata = applyMetadata({}, readMetadata(params));

    const id = newId('pi');
    const pi: PaymentIntent = {
      id,
      object: 'payment_intent',
      allowed_payment_method_types: allowedTypes ?? null,
      amount,
      amount_capturable: 0,
      amount_details: { tip: {} },
      amount_received: 0,
      application: null,
      application_fee_amount: readInteger(params, 'application_fee_amount', { min: 0 }) ?? null,
      automatic_payment_methods: automaticPaymentMethods,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: captureMethod,
      client_secret: `${id}_secret_${randomToken(25)}`,
      confirmation_method: confirmationMethod,
      created: this.#seconds(),
      currency,
      customer: readString(params, 'customer') ?? null,
      description: readString(params, 'description', { maxLength: 1000 }) ?? null,
      excluded_payment_method_types: null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata,
      next_action: null,
      on_behalf_of: null,
      payment_method: paymentMethod ?? null,
      payment_method_configuration_details: null,
      payment_method_options: { card: { installments: null, mandate_options: null, network: null, request_three_d_secure: 'automatic' } },
      payment_method_types: types ?? ['card'],
      processing: null,
      receipt_email: readString(params, 'receipt_email') ?? null,
      review: null,
      setup_future_usage: null,
      shipping: null,
      source: null,
      statement_descriptor: readString(params, 'statement_descriptor', { maxLength: 22 }) ?? null,
      statement_descriptor_suffix: readString(params, 'statement_descriptor_suffix', { maxLength: 22 }) ?? null,
      status: paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
      transfer_data: null,
      transfer_group: readString(params, 'transfer_group') ?? null,
    };
    if (confirm && !paymentMethod) {
      throw invalidParam(
        "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
        'payment_method',
        'payment_intent_unexpected_state',
      );
    }
    this.paymentIntents.set(id, pi);
    this.flags.set(id, { abandoned: false, abandonedAt: null });
    this.#track(id);
    this.counts.paymentIntentsCreated += 1;
    this.#emit('payment_intent.created', pi, ctx);
    if (confirm) return this.#confirm(pi, paymentMethod!, ctx);
    return pi;
  }

  getPaymentIntent(id: string, param = 'intent'): PaymentIntent {
    const pi = this.paymentIntents.get(id);
    if (!pi) throw resourceMissing('payment_intent', id, param);
    return pi;
  }

  updatePaymentIntent(id: string, params: Params, _ctx: RequestContext): PaymentIntent {
    rejectUnknown(params, [
      'amount', 'currency', 'description', 'metadata', 'receipt_email', 'capture_method', 'payment_method', 'allowed_payment_method_types',
      'excluded_payment_method_types', 'payment_method_types', 'statement_descriptor', 'statement_descriptor_suffix', 'transfer_group',
      'expand', 'customer', 'customer_account', 'application_fee_amount', 'setup_future_usage', 'shipping', 'payment_method_options',
    ]);
    const pi = this.getPaymentIntent(id);
    const amount = this.#readAmount(params, 'amount', false);
    const currency = params.currency === undefined ? undefined : this.#readCurrency(params);
    const captureMethod = readEnum<CaptureMethod>(params, 'capture_method', ['automatic', 'automatic_async', 'manual']);
    const paymentMethod = readString(params, 'payment_method');
    const allowedTypes = readStringArray(params, 'allowed_payment_method_types');
    const types = allowedTypes ?? readStringArray(params, 'payment_method_types');
    const metadata = readMetadata(params);
    const changesPayment = amount !== undefined || currency !== undefined || captureMethod !== undefined || paymentMethod !== undefined || types !== undefined;
    if (changesPayment && !UPDATABLE.includes(pi.status)) {
      throw unexpectedState(`You cannot update this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be updated: ${UPDATABLE.join(', ')}.`);
    }
    if (amount !== undefined) pi.amount = amount;
    if (currency !== undefined) pi.currency = currency;
    if (captureMethod !== undefined) pi.capture_method = captureMethod;
    if (types !== undefined) pi.payment_method_types = types;
    if (allowedTypes !== undefined) pi.allowed_payment_method_types = allowedTypes;
    if (paymentMethod !== undefined) {
      pi.payment_method = paymentMethod;
      if (pi.status === 'requires_payment_method') pi.status = 'requires_confirmation';
    }
    const description = readString(params, 'description', { maxLength: 1000 });
    if (params.description !== undefined) pi.description = description ?? null;
    if (params.receipt_email !== undefined) pi.receipt_email = readString(params, 'receipt_email') ?? null;
    if (params.customer !== undefined) pi.customer = readString(params, 'customer') ?? null;
    if (params.statement_descriptor !== undefined) pi.statement_descriptor = readString(params, 'statement_descriptor', { maxLength: 22 }) ?? null;
    if (params.transfer_group !== undefined) pi.transfer_group = readString(params, 'transfer_group') ?? null;
    pi.metadata = applyMetadata(pi.metadata, metadata);
    return pi;
  }

  /** `POST /v1/payment_intents/:id/confirm` with a test PaymentMethod such as `pm_card_visa`. */
  confirmPaymentIntent(id: string, params: Params, ctx: RequestContext): PaymentIntent {
    rejectUnknown(params, [
      'payment_method', 'return_url', 'expand', 'off_session', 'allowed_payment_method_types', 'excluded_payment_method_types',
      'payment_method_types', 'receipt_email', 'use_stripe_sdk', 'capture_method', 'payment_method_options', 'setup_future_usage',
      'mandate', 'mandate_data', 'error_on_requires_action', 'shipping', 'radar_options', 'payment_method_data', 'confirmation_token',
    ]);
    const pi = this.getPaymentIntent(id);
    const paymentMethod = readString(params, 'payment_method') ?? pi.payment_method ?? undefined;
    const captureMethod = readEnum<CaptureMethod>(params, 'capture_method', ['automatic', 'automatic_async', 'manual']);
    if (!CONFIRMABLE.includes(pi.status)) {
      throw unexpectedState(
        `You cannot confirm this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be confirmed: ${CONFIRMABLE.join(', ')}.`,
      );
    }
    if (!paymentMethod) {
      throw invalidRequest(
        "You cannot confirm this PaymentIntent because it's missing a payment method. You can either update the PaymentIntent with a payment method and then confirm it again, or confirm it again directly with a payment method.",
        { code: 'payment_intent_unexpected_state', param: 'payment_method' },
      );
    }
    if (captureMethod) pi.capture_method = captureMethod;
    return this.#confirm(pi, paymentMethod, ctx);
  }

  #confirm(pi: PaymentIntent, paymentMethod: string, ctx: RequestContext): PaymentIntent {
    if (!paymentMethod.startsWith('pm_')) throw resourceMissing('PaymentMethod', paymentMethod, 'payment_method');
    const card = TEST_PAYMENT_METHODS[paymentMethod] ?? VISA;
    const pm = this.#paymentMethod(card);
    if (card.outcome === 'requires_action') {
      this.#enterRequiresAction(pi, pm, ctx);
      return pi;
    }
    if (card.outcome === 'decline') {
      this.#declineAttempt(pi, pm, { code: card.decline!.code, declineCode: card.decline!.declineCode, message: card.decline!.message }, ctx);
      const error = pi.last_payment_error!;
      throw this.#cardErrorFor(pi, error);
    }
    this.#authorize(pi, pm, ctx);
    return pi;
  }

  #cardErrorFor(pi: PaymentIntent, error: LastPaymentError): StripeApiError {
    return cardError({
      code: error.code,
      decline_code: error.decline_code,
      message: error.message,
      charge: error.charge,
      payment_intent: clone(pi),
      payment_method: error.payment_method,
    });
  }

  capturePaymentIntent(id: string, params: Params, ctx: RequestContext): PaymentIntent {
    rejectUnknown(params, [
      'amount_to_capture', 'expand', 'metadata', 'statement_descriptor', 'statement_descriptor_suffix', 'final_capture',
      'application_fee_amount', 'amount_details', 'transfer_data',
    ]);
    const pi = this.getPaymentIntent(id);
    const amountToCapture = readInteger(params, 'amount_to_capture', { min: 1 });
    const metadata = readMetadata(params);
    if (pi.status !== 'requires_capture') {
      throw unexpectedState(
        `This PaymentIntent could not be captured because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
      );
    }
    const amount = amountToCapture ?? pi.amount_capturable;
    if (amount > pi.amount_capturable) {
      throw invalidRequest(
        `The amount to capture (${amount}) must be less than or equal to the PaymentIntent's amount_capturable (${pi.amount_capturable}).`,
        { code: 'amount_too_large', param: 'amount_to_capture' },
      );
    }
    const charge = this.charges.get(pi.latest_charge!)!;
    const txn = this.#chargeTransaction(charge, amount);
    charge.captured = true;
    charge.amount_captured = amount;
    charge.balance_transaction = txn.id;
    pi.metadata = applyMetadata(pi.metadata, metadata);
    pi.amount_received = amount;
    pi.amount_capturable = 0;
    pi.status = 'succeeded';
    this.#emit('charge.captured', charge, ctx);
    this.#emit('payment_intent.succeeded', pi, ctx);
    return pi;
  }

  cancelPaymentIntent(id: string, params: Params, ctx: RequestContext): PaymentIntent {
    rejectUnknown(params, ['cancellation_reason', 'expand']);
    const pi = this.getPaymentIntent(id);
    const reason = readEnum<CancellationReason>(params, 'cancellation_reason', ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned']);
    if (!CANCELABLE.includes(pi.status)) {
      throw unexpectedState(
        `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(', ')}.`,
      );
    }
    // An uncaptured authorization is released: the charge stays uncaptured (amount_captured 0).
    pi.status = 'canceled';
    pi.canceled_at = this.#seconds();
    pi.cancellation_reason = reason ?? null;
    pi.amount_capturable = 0;
    pi.next_action = null;
    this.#emit('payment_intent.canceled', pi, ctx);
    return pi;
  }

  listPaymentIntents(params: Params): StripeList<PaymentIntent> {
    rejectUnknown(params, [...PAGE_PARAMS, 'created', 'customer', 'customer_account']);
    const created = readRange(params, 'created');
    const customer = readString(params, 'customer');
    const items = [...this.paymentIntents.values()].filter(
      (pi) => inRange(pi.created, created) && (customer === undefined || pi.customer === customer),
    );
    return this.#paginate(items, readPage(params), '/v1/payment_intents');
  }

  // ─── Customer / operator actions (control endpoints) ─────────────────────────────────────

  #forControl(id: string): PaymentIntent {
    const pi = this.paymentIntents.get(id);
    if (!pi) throw new TransitionError(404, `No such payment_intent: '${id}'`);
    return pi;
  }

  #refuse(pi: PaymentIntent, action: string, allowed: readonly PaymentIntentStatus[]): never {
    const flags = this.flags.get(pi.id);
    if (flags?.abandoned) {
      throw new TransitionError(409, `Cannot ${action} ${pi.id}: the customer abandoned it`, { status: pi.status, abandoned: true });
    }
    throw new TransitionError(409, `Cannot ${action} ${pi.id} in status ${pi.status}; allowed from: ${allowed.join(', ')}`, {
      status: pi.status,
      allowed,
    });
  }

  /** The customer completes the payment (optionally passing through `processing`). */
  succeed(id: string, options: { via?: 'processing'; settle?: boolean } = {}): PaymentIntent {
    const pi = this.#forControl(id);
    const allowed: PaymentIntentStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action', 'processing'];
    if (!allowed.includes(pi.status) || this.flags.get(id)?.abandoned) this.#refuse(pi, 'succeed', allowed);
    const pm = pi.status === 'processing' || pi.status === 'requires_action' ? this.#existingPaymentMethod(pi) : this.#paymentMethod(VISA);
    if (options.via === 'processing' && pi.status !== 'processing') {
      pi.status = 'processing';
      pi.payment_method = pm.id;
      pi.next_action = null;
      pi.last_payment_error = null;
      this.#emit('payment_intent.processing', pi, NO_REQUEST);
      if (options.settle === false) return pi;
    }
    this.#authorize(pi, pm, NO_REQUEST);
    return pi;
  }

  /** The card is declined: back to requires_payment_method with last_payment_error. */
  fail(id: string, options: DeclineOptions = {}): PaymentIntent {
    const pi = this.#forControl(id);
    const allowed: PaymentIntentStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action', 'processing'];
    if (!allowed.includes(pi.status) || this.flags.get(id)?.abandoned) this.#refuse(pi, 'fail', allowed);
    const pm = pi.payment_method ? this.#existingPaymentMethod(pi) : this.#paymentMethod(VISA);
    const declineCode = options.declineCode ?? (options.code && options.code !== 'card_declined' ? undefined : 'generic_decline');
    this.#declineAttempt(
      pi,
      pm,
      {
        code: options.code ?? 'card_declined',
        declineCode,
        message:
          options.message ?? (declineCode ? DECLINE_MESSAGES[declineCode] : undefined) ?? CODE_MESSAGES[options.code ?? ''] ?? 'Your card was declined.',
      },
      NO_REQUEST,
    );
    return pi;
  }

  /** The bank asks for 3-D Secure: requires_action with next_action use_stripe_sdk. */
  requireAction(id: string): PaymentIntent {
    const pi = this.#forControl(id);
    const allowed: PaymentIntentStatus[] = ['requires_payment_method', 'requires_confirmation'];
    if (!allowed.includes(pi.status) || this.flags.get(id)?.abandoned) this.#refuse(pi, 'require action for', allowed);
    this.#enterRequiresAction(pi, this.#paymentMethod({ outcome: 'requires_action', brand: 'visa', last4: '3220' }), NO_REQUEST);
    return pi;
  }

  /** The customer leaves: nothing happens at Stripe (no event); the sandbox remembers it. */
  abandon(id: string): PaymentIntent {
    const pi = this.#forControl(id);
    const allowed: PaymentIntentStatus[] = ['requires_payment_method', 'requires_confirmation', 'requires_action'];
    if (!allowed.includes(pi.status) || this.flags.get(id)?.abandoned) this.#refuse(pi, 'abandon', allowed);
    this.flags.set(id, { abandoned: true, abandonedAt: this.#seconds() });
    return pi;
  }

  #existingPaymentMethod(pi: PaymentIntent): PaymentMethodSummary {
    return { ...this.#paymentMethod(VISA), id: pi.payment_method ?? newId('pm') };
  }

  #paymentMethod(card: TestCard): PaymentMethodSummary {
    const year = new Date(this.#now()).getUTCFullYear() + 3;
    const details: CardDetails = {
      brand: card.brand,
      last4: card.last4,
      exp_month: 12,
      exp_year: year,
      funding: 'credit',
      country: 'US',
      fingerprint: randomToken(16),
    };
    return { id: newId('pm'), object: 'payment_method', type: 'card', card: details, created: this.#seconds(), livemode: false, metadata: {} };
  }

  #enterRequiresAction(pi: PaymentIntent, pm: PaymentMethodSummary, ctx: RequestContext): void {
    pi.status = 'requires_action';
    pi.payment_method = pm.id;
    pi.last_payment_error = null;
    pi.next_action = {
      type: 'use_stripe_sdk',
      use_stripe_sdk: {
        type: 'three_d_secure_redirect',
        stripe_js: `https://hooks.stripe.com/redirect/authenticate/src_${randomToken(24)}?client_secret=src_client_secret_${randomToken(24)}`,
        source: `src_${randomToken(24)}`,
      },
    };
    this.#emit('payment_intent.requires_action', pi, ctx);
  }

  /** A successful card authorization: a Charge, then succeeded (automatic capture) or requires_capture. */
  #authorize(pi: PaymentIntent, pm: PaymentMethodSummary, ctx: RequestContext): void {
    const automatic = pi.capture_method !== 'manual';
    const charge = this.#newCharge(pi, pm, { status: 'succeeded' });
    pi.latest_charge = charge.id;
    pi.payment_method = pm.id;
    pi.next_action = null;
    pi.last_payment_error = null;
    if (automatic) {
      const txn = this.#chargeTransaction(charge, pi.amount);
      charge.captured = true;
      charge.amount_captured = pi.amount;
      charge.balance_transaction = txn.id;
      pi.status = 'succeeded';
      pi.amount_received = pi.amount;
      pi.amount_capturable = 0;
      this.#emit('charge.succeeded', charge, ctx);
      this.#emit('payment_intent.succeeded', pi, ctx);
    } else {
      pi.status = 'requires_capture';
      pi.amount_capturable = pi.amount;
      this.#emit('charge.succeeded', charge, ctx);
      this.#emit('payment_intent.amount_capturable_updated', pi, ctx);
    }
  }

  #declineAttempt(pi: PaymentIntent, pm: PaymentMethodSummary, decline: Required<Pick<DeclineOptions, 'code' | 'message'>> & DeclineOptions, ctx: RequestContext): void {
    const charge = this.#newCharge(pi, pm, { status: 'failed', failureCode: decline.declineCode ?? decline.code, failureMessage: decline.message });
    const error: LastPaymentError = {
      type: 'card_error',
      code: decline.code,
      ...(decline.declineCode ? { decline_code: decline.declineCode } : {}),
      message: decline.message,
      doc_url: `https://stripe.com/docs/error-codes/${decline.code.replaceAll('_', '-')}`,
      charge: charge.id,
      payment_method: pm,
    };
    pi.latest_charge = charge.id;
    pi.status = 'requires_payment_method';
    pi.payment_method = null;
    pi.next_action = null;
    pi.last_payment_error = error;
    this.#emit('charge.failed', charge, ctx);
    this.#emit('payment_intent.payment_failed', pi, ctx);
  }

  #newCharge(pi: PaymentIntent, pm: PaymentMethodSummary, outcome: { status: 'succeeded' | 'failed'; failureCode?: string; failureMessage?: string }): Charge {
    const id = newId('ch');
    const declined = outcome.status === 'failed';
    const charge: Charge = {
      id,
      object: 'charge',
      amount: pi.amount,
      amount_captured: 0,
      amount_refunded: 0,
      application: null,
      application_fee: null,
      application_fee_amount: null,
      balance_transaction: null,
      billing_details: { address: null, email: null, name: null, phone: null },
      calculated_statement_descriptor: 'SKERRY',
      captured: false,
      created: this.#seconds(),
      currency: pi.currency,
      customer: pi.customer,
      description: pi.description,
      disputed: false,
      failure_balance_transaction: null,
      failure_code: outcome.failureCode ?? null,
      failure_message: outcome.failureMessage ?? null,
      fraud_details: {},
      livemode: false,
      metadata: { ...pi.metadata },
      on_behalf_of: null,
      outcome: declined
        ? { network_status: 'declined_by_network', reason: outcome.failureCode ?? 'generic_decline', risk_level: 'normal', seller_message: 'The bank did not return any further details with this decline.', type: 'issuer_declined' }
        : { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
      paid: !declined,
      payment_intent: pi.id,
      payment_method: pm.id,
      payment_method_details: { card: { ...pm.card, network: pm.card.brand, three_d_secure: null }, type: 'card' },
      receipt_email: pi.receipt_email,
      receipt_number: null,
      receipt_url: `https://pay.stripe.com/receipts/payment/${randomToken(60)}`,
      refunded: false,
      review: null,
      shipping: null,
      source: null,
      source_transfer: null,
      statement_descriptor: pi.statement_descriptor,
      statement_descriptor_suffix: pi.statement_descriptor_suffix,
      status: outcome.status,
      transfer_data: null,
      transfer_group: pi.transfer_group,
    };
    this.charges.set(id, charge);
    this.#track(id);
    this.counts.chargesCreated += 1;
    return charge;
  }

  getCharge(id: string, param = 'charge'): Charge {
    const charge = this.charges.get(id);
    if (!charge) throw resourceMissing('charge', id, param);
    return charge;
  }

  listCharges(params: Params): StripeList<Charge> {
    rejectUnknown(params, [...PAGE_PARAMS, 'created', 'payment_intent', 'customer', 'transfer_group']);
    const created = readRange(params, 'created');
    const paymentIntent = readString(params, 'payment_intent');
    const items = [...this.charges.values()].filter((c) => inRange(c.created, created) && (paymentIntent === undefined || c.payment_intent === paymentIntent));
    return this.#paginate(items, readPage(params), '/v1/charges');
  }

  // ─── Refunds ─────────────────────────────────────────────────────────────────────────────

  createRefund(params: Params, ctx: RequestContext): Refund {
    rejectUnknown(params, [
      'payment_intent', 'charge', 'amount', 'currency', 'customer', 'origin', 'reason', 'metadata', 'expand', 'instructions_email',
      'refund_application_fee', 'reverse_transfer',
    ]);
    const paymentIntentId = readString(params, 'payment_intent');
    const chargeId = readString(params, 'charge');
    const amountParam = readInteger(params, 'amount', { min: 1 });
    const reason = readEnum<RefundReason>(params, 'reason', ['duplicate', 'fraudulent', 'requested_by_customer']);
    const metadata = applyMetadata({}, readMetadata(params));
    if (!paymentIntentId && !chargeId) {
      throw invalidParam('One of the following params should be provided for this request: payment_intent or charge.', 'payment_intent');
    }
    let charge: Charge | undefined;
    let pi: PaymentIntent;
    if (chargeId) {
      charge = this.getCharge(chargeId);
      pi = this.getPaymentIntent(charge.payment_intent, 'payment_intent');
      if (paymentIntentId && paymentIntentId !== pi.id) {
        throw invalidRequest(`Charge ${charge.id} does not belong to PaymentIntent ${paymentIntentId}.`, { param: 'charge' });
      }
    } else {
      pi = this.getPaymentIntent(paymentIntentId!, 'payment_intent');
      charge = pi.latest_charge ? this.charges.get(pi.latest_charge) : undefined;
    }
    if (!charge || charge.status !== 'succeeded' || !charge.captured || pi.status !== 'succeeded') {
      throw invalidRequest(`This PaymentIntent (${pi.id}) does not have a successful charge to refund.`, { param: chargeId ? 'charge' : 'payment_intent' });
    }
    const remaining = charge.amount_captured - charge.amount_refunded;
    if (remaining <= 0) {
      throw invalidRequest(`Charge ${charge.id} has already been refunded.`, { code: 'charge_already_refunded', param: chargeId ? 'charge' : 'payment_intent' });
    }
    const amount = amountParam ?? remaining;
    if (amount > remaining) {
      throw invalidRequest(
        `Refund amount (${formatMoney(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatMoney(remaining, charge.currency)})`,
        { code: 'amount_too_large', param: 'amount' },
      );
    }
    const pending = this.#options.refundStartsPending?.() ?? false;
    const id = newId('re');
    const txn = this.#newTransaction({
      amount: -amount,
      fee: 0,
      currency: charge.currency,
      type: 'refund',
      source: id,
      description: 'REFUND FOR CHARGE',
    });
    const refund: Refund = {
      id,
      object: 'refund',
      amount,
      balance_transaction: txn.id,
      charge: charge.id,
      created: this.#seconds(),
      currency: charge.currency,
      destination_details: {
        card: { reference: pending ? null : randomToken(23, '0123456789'), reference_status: pending ? 'pending' : 'available', reference_type: 'acquirer_reference_number', type: 'refund' },
        type: 'card',
      },
      metadata,
      payment_intent: pi.id,
      reason: reason ?? null,
      receipt_number: null,
      source_transfer_reversal: null,
      status: pending ? 'pending' : 'succeeded',
      transfer_reversal: null,
    };
    this.refunds.set(id, refund);
    this.#track(id);
    this.counts.refundsCreated += 1;
    charge.amount_refunded += amount;
    charge.refunded = charge.amount_refunded >= charge.amount_captured;
    this.#emit('refund.created', refund, ctx);
    this.#emit('charge.refunded', charge, ctx);
    if (pending) this.#options.onRefundPending?.(refund);
    return refund;
  }

  /** Moves a pending refund to succeeded (event `refund.updated`); no-op otherwise. */
  settleRefund(id: string): Refund | undefined {
    const refund = this.refunds.get(id);
    if (!refund || refund.status !== 'pending') return refund;
    refund.status = 'succeeded';
    refund.destination_details.card.reference = randomToken(23, '0123456789');
    refund.destination_details.card.reference_status = 'available';
    this.#emit('refund.updated', refund, NO_REQUEST, { status: 'pending' });
    return refund;
  }

  getRefund(id: string): Refund {
    const refund = this.refunds.get(id);
    if (!refund) throw resourceMissing('refund', id, 'refund');
    return refund;
  }

  listRefunds(params: Params): StripeList<Refund> {
    rejectUnknown(params, [...PAGE_PARAMS, 'created', 'payment_intent', 'charge']);
    const created = readRange(params, 'created');
    const paymentIntent = readString(params, 'payment_intent');
    const charge = readString(params, 'charge');
    const items = [...this.refunds.values()].filter(
      (r) => inRange(r.created, created) && (paymentIntent === undefined || r.payment_intent === paymentIntent) && (charge === undefined || r.charge === charge),
    );
    return this.#paginate(items, readPage(params), '/v1/refunds');
  }

  // ─── Balance transactions and payouts ────────────────────────────────────────────────────

  #chargeTransaction(charge: Charge, amount: number): BalanceTransaction {
    return this.#newTransaction({
      amount,
      fee: processingFee(amount, charge.currency),
      currency: charge.currency,
      type: 'charge',
      source: charge.id,
      description: charge.description,
    });
  }

  #newTransaction(input: { amount: number; fee: number; currency: string; type: BalanceTransaction['type']; source: string; description: string | null }): BalanceTransaction {
    const created = this.#seconds();
    const id = newId('txn');
    const txn: BalanceTransaction = {
      id,
      object: 'balance_transaction',
      amount: input.amount,
      available_on: input.type === 'payout' ? created : created + AVAILABLE_AFTER_SECONDS,
      balance_type: 'payments',
      created,
      currency: input.currency,
      description: input.description,
      exchange_rate: null,
      fee: input.fee,
      fee_details: input.fee > 0 ? [{ amount: input.fee, application: null, currency: input.currency, description: 'Stripe processing fees', type: 'stripe_fee' }] : [],
      net: input.amount - input.fee,
      reporting_category: input.type === 'payout' ? 'payout' : input.type === 'refund' ? 'refund' : 'charge',
      source: input.source,
      status: 'pending',
      type: input.type,
    };
    this.balanceTransactions.set(id, txn);
    this.#track(id);
    this.#txnIndex.set(id, this.#txnList.length);
    this.#txnList.push(txn);
    return txn;
  }

  #withStatus(txn: BalanceTransaction): BalanceTransaction {
    const available = !this.#held.has(txn.id) && (txn.available_on <= this.#seconds() || this.#paidOut.has(txn.id));
    return { ...txn, status: available ? 'available' : 'pending' };
  }

  getBalanceTransaction(id: string): BalanceTransaction {
    const txn = this.balanceTransactions.get(id);
    if (!txn) throw resourceMissing('balance_transaction', id, 'id');
    return this.#withStatus(txn);
  }

  listBalanceTransactions(params: Params): StripeList<BalanceTransaction> {
    rejectUnknown(params, [...PAGE_PARAMS, 'created', 'payout', 'type', 'currency', 'source']);
    const created = readRange(params, 'created');
    const payout = readString(params, 'payout');
    const type = readString(params, 'type');
    const currency = readString(params, 'currency')?.toLowerCase();
    const source = readString(params, 'source');
    if (payout !== undefined && !this.payouts.has(payout)) throw resourceMissing('payout', payout, 'payout');
    const matches = (t: BalanceTransaction) =>
      inRange(t.created, created) &&
      (payout === undefined || this.#paidOut.get(t.id) === payout) &&
      (type === undefined || t.type === type) &&
      (currency === undefined || t.currency === currency) &&
      (source === undefined || t.source === source);
    const page = readPage(params);
    if (page.endingBefore !== undefined) {
      const list = this.#paginate([...this.balanceTransactions.values()].filter(matches), page, '/v1/balance_transactions');
      return { ...list, data: list.data.map((t) => this.#withStatus(t)) };
    }
    // Newest first, walking back from the cursor: a page costs its own length, not the history's (a
    // reconciliation pages through a large history).
    let from = this.#txnList.length - 1;
    if (page.startingAfter !== undefined) {
      let position = this.#txnIndex.get(page.startingAfter);
      if (position === undefined) {
        // Another object's id (Stripe allows any): the first transaction created after it.
        const cursor = this.#cursor(page.startingAfter, 'starting_after');
        let low = 0;
        let high = this.#txnList.length;
        while (low < high) {
          const mid = (low + high) >> 1;
          if ((this.#seq.get(this.#txnList[mid]!.id) ?? -1) < cursor) low = mid + 1;
          else high = mid;
        }
        position = low;
      }
      from = position - 1;
    }
    const window: BalanceTransaction[] = [];
    for (let i = from; i >= 0 && window.length <= page.limit; i--) {
      const txn = this.#txnList[i]!;
      if (matches(txn)) window.push(txn);
    }
    return {
      object: 'list',
      data: window.slice(0, page.limit).map((t) => this.#withStatus(clone(t))),
      has_more: window.length > page.limit,
      url: '/v1/balance_transactions',
    };
  }

  /**
   * Operator action: pays out every balance transaction not yet paid out, one payout per currency
   * (status `paid`, events `payout.created` and `payout.paid`). Reconciliation lists a payout's
   * transactions with `GET /v1/balance_transactions?payout=po_…`.
   */
  createPayouts(options: { currency?: string } = {}): Payout[] {
    const byCurrency = new Map<string, BalanceTransaction[]>();
    for (const txn of this.balanceTransactions.values()) {
      if (txn.type === 'payout' || this.#paidOut.has(txn.id)) continue;
      if (options.currency && txn.currency !== options.currency) continue;
      const list = byCurrency.get(txn.currency) ?? [];
      list.push(txn);
      byCurrency.set(txn.currency, list);
    }
    const payouts: Payout[] = [];
    for (const [currency, txns] of byCurrency) {
      const total = txns.reduce((sum, t) => sum + t.net, 0);
      if (total <= 0) continue;
      const id = newId('po');
      const txn = this.#newTransaction({ amount: -total, fee: 0, currency, type: 'payout', source: id, description: 'STRIPE PAYOUT' });
      const payout: Payout = {
        id,
        object: 'payout',
        amount: total,
        arrival_date: this.#seconds(),
        automatic: true,
        balance_transaction: txn.id,
        created: this.#seconds(),
        currency,
        description: 'STRIPE PAYOUT',
        destination: 'ba_sandbox',
        failure_balance_transaction: null,
        failure_code: null,
        failure_message: null,
        livemode: false,
        metadata: {},
        method: 'standard',
        reconciliation_status: 'completed',
        source_type: 'card',
        statement_descriptor: null,
        status: 'paid',
        type: 'bank_account',
      };
      this.payouts.set(id, payout);
      this.#track(id);
      this.counts.payoutsCreated += 1;
      for (const t of txns) this.#paidOut.set(t.id, id);
      this.#paidOut.set(txn.id, id);
      this.#emit('payout.created', { ...payout, status: 'pending' }, NO_REQUEST);
      this.#emit('payout.paid', payout, NO_REQUEST);
      payouts.push(payout);
    }
    return payouts;
  }

  getPayout(id: string): Payout {
    const payout = this.payouts.get(id);
    if (!payout) throw resourceMissing('payout', id, 'payout');
    return payout;
  }

  // ─── History and drift (control endpoints, tests, benchmarks) ──────────────────────────────

  /**
   * A payment that happened at `createdMs`: a succeeded PaymentIntent with its Charge and balance
   * transaction, as the card flow makes them, but without Events (it is history, nothing to deliver).
   */
  seedPayment(input: { amount: number; currency: string; createdMs: number; metadata?: Record<string, string> }): PaymentIntent {
    return this.#seeding(input.createdMs, () =>
      this.createPaymentIntent(
        {
          amount: String(input.amount),
          currency: input.currency.toLowerCase(),
          capture_method: 'automatic',
          payment_method: 'pm_card_visa',
          confirm: 'true',
          ...(input.metadata ? { metadata: input.metadata } : {}),
        },
        NO_REQUEST,
      ),
    );
  }

  /** A refund that happened at `createdMs` (history: no Events). */
  seedRefund(input: { paymentIntent: string; amount?: number; createdMs: number }): Refund {
    return this.#seeding(input.createdMs, () =>
      this.createRefund({ payment_intent: input.paymentIntent, ...(input.amount ? { amount: String(input.amount) } : {}) }, NO_REQUEST),
    );
  }

  /** The balance transaction of a PaymentIntent's captured charge. */
  chargeTransactionOf(paymentIntentId: string): BalanceTransaction {
    const pi = this.paymentIntents.get(paymentIntentId);
    const charge = pi?.latest_charge ? this.charges.get(pi.latest_charge) : undefined;
    const txn = charge?.balance_transaction ? this.balanceTransactions.get(charge.balance_transaction) : undefined;
    if (!pi || !txn) throw new TransitionError(404, `No captured charge for '${paymentIntentId}'`);
    return txn;
  }

  /** Drift: Stripe captured another amount than the merchant's books say (the charge, the intent and its transaction agree). */
  driftAmount(paymentIntentId: string, amount: number): BalanceTransaction {
    const txn = this.chargeTransactionOf(paymentIntentId);
    const pi = this.paymentIntents.get(paymentIntentId)!;
    const charge = this.charges.get(pi.latest_charge!)!;
    txn.amount = amount;
    txn.fee = processingFee(amount, txn.currency);
    txn.net = amount - txn.fee;
    charge.amount_captured = amount;
    pi.amount_received = amount;
    return txn;
  }

  /** Drift: the transaction settled in another currency. */
  driftCurrency(paymentIntentId: string, currency: string): BalanceTransaction {
    const txn = this.chargeTransactionOf(paymentIntentId);
    txn.currency = currency.toLowerCase();
    return txn;
  }

  /** Drift: the funds are held back: the transaction stays `pending` past its `available_on`. */
  driftUnsettled(paymentIntentId: string): BalanceTransaction {
    const txn = this.chargeTransactionOf(paymentIntentId);
    this.#held.add(txn.id);
    return this.#withStatus(txn);
  }

  // ─── Events ──────────────────────────────────────────────────────────────────────────────

  #emit(type: EventType, object: StripeObject, ctx: RequestContext, previous?: Record<string, unknown>): StripeEvent | undefined {
    if (this.#silent) return undefined;
    const event: StripeEvent = {
      id: newId('evt'),
      object: 'event',
      api_version: this.#options.apiVersion,
      created: this.#seconds(),
      data: previous ? { object: clone(object), previous_attributes: previous } : { object: clone(object) },
      livemode: false,
      pending_webhooks: this.#options.webhooksEnabled === false ? 0 : 1,
      request: { id: ctx.requestId, idempotency_key: ctx.idempotencyKey },
      type,
    };
    this.events.set(event.id, event);
    this.#track(event.id);
    this.counts.eventsCreated += 1;
    this.#options.onEvent?.(event);
    return event;
  }

  markDelivered(eventId: string): void {
    const event = this.events.get(eventId);
    if (event) event.pending_webhooks = 0;
  }

  getEvent(id: string): StripeEvent {
    const event = this.events.get(id);
    if (!event) throw resourceMissing('event', id, 'id');
    return event;
  }

  listEvents(params: Params): StripeList<StripeEvent> {
    rejectUnknown(params, [...PAGE_PARAMS, 'created', 'type', 'types', 'delivery_success']);
    const created = readRange(params, 'created');
    const type = readString(params, 'type');
    const types = readStringArray(params, 'types');
    const matchesType = (t: string) => {
      if (types) return types.includes(t);
      if (!type) return true;
      if (type.endsWith('*')) return t.startsWith(type.slice(0, -1));
      return t === type;
    };
    const items = [...this.events.values()].filter((e) => inRange(e.created, created) && matchesType(e.type));
    return this.#paginate(items, readPage(params), '/v1/events');
  }

  // ─── Helpers ─────────────────────────────────────────────────────────────────────────────

  #readAmount(params: Params, name: string, required: boolean): number | undefined {
    return readInteger(params, name, { required, min: 1, max: 99_999_999 });
  }

  #readCurrency(params: Params): string {
    const raw = readString(params, 'currency', { required: true })!;
    const currency = raw.toLowerCase();
    if (!SUPPORTED_CURRENCIES.has(currency)) {
      throw invalidParam(`Invalid currency: ${raw}. Stripe currently supports these currencies: ${[...SUPPORTED_CURRENCIES].join(', ')}`, 'currency');
    }
    return currency;
  }

  /** Cursor pagination over `items` (oldest first as stored); lists come back newest first. */
  #paginate<T extends { id: string }>(items: T[], page: PageParams, url: string): StripeList<T> {
    const seq = (id: string) => this.#seq.get(id) ?? -1;
    const newestFirst = [...items].sort((a, b) => seq(b.id) - seq(a.id));
    let window: T[];
    let hasMore: boolean;
    if (page.startingAfter !== undefined) {
      const cursor = this.#cursor(page.startingAfter, 'starting_after');
      const older = newestFirst.filter((item) => seq(item.id) < cursor);
      window = older.slice(0, page.limit);
      hasMore = older.length > page.limit;
    } else if (page.endingBefore !== undefined) {
      const cursor = this.#cursor(page.endingBefore, 'ending_before');
      const newer = newestFirst.filter((item) => seq(item.id) > cursor);
      window = newer.slice(Math.max(0, newer.length - page.limit));
      hasMore = newer.length > page.limit;
    } else {
      window = newestFirst.slice(0, page.limit);
      hasMore = newestFirst.length > page.limit;
    }
    return { object: 'list', data: window.map((item) => clone(item)), has_more: hasMore, url };
  }

  #cursor(id: string, param: string): number {
    const position = this.#seq.get(id);
    if (position === undefined) {
      const kind = { pi: 'payment_intent', ch: 'charge', re: 'refund', txn: 'balance_transaction', evt: 'event', po: 'payout' }[id.split('_')[0] ?? ''] ?? 'object';
      throw resourceMissing(kind, id, param);
    }
    return position;
  }

  /** Resolves `expand[]` paths (`latest_charge`, `data.balance_transaction`, `charge.payment_intent`…). */
  expand<T>(value: T, paths: readonly string[]): T {
    if (paths.length === 0) return value;
    const out = clone(value) as Record<string, unknown>;
    for (const path of paths) {
      const [head, ...rest] = path.split('.');
      if (!head) continue;
      if (out.object === 'list' && head === 'data' && Array.isArray(out.data)) {
        out.data = out.data.map((item: unknown) => this.expand(item, rest.length ? [rest.join('.')] : []));
        continue;
      }
      const current = out[head];
      if (current === null) continue;
      if (typeof current === 'string') {
        out[head] = rest.length ? this.expand(this.#lookup(current, path), [rest.join('.')]) : this.#lookup(current, path);
      } else if (current !== null && typeof current === 'object' && rest.length) {
        out[head] = this.expand(current, [rest.join('.')]);
      } else if (current === undefined) {
        throw invalidParam(`This property cannot be expanded (${head}).`, 'expand');
      }
    }
    return out as T;
  }

  #lookup(id: string, path: string): unknown {
    const prefix = id.split('_')[0];
    const found =
      prefix === 'pi' ? this.paymentIntents.get(id)
      : prefix === 'ch' ? this.charges.get(id)
      : prefix === 're' ? this.refunds.get(id)
      : prefix === 'txn' ? this.balanceTransactions.get(id) && this.#withStatus(this.balanceTransactions.get(id)!)
      : prefix === 'po' ? this.payouts.get(id)
      : undefined;
    if (!found) throw invalidParam(`This property cannot be expanded (${path}).`, 'expand');
    return clone(found);
  }
}
