// The PayPal sandbox's state and state machine: Orders v2 (orders, their authorizations and
// captures), Payments v2 refunds, webhook events and the transaction-search ledger, in memory.
// Synchronous and free of HTTP: plugin.ts maps requests to calls and renders what they return.
//
// The order lifecycle as PayPal runs it: CREATED (or PAYER_ACTION_REQUIRED with payment_source)
// → the payer approves on PayPal (here: the `succeed`/`fail` controls) → APPROVED → the merchant
// captures (intent CAPTURE) or authorizes (intent AUTHORIZE) → COMPLETED. COMPLETED says the
// intent ran, not that money moved: a declined capture also leaves the order COMPLETED.
import { randomToken } from '../shared/ids';
import { SandboxRefusal } from '../shared/errors';
import { mapEntries, refill } from '../shared/persistence';
import type { RefundSettlementHooks } from '../shared/upkeep';
import {
  invalidParameter,
  missingParameter,
  resourceNotFound,
  unprocessable,
  type PayPalApiError,
} from './errors';
import type {
  Amount,
  DeclineMode,
  EventType,
  Intent,
  OrderStatus,
  PayPalLink,
  PayPalMoney,
  ResourceType,
  StoredAuthorization,
  StoredCapture,
  StoredOrder,
  StoredRefund,
  TransactionRecord,
  WebhookEvent,
} from './objects';

/** A control (payer/operator) action that does not apply: 404 unknown id, 409 wrong state. */
export class TransitionError extends SandboxRefusal {
  override readonly name = 'TransitionError';
  constructor(statusCode: 404 | 409, message: string, details: Record<string, unknown> = {}) {
    super(statusCode, message, details);
  }
}

export type View = 'minimal' | 'representation';

const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** PayPal ids: 17 upper-case alphanumerics (`5O190127TN364715T`). */
export const paypalId = (): string => randomToken(17, ID_ALPHABET);

/** PayPal's supported currencies and the decimals it accepts (HUF, JPY and TWD take none). */
export const CURRENCY_DECIMALS: Readonly<Record<string, number>> = {
  AUD: 2, BRL: 2, CAD: 2, CNY: 2, CZK: 2, DKK: 2, EUR: 2, HKD: 2, HUF: 0, ILS: 2, JPY: 0, MYR: 2, MXN: 2,
  TWD: 0, NZD: 2, NOK: 2, PHP: 2, PLN: 2, GBP: 2, RUB: 2, SGD: 2, SEK: 2, CHF: 2, THB: 2, USD: 2,
};
/** Fixed part of the fee in minor units; the variable part is 3.49 %. */
const FIXED_FEE: Record<string, number> = { USD: 49, EUR: 39, GBP: 30, SEK: 325, NOK: 390, DKK: 260, JPY: 40, HUF: 100, TWD: 10 };
const AUTHORIZATION_VALIDITY_MS = 29 * 86_400_000;
const MAX_PURCHASE_UNIT_TEXT = 127;

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function formatAmount(amount: Amount): PayPalMoney {
  const decimals = CURRENCY_DECIMALS[amount.currency] ?? 2;
  const negative = amount.minor < 0;
  const digits = String(Math.abs(amount.minor)).padStart(decimals + 1, '0');
  const value = decimals === 0 ? digits : `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
  return { currency_code: amount.currency, value: negative ? `-${value}` : value };
}

/** Reads `{ currency_code, value }` as PayPal validates it. */
export function parseMoney(input: unknown, field: string): Amount {
  if (input === undefined || input === null) throw missingParameter(field);
  if (typeof input !== 'object' || Array.isArray(input)) throw invalidParameter(field, JSON.stringify(input), 'The value of a field is invalid.', 'INVALID_PARAMETER_SYNTAX');
  const { currency_code: currency, value } = input as { currency_code?: unknown; value?: unknown };
  if (currency === undefined) throw missingParameter(`${field}/currency_code`);
  if (value === undefined) throw missingParameter(`${field}/value`);
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
    throw invalidParameter(`${field}/currency_code`, currency, 'The value of a field does not conform to the expected format.', 'INVALID_PARAMETER_SYNTAX');
  }
  const decimals = CURRENCY_DECIMALS[currency];
  if (decimals === undefined) {
    throw unprocessable('CURRENCY_NOT_SUPPORTED', 'Currency code is invalid or is not currently supported. Please refer https://developer.paypal.com/api/rest/reference/currency-codes/ for list of supported currency codes.', { executed: false, field: `${field}/currency_code`, value: currency });
  }
  if (typeof value !== 'string' || !/^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$/.test(value) || value.length > 32) {
    throw invalidParameter(`${field}/value`, value, 'The value of a field does not conform to the expected format.', 'INVALID_PARAMETER_SYNTAX');
  }
  const [whole = '0', fraction = ''] = value.replace(/^-/, '').split('.');
  if (decimals === 0 && fraction.length > 0) {
    throw unprocessable('DECIMALS_NOT_SUPPORTED', 'Currency does not support decimals.', { executed: false, field: `${field}/value`, value });
  }
  if (fraction.length > decimals) {
    throw unprocessable('DECIMAL_PRECISION', 'If the currency supports decimals, only two decimal place precision is supported.', { executed: false, field: `${field}/value`, value });
  }
  const minor = Number((whole || '0') + fraction.padEnd(decimals, '0'));
  if (value.startsWith('-') || minor <= 0) {
    throw unprocessable('CANNOT_BE_ZERO_OR_NEGATIVE', 'Must be greater than zero. If the currency supports decimals, only two decimal place precision is supported.', { executed: false, field: `${field}/value`, value });
  }
  if (!Number.isSafeInteger(minor) || minor > 10 ** (10 + decimals)) {
    throw invalidParameter(`${field}/value`, value, 'The value of a field is too long.', 'INVALID_STRING_MAX_LENGTH');
  }
  return { minor, currency };
}

function optionalString(body: Record<string, unknown>, name: string, field: string, max: number): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParameter(field, JSON.stringify(value), 'The value of a field does not conform to the expected format.', 'INVALID_PARAMETER_SYNTAX');
  if (value.length > max) throw invalidParameter(field, value, `The value of a field is too long. Maximum length is ${max}.`, 'INVALID_STRING_MAX_LENGTH');
  return value;
}

function asObject(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidParameter(field, JSON.stringify(value), 'The value of a field does not conform to the expected format.', 'INVALID_PARAMETER_SYNTAX');
  return value as Record<string, unknown>;
}

/** The sandbox decides which refunds stay pending and settles them later (shared/upkeep.ts). */
export interface PayPalStoreOptions extends RefundSettlementHooks<StoredRefund> {
  /** The API base the client uses (e.g. `http://127.0.0.1:4010/paypal`), for HATEOAS links. */
  baseUrl: () => string;
  now?: () => number;
  merchant?: { email: string; merchantId: string };
  onEvent?: (event: WebhookEvent) => void;
}

export interface TransactionSearchParams {
  start_date?: string;
  end_date?: string;
  page?: string;
  page_size?: string;
  transaction_id?: string;
}

export class PayPalStore {
  readonly orders = new Map<string, StoredOrder>();
  readonly captures = new Map<string, StoredCapture>();
  readonly authorizations = new Map<string, StoredAuthorization>();
  readonly refunds = new Map<string, StoredRefund>();
  readonly events = new Map<string, WebhookEvent>();
  readonly transactions: TransactionRecord[] = [];
  counts = { ordersCreated: 0, ordersApproved: 0, capturesCreated: 0, authorizationsCreated: 0, refundsCreated: 0, eventsCreated: 0 };

  readonly #options: PayPalStoreOptions;
  readonly #now: () => number;
  readonly #merchant: { email: string; merchantId: string };

  /** While seeding history: the clock objects are created at, and no Events (nothing to deliver). */
  #clockOverrideMs: number | undefined;
  #silent = false;

  constructor(options: PayPalStoreOptions) {
    this.#options = options;
    const clock = options.now ?? Date.now;
    this.#now = () => this.#clockOverrideMs ?? clock();
    this.#merchant = options.merchant ?? { email: 'merchant@skerry.example', merchantId: 'SKERRYSANDBOX' };
  }

  reset(): void {
    for (const map of [this.orders, this.captures, this.authorizations, this.refunds, this.events]) map.clear();
    this.transactions.length = 0;
    this.counts = { ordersCreated: 0, ordersApproved: 0, capturesCreated: 0, authorizationsCreated: 0, refundsCreated: 0, eventsCreated: 0 };
  }

  /** Everything PayPal would still know after a restart (shared/persistence.ts). */
  snapshot(): unknown {
    return {
      orders: mapEntries(this.orders),
      captures: mapEntries(this.captures),
      authorizations: mapEntries(this.authorizations),
      refunds: mapEntries(this.refunds),
      events: mapEntries(this.events),
      transactions: this.transactions,
      counts: this.counts,
    };
  }

  restore(state: unknown): void {
    const saved = (state ?? {}) as Record<string, unknown> & { transactions?: TransactionRecord[]; counts?: Partial<PayPalStore['counts']> };
    refill(this.orders, saved.orders);
    refill(this.captures, saved.captures);
    refill(this.authorizations, saved.authorizations);
    refill(this.refunds, saved.refunds);
    refill(this.events, saved.events);
    this.transactions.splice(0, this.transactions.length, ...(saved.transactions ?? []));
    this.counts = { ...this.counts, ...saved.counts };
  }

  /** What kind of resource an id names, for replaying an idempotent request with its latest state. */
  kindOf(id: string): ResourceType | undefined {
    if (this.orders.has(id)) return 'checkout-order';
    if (this.captures.has(id)) return 'capture';
    if (this.authorizations.has(id)) return 'authorization';
    if (this.refunds.has(id)) return 'refund';
    return undefined;
  }

  // ─── Orders ──────────────────────────────────────────────────────────────────────────────

  createOrder(input: unknown): StoredOrder {
    const body = asObject(input, '/');
    if (body.intent === undefined) throw missingParameter('/intent');
    if (body.intent !== 'CAPTURE' && body.intent !== 'AUTHORIZE') {
      throw invalidParameter('/intent', String(body.intent), 'The value of a field is invalid. Accepted values: CAPTURE, AUTHORIZE.');
    }
    const units = body.purchase_units;
    if (units === undefined) throw missingParameter('/purchase_units');
    if (!Array.isArray(units) || units.length === 0) throw invalidParameter('/purchase_units', JSON.stringify(units), 'purchase_units must contain at least one purchase unit.', 'INVALID_ARRAY_MIN_ITEMS');
    if (units.length > 1) {
      throw invalidParameter('/purchase_units', String(units.length), "Skerry's PayPal sandbox supports one purchase unit per order.", 'INVALID_ARRAY_MAX_ITEMS');
    }
    const unit = asObject(units[0], '/purchase_units/0');
    const referenceId = optionalString(unit, 'reference_id', '/purchase_units/@reference_id/reference_id', 256) ?? 'default';
    const path = `/purchase_units/@reference_id=='${referenceId}'`;
    const amount = parseMoney(unit.amount, `${path}/amount`);
    const customId = optionalString(unit, 'custom_id', `${path}/custom_id`, 255);
    const invoiceId = optionalString(unit, 'invoice_id', `${path}/invoice_id`, 127);
    const description = optionalString(unit, 'description', `${path}/description`, 3_000)?.slice(0, MAX_PURCHASE_UNIT_TEXT);
    const softDescriptor = optionalString(unit, 'soft_descriptor', `${path}/soft_descriptor`, 127)?.slice(0, 22);
    if (invoiceId !== undefined && [...this.orders.values()].some((order) => order.invoiceId === invoiceId)) {
      throw unprocessable('DUPLICATE_INVOICE_ID', 'Duplicate Invoice ID detected. To avoid a potential duplicate transaction your account setting requires that Invoice ID be unique for each transaction.', { executed: false, field: `${path}/invoice_id`, value: invoiceId });
    }

    const paymentSource = asObject(body.payment_source, '/payment_source');
    const wallet = paymentSource.paypal === undefined ? undefined : asObject(paymentSource.paypal, '/payment_source/paypal');
    const context = wallet ? asObject(wallet.experience_context, '/payment_source/paypal/experience_context') : asObject(body.application_context, '/application_context');
    const experience = {
      returnUrl: optionalString(context, 'return_url', '/payment_source/paypal/experience_context/return_url', 4_000),
      cancelUrl: optionalString(context, 'cancel_url', '/payment_source/paypal/experience_context/cancel_url', 4_000),
      userAction: optionalString(context, 'user_action', '/payment_source/paypal/experience_context/user_action', 20),
      brandName: optionalString(context, 'brand_name', '/payment_source/paypal/experience_context/brand_name', 127),
    };

    const now = this.#now();
    const order: StoredOrder = {
      id: paypalId(),
      intent: body.intent as Intent,
      status: wallet ? 'PAYER_ACTION_REQUIRED' : 'CREATED',
      createdAt: now,
      updatedAt: now,
      referenceId,
      amount,
      description,
      customId,
      invoiceId,
      softDescriptor,
      experience: wallet ? experience : undefined,
      captureIds: [],
      authorizationIds: [],
      flags: { abandoned: false, decline: null },
    };
    this.orders.set(order.id, order);
    this.counts.ordersCreated += 1;
    return order;
  }

  getOrder(id: string): StoredOrder {
    const order = this.orders.get(id);
    if (!order) throw resourceNotFound();
    return order;
  }

  captureOrder(id: string, input: unknown): StoredOrder {
    asObject(input, '/');
    const order = this.getOrder(id);
    if (order.intent !== 'CAPTURE') {
      throw unprocessable('ACTION_DOES_NOT_MATCH_INTENT', "Order was created with an intent to 'AUTHORIZE'. Please use v2/checkout/orders/order_id/authorize to complete the transaction or alternately Create an order with an intent of 'CAPTURE'.", { executed: false });
    }
    this.#requireApproved(order, 'ORDER_ALREADY_CAPTURED', "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.");
    if (order.flags.decline === 'instrument_declined') throw this.#instrumentDeclined();

    const now = this.#now();
    const denied = order.flags.decline === 'capture_denied';
    const capture: StoredCapture = {
      id: paypalId(),
      orderId: order.id,
      status: denied ? 'DECLINED' : 'COMPLETED',
      statusReason: denied ? 'DECLINED_BY_RISK_FRAUD_FILTERS' : undefined,
      amount: { ...order.amount },
      fee: denied ? 0 : this.#fee(order.amount),
      finalCapture: true,
      invoiceId: order.invoiceId,
      customId: order.customId,
      refundIds: [],
      createdAt: now,
      updatedAt: now,
    };
    this.captures.set(capture.id, capture);
    this.counts.capturesCreated += 1;
    order.captureIds.push(capture.id);
    order.status = 'COMPLETED';
    order.updatedAt = now;
    this.#recordCapture(capture, order);
    this.#emitCapture(capture);
    return order;
  }

  authorizeOrder(id: string, input: unknown): StoredOrder {
    asObject(input, '/');
    const order = this.getOrder(id);
    if (order.intent !== 'AUTHORIZE') {
      throw unprocessable('ACTION_DOES_NOT_MATCH_INTENT', "Order was created with an intent to 'CAPTURE'. Please use v2/checkout/orders/order_id/capture to complete the transaction or alternately Create an order with an intent of 'AUTHORIZE'.", { executed: false });
    }
    this.#requireApproved(order, 'ORDER_ALREADY_AUTHORIZED', 'Order already authorized.If \'intent=AUTHORIZE\' only one authorization per order is allowed.');
    if (order.flags.decline === 'instrument_declined') throw this.#instrumentDeclined();

    const now = this.#now();
    const denied = order.flags.decline === 'capture_denied';
    const authorization: StoredAuthorization = {
      id: paypalId(),
      orderId: order.id,
      status: denied ? 'DENIED' : 'CREATED',
      statusReason: denied ? 'DECLINED_BY_RISK_FRAUD_FILTERS' : undefined,
      amount: { ...order.amount },
      invoiceId: order.invoiceId,
      customId: order.customId,
      captureIds: [],
      createdAt: now,
      updatedAt: now,
      expiresAt: now + AUTHORIZATION_VALIDITY_MS,
    };
    this.authorizations.set(authorization.id, authorization);
    this.counts.authorizationsCreated += 1;
    order.authorizationIds.push(authorization.id);
    order.status = 'COMPLETED';
    order.updatedAt = now;
    if (!denied) {
      this.#emit('PAYMENT.AUTHORIZATION.CREATED', 'authorization', this.renderAuthorization(authorization), `Payment authorization created for ${this.#summaryMoney(authorization.amount)}`);
    }
    return order;
  }

  #requireApproved(order: StoredOrder, doneIssue: string, doneDescription: string): void {
    if (order.status === 'APPROVED') return;
    if (order.status === 'COMPLETED') throw unprocessable(doneIssue, doneDescription, { executed: false });
    if (order.status === 'VOIDED') throw unprocessable('ORDER_COMPLETED_OR_VOIDED', 'Order is voided or completed and hence cannot be processed.', { executed: false });
    throw unprocessable(
      'ORDER_NOT_APPROVED',
      "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call or provide a valid payment_source in the request.",
      { executed: false },
    );
  }

  // Nothing ran (no capture, no authorization), so the answer is not kept under the PayPal-Request-Id:
  // after the payer approves again with another funding source, the merchant's next call is a new attempt.
  #instrumentDeclined(): PayPalApiError {
    return unprocessable(
      'INSTRUMENT_DECLINED',
      "The instrument presented  was either declined by the processor or bank, or it can't be used for this payment.",
      { executed: false },
    );
  }

  // ─── Authorizations and captures ─────────────────────────────────────────────────────────

  getAuthorization(id: string): StoredAuthorization {
    const authorization = this.authorizations.get(id);
    if (!authorization) throw resourceNotFound();
    return authorization;
  }

  captureAuthorization(id: string, input: unknown): StoredCapture {
    const body = asObject(input, '/');
    const authorization = this.getAuthorization(id);
    const order = this.getOrder(authorization.orderId);
    if (authorization.status === 'VOIDED') throw unprocessable('AUTHORIZATION_VOIDED', 'A voided authorization cannot be captured or reauthorized.', { executed: false });
    if (authorization.status === 'CAPTURED') throw unprocessable('AUTHORIZATION_ALREADY_CAPTURED', 'Authorization has been previously captured and hence cannot be captured again.', { executed: false });
    if (authorization.status === 'DENIED') throw unprocessable('AUTHORIZATION_DENIED', 'A denied authorization cannot be captured.', { executed: false });
    if (authorization.status === 'PENDING') throw unprocessable('PENDING_AUTHORIZATION', 'The authorization is pending and cannot be captured yet.', { executed: false });
    if (this.#now() > authorization.expiresAt) throw unprocessable('AUTHORIZATION_EXPIRED', 'An expired authorization cannot be captured.', { executed: false });

    const captured = authorization.captureIds.reduce((sum, captureId) => sum + (this.captures.get(captureId)?.amount.minor ?? 0), 0);
    const remaining = authorization.amount.minor - captured;
    const amount = body.amount === undefined ? { minor: remaining, currency: authorization.amount.currency } : parseMoney(body.amount, '/amount');
    if (amount.currency !== authorization.amount.currency) {
      throw unprocessable('CURRENCY_MISMATCH', 'Currency of capture must be the same as currency of authorization.', { executed: false, field: '/amount/currency_code', value: amount.currency });
    }
    // PayPal lets a merchant capture up to 115 % of the authorization (at most 75 units more).
    const decimals = CURRENCY_DECIMALS[amount.currency] ?? 2;
    const ceiling = Math.min(Math.floor(authorization.amount.minor * 1.15), authorization.amount.minor + 75 * 10 ** decimals) - captured;
    if (amount.minor > ceiling) {
      throw unprocessable('MAX_CAPTURE_AMOUNT_EXCEEDED', 'Capture amount exceeds allowable limit. Please contact customer service or your account manager to change the limit.', { executed: false, field: '/amount/value', value: formatAmount(amount).value });
    }
    const finalCapture = body.final_capture === true || body.final_capture === 'true';
    const now = this.#now();
    const capture: StoredCapture = {
      id: paypalId(),
      orderId: order.id,
      authorizationId: authorization.id,
      status: 'COMPLETED',
      amount,
      fee: this.#fee(amount),
      finalCapture,
      invoiceId: optionalString(body, 'invoice_id', '/invoice_id', 127) ?? authorization.invoiceId,
      customId: authorization.customId,
      refundIds: [],
      createdAt: now,
      updatedAt: now,
    };
    this.captures.set(capture.id, capture);
    this.counts.capturesCreated += 1;
    authorization.captureIds.push(capture.id);
    order.captureIds.push(capture.id);
    authorization.status = finalCapture || captured + amount.minor >= authorization.amount.minor ? 'CAPTURED' : 'PARTIALLY_CAPTURED';
    authorization.updatedAt = now;
    order.updatedAt = now;
    this.#recordCapture(capture, order);
    this.#emitCapture(capture);
    return capture;
  }

  voidAuthorization(id: string): StoredAuthorization {
    const authorization = this.getAuthorization(id);
    if (authorization.status === 'CAPTURED') throw unprocessable('PREVIOUSLY_CAPTURED', 'Authorization has been previously captured and hence cannot be voided.', { executed: false });
    if (authorization.status === 'VOIDED') throw unprocessable('PREVIOUSLY_VOIDED', 'Authorization has been previously voided and hence cannot be voided again.', { executed: false });
    if (authorization.status !== 'CREATED' && authorization.status !== 'PENDING') {
      throw unprocessable('CANNOT_BE_VOIDED', `An authorization in status ${authorization.status} cannot be voided.`, { executed: false });
    }
    authorization.status = 'VOIDED';
    authorization.updatedAt = this.#now();
    this.getOrder(authorization.orderId).updatedAt = authorization.updatedAt;
    this.#emit('PAYMENT.AUTHORIZATION.VOIDED', 'authorization', this.renderAuthorization(authorization), `A payment authorization was voided`);
    return authorization;
  }

  getCapture(id: string): StoredCapture {
    const capture = this.captures.get(id);
    if (!capture) throw resourceNotFound();
    return capture;
  }

  #emitCapture(capture: StoredCapture): void {
    if (capture.status === 'COMPLETED') {
      this.#emit('PAYMENT.CAPTURE.COMPLETED', 'capture', this.renderCapture(capture), `Payment completed for ${this.#summaryMoney(capture.amount)}`);
    } else if (capture.status === 'DECLINED') {
      this.#emit('PAYMENT.CAPTURE.DENIED', 'capture', this.renderCapture(capture), `A ${this.#summaryMoney(capture.amount)} capture payment was denied`);
    }
  }

  // ─── Refunds ─────────────────────────────────────────────────────────────────────────────

  refundCapture(id: string, input: unknown): StoredRefund {
    const body = asObject(input, '/');
    const capture = this.getCapture(id);
    if (capture.status === 'REFUNDED') throw unprocessable('CAPTURE_FULLY_REFUNDED', 'The capture has already been fully refunded.', { executed: false });
    if (capture.status === 'PENDING') throw unprocessable('PENDING_CAPTURE', 'Cannot initiate a refund as the capture is pending. Capture is typically pending when the payer has funded the transaction by using an e-check or bank account.', { executed: false });
    if (capture.status !== 'COMPLETED' && capture.status !== 'PARTIALLY_REFUNDED') {
      throw unprocessable('REFUND_NOT_ALLOWED', `A capture in status ${capture.status} cannot be refunded.`, { executed: false });
    }
    const open = capture.refundIds
      .map((refundId) => this.refunds.get(refundId)!)
      .filter((refund) => refund.status === 'COMPLETED' || refund.status === 'PENDING')
      .reduce((sum, refund) => sum + refund.amount.minor, 0);
    const remaining = capture.amount.minor - open;
    const amount = body.amount === undefined ? { minor: remaining, currency: capture.amount.currency } : parseMoney(body.amount, '/amount');
    if (amount.currency !== capture.amount.currency) {
      throw unprocessable('CURRENCY_MISMATCH', 'Refund must be in the same currency as the capture.', { executed: false, field: '/amount/currency_code', value: amount.currency });
    }
    if (amount.minor > remaining) {
      throw unprocessable('REFUND_AMOUNT_EXCEEDED', 'The refund amount must be less than or equal to the capture amount that has not yet been refunded.', { executed: false, field: '/amount/value', value: formatAmount(amount).value });
    }
    const pending = this.#options.refundStartsPending?.() ?? false;
    const now = this.#now();
    const refund: StoredRefund = {
      id: paypalId(),
      captureId: capture.id,
      orderId: capture.orderId,
      status: pending ? 'PENDING' : 'COMPLETED',
      statusReason: pending ? 'ECHECK' : undefined,
      amount,
      invoiceId: optionalString(body, 'invoice_id', '/invoice_id', 127) ?? capture.invoiceId,
      customId: optionalString(body, 'custom_id', '/custom_id', 127) ?? capture.customId,
      noteToPayer: optionalString(body, 'note_to_payer', '/note_to_payer', 255),
      createdAt: now,
      updatedAt: now,
    };
    this.refunds.set(refund.id, refund);
    this.counts.refundsCreated += 1;
    capture.refundIds.push(refund.id);
    this.transactions.push({
      transactionId: refund.id,
      eventCode: 'T1107',
      referenceId: capture.id,
      initiatedAt: now,
      updatedAt: now,
      amount: { minor: -amount.minor, currency: amount.currency },
      fee: 0,
      status: pending ? 'P' : 'S',
      invoiceId: refund.invoiceId,
      customField: refund.customId,
    });
    if (pending) this.#options.onRefundPending?.(refund);
    else this.#completeRefund(refund);
    return refund;
  }

  /** Completes a pending refund (PAYMENT.CAPTURE.REFUNDED); no-op otherwise. */
  settleRefund(id: string): StoredRefund | undefined {
    const refund = this.refunds.get(id);
    if (!refund || refund.status !== 'PENDING') return refund;
    refund.status = 'COMPLETED';
    refund.statusReason = undefined;
    refund.updatedAt = this.#now();
    const record = this.transactions.find((txn) => txn.transactionId === refund.id);
    if (record) {
      record.status = 'S';
      record.updatedAt = refund.updatedAt;
    }
    this.#completeRefund(refund);
    return refund;
  }

  #completeRefund(refund: StoredRefund): void {
    const capture = this.getCapture(refund.captureId);
    const refunded = this.#refundedOf(capture);
    capture.status = refunded >= capture.amount.minor ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
    capture.updatedAt = refund.updatedAt;
    this.getOrder(capture.orderId).updatedAt = refund.updatedAt;
    this.#emit('PAYMENT.CAPTURE.REFUNDED', 'refund', this.renderRefund(refund), `A ${this.#summaryMoney(refund.amount)} capture payment was refunded`);
  }

  #refundedOf(capture: StoredCapture): number {
    return capture.refundIds
      .map((refundId) => this.refunds.get(refundId)!)
      .filter((refund) => refund.status === 'COMPLETED')
      .reduce((sum, refund) => sum + refund.amount.minor, 0);
  }

  getRefund(id: string): StoredRefund {
    const refund = this.refunds.get(id);
    if (!refund) throw resourceNotFound();
    return refund;
  }

  // ─── The payer (controls) ────────────────────────────────────────────────────────────────

  #forControl(id: string): StoredOrder {
    const order = this.orders.get(id);
    if (!order) throw new TransitionError(404, `No such order: '${id}'`);
    return order;
  }

  #refuse(order: StoredOrder, action: string, expected: string): never {
    throw new TransitionError(409, `Cannot ${action} order ${order.id}: it is ${order.status}${order.flags.abandoned ? ' (abandoned by the payer)' : ''}; expected ${expected}.`, {
      orderId: order.id,
      status: order.status,
      sandbox: { ...order.flags },
    });
  }

  /**
   * The payer approves on PayPal (CHECKOUT.ORDER.APPROVED). With `decline`, the funding instrument
   * they chose will fail when the merchant captures or authorizes. Approving again after a decline
   * is the payer choosing another funding source, as PayPal's recovery flow has them do.
   */
  approve(id: string, decline: DeclineMode | null = null): StoredOrder {
    const order = this.#forControl(id);
    const reapproval = order.status === 'APPROVED' && order.flags.decline !== null;
    if (order.flags.abandoned || !(order.status === 'CREATED' || order.status === 'PAYER_ACTION_REQUIRED' || reapproval)) {
      this.#refuse(order, decline ? 'fail' : 'approve', 'CREATED or PAYER_ACTION_REQUIRED, not abandoned (or APPROVED after a decline)');
    }
    order.status = 'APPROVED';
    order.flags.decline = decline;
    order.payer ??= {
      payerId: randomToken(13, ID_ALPHABET),
      email: `payer-${randomToken(6, 'abcdefghijklmnopqrstuvwxyz0123456789')}@personal.example.com`,
      givenName: 'Sandbox',
      surname: 'Payer',
      countryCode: 'SE',
    };
    order.updatedAt = this.#now();
    this.counts.ordersApproved += 1;
    this.#emit('CHECKOUT.ORDER.APPROVED', 'checkout-order', this.renderOrder(order, 'representation'), 'An order has been approved by buyer');
    return order;
  }

  /** The payer never approves. The order stays as it is; approving it later is refused. */
  abandon(id: string): StoredOrder {
    const order = this.#forControl(id);
    if (order.flags.abandoned || !(order.status === 'CREATED' || order.status === 'PAYER_ACTION_REQUIRED')) {
      this.#refuse(order, 'abandon', 'CREATED or PAYER_ACTION_REQUIRED');
    }
    order.flags.abandoned = true;
    return order;
  }

  // ─── History and drift (control endpoints, tests, benchmarks) ──────────────────────────────

  /**
   * A payment that happened at `createdMs`: an order approved and captured (intent CAPTURE), with
   * its transaction-search line, but without Events (it is history, nothing to deliver).
   */
  seedPayment(input: { amount: Amount; createdMs: number; customId?: string; invoiceId?: string; referenceId?: string }): StoredOrder {
    const previous = { clock: this.#clockOverrideMs, silent: this.#silent };
    this.#clockOverrideMs = input.createdMs;
    this.#silent = true;
    try {
      const order = this.createOrder({
        intent: 'CAPTURE',
        purchase_units: [
          {
            amount: formatAmount(input.amount),
            ...(input.customId ? { custom_id: input.customId } : {}),
            ...(input.invoiceId ? { invoice_id: input.invoiceId } : {}),
            ...(input.referenceId ? { reference_id: input.referenceId } : {}),
          },
        ],
      });
      this.approve(order.id);
      return this.captureOrder(order.id, {});
    } finally {
      this.#clockOverrideMs = previous.clock;
      this.#silent = previous.silent;
    }
  }

  /** The transaction-search line of an order's (latest) capture. */
  captureTransactionOf(orderId: string): TransactionRecord {
    const order = this.orders.get(orderId);
    const captureId = order?.captureIds.at(-1);
    const record = captureId ? this.transactions.find((txn) => txn.transactionId === captureId) : undefined;
    if (!record) throw new TransitionError(404, `No capture for order '${orderId}'`);
    return record;
  }

  /** Drift: a transaction line nobody's books know of. */
  seedOrphanTransaction(input: { amount: Amount; createdMs: number }): TransactionRecord {
    const record: TransactionRecord = {
      transactionId: paypalId(),
      eventCode: 'T0006',
      initiatedAt: input.createdMs,
      updatedAt: input.createdMs,
      amount: { ...input.amount },
      fee: -this.#fee(input.amount),
      status: 'S',
    };
    this.transactions.push(record);
    return record;
  }

  // ─── Transaction search ──────────────────────────────────────────────────────────────────

  searchTransactions(params: TransactionSearchParams): Record<string, unknown> {
    const date = (name: 'start_date' | 'end_date') => {
      const raw = params[name];
      if (raw === undefined || raw === '') throw missingParameter(name, 'query');
      const ms = Date.parse(raw);
      if (Number.isNaN(ms)) throw invalidParameter(name, raw, 'Date format is invalid. Use the Internet date and time format (RFC 3339).', 'INVALID_PARAMETER_SYNTAX', 'query');
      return ms;
    };
    const start = date('start_date');
    const end = date('end_date');
    if (end < start) throw invalidParameter('end_date', params.end_date, 'end_date must be later than start_date.', 'INVALID_PARAMETER_VALUE', 'query');
    if (end - start > 31 * 86_400_000) throw invalidParameter('end_date', params.end_date, 'Date range is greater than 31 days.', 'INVALID_PARAMETER_VALUE', 'query');
    const integer = (name: 'page' | 'page_size', fallback: number, max: number) => {
      const raw = params[name];
      if (raw === undefined || raw === '') return fallback;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < 1 || value > max) {
        throw invalidParameter(name, raw, `${name} must be an integer between 1 and ${max}.`, 'INVALID_PARAMETER_VALUE', 'query');
      }
      return value;
    };
    const page = integer('page', 1, 10_000);
    const pageSize = integer('page_size', 100, 500);
    const matching = this.transactions
      .filter((txn) => txn.initiatedAt >= start && txn.initiatedAt <= end)
      .filter((txn) => params.transaction_id === undefined || txn.transactionId === params.transaction_id)
      .sort((a, b) => a.initiatedAt - b.initiatedAt);
    const totalPages = Math.ceil(matching.length / pageSize);
    const slice = matching.slice((page - 1) * pageSize, page * pageSize);
    const base = `${this.#options.baseUrl()}/v1/reporting/transactions`;
    const query = (p: number) =>
      `${base}?start_date=${encodeURIComponent(params.start_date!)}&end_date=${encodeURIComponent(params.end_date!)}&page_size=${pageSize}&page=${p}`;
    const links: PayPalLink[] = [{ href: query(page), rel: 'self', method: 'GET' }];
    if (page < totalPages) links.push({ href: query(page + 1), rel: 'next', method: 'GET' });
    if (totalPages > 0) links.push({ href: query(totalPages), rel: 'last', method: 'GET' });
    return {
      transaction_details: slice.map((txn) => this.#renderTransaction(txn)),
      account_number: this.#merchant.merchantId,
      start_date: iso(start),
      end_date: iso(end),
      last_refreshed_datetime: iso(this.#now()),
      page,
      total_items: matching.length,
      total_pages: totalPages,
      links,
    };
  }

  #renderTransaction(txn: TransactionRecord): Record<string, unknown> {
    const capture = txn.eventCode === 'T0006' ? this.captures.get(txn.transactionId) : this.captures.get(txn.referenceId ?? '');
    const payer = capture ? this.orders.get(capture.orderId)?.payer : undefined;
    return {
      transaction_info: {
        paypal_account_id: payer?.payerId,
        transaction_id: txn.transactionId,
        ...(txn.referenceId ? { paypal_reference_id: txn.referenceId, paypal_reference_id_type: 'TXN' } : {}),
        transaction_event_code: txn.eventCode,
        transaction_initiation_date: iso(txn.initiatedAt),
        transaction_updated_date: iso(txn.updatedAt),
        transaction_amount: formatAmount(txn.amount),
        fee_amount: formatAmount({ minor: txn.fee, currency: txn.amount.currency }),
        transaction_status: txn.status,
        invoice_id: txn.invoiceId,
        custom_field: txn.customField,
        protection_eligibility: '01',
      },
      payer_info: payer
        ? { account_id: payer.payerId, email_address: payer.email, payer_name: { given_name: payer.givenName, surname: payer.surname }, country_code: payer.countryCode }
        : {},
    };
  }

  #recordCapture(capture: StoredCapture, order: StoredOrder): void {
    this.transactions.push({
      transactionId: capture.id,
      eventCode: 'T0006',
      initiatedAt: capture.createdAt,
      updatedAt: capture.updatedAt,
      amount: { ...capture.amount },
      fee: -capture.fee,
      status: capture.status === 'COMPLETED' ? 'S' : 'D',
      invoiceId: capture.invoiceId ?? order.invoiceId,
      customField: capture.customId ?? order.customId,
    });
  }

  // ─── Rendering ───────────────────────────────────────────────────────────────────────────

  #link(path: string, rel: string, method: PayPalLink['method'] = 'GET'): PayPalLink {
    return { href: `${this.#options.baseUrl()}${path}`, rel, method };
  }

  /** Where the payer approves. PayPal: https://www.sandbox.paypal.com/checkoutnow?token=<order id>. */
  approveUrl(order: StoredOrder): string {
    return `${this.#options.baseUrl()}/checkoutnow?token=${order.id}`;
  }

  #orderLinks(order: StoredOrder): PayPalLink[] {
    const self = this.#link(`/v2/checkout/orders/${order.id}`, 'self');
    const next = this.#link(`/v2/checkout/orders/${order.id}/${order.intent === 'CAPTURE' ? 'capture' : 'authorize'}`, order.intent === 'CAPTURE' ? 'capture' : 'authorize', 'POST');
    const update = this.#link(`/v2/checkout/orders/${order.id}`, 'update', 'PATCH');
    switch (order.status) {
      case 'CREATED':
        return [self, { href: this.approveUrl(order), rel: 'approve', method: 'GET' }, update, next];
      case 'PAYER_ACTION_REQUIRED':
        return [self, { href: this.approveUrl(order), rel: 'payer-action', method: 'GET' }];
      case 'APPROVED':
        return [self, update, next];
      default:
        return [self];
    }
  }

  renderOrder(order: StoredOrder, view: View, mode: 'order' | 'execute' = 'order'): Record<string, unknown> {
    const links = this.#orderLinks(order);
    const payer = order.payer;
    const paymentSource = payer
      ? {
          paypal: {
            email_address: payer.email,
            account_id: payer.payerId,
            account_status: 'VERIFIED',
            name: { given_name: payer.givenName, surname: payer.surname },
            address: { country_code: payer.countryCode },
          },
        }
      : undefined;
    const payerObject = payer
      ? { name: { given_name: payer.givenName, surname: payer.surname }, email_address: payer.email, payer_id: payer.payerId, address: { country_code: payer.countryCode } }
      : undefined;
    const payments = this.#renderPayments(order);
    if (view === 'minimal') {
      // Capture and authorize answer with the payments even when minimal; create and get do not.
      if (mode === 'execute') {
        return {
          id: order.id,
          status: order.status,
          ...(paymentSource ? { payment_source: paymentSource } : {}),
          purchase_units: [{ reference_id: order.referenceId, ...(payments ? { payments } : {}) }],
          ...(payerObject ? { payer: payerObject } : {}),
          links,
        };
      }
      return { id: order.id, status: order.status, links };
    }
    const unit: Record<string, unknown> = {
      reference_id: order.referenceId,
      amount: formatAmount(order.amount),
      payee: { email_address: this.#merchant.email, merchant_id: this.#merchant.merchantId },
    };
    if (order.description !== undefined) unit.description = order.description;
    if (order.customId !== undefined) unit.custom_id = order.customId;
    if (order.invoiceId !== undefined) unit.invoice_id = order.invoiceId;
    if (order.softDescriptor !== undefined) unit.soft_descriptor = order.softDescriptor;
    if (payments) unit.payments = payments;
    return {
      id: order.id,
      intent: order.intent,
      status: order.status,
      ...(paymentSource ? { payment_source: paymentSource } : {}),
      purchase_units: [unit],
      ...(payerObject ? { payer: payerObject } : {}),
      create_time: iso(order.createdAt),
      update_time: iso(order.updatedAt),
      links,
    };
  }

  #renderPayments(order: StoredOrder): Record<string, unknown> | undefined {
    const authorizations = order.authorizationIds.map((id) => this.renderAuthorization(this.authorizations.get(id)!, 'in_order'));
    const captures = order.captureIds.map((id) => this.captures.get(id)!);
    const refunds = captures.flatMap((capture) => capture.refundIds.map((id) => this.renderRefund(this.refunds.get(id)!)));
    if (authorizations.length === 0 && captures.length === 0) return undefined;
    return {
      ...(authorizations.length > 0 ? { authorizations } : {}),
      ...(captures.length > 0 ? { captures: captures.map((capture) => this.renderCapture(capture, 'in_order')) } : {}),
      ...(refunds.length > 0 ? { refunds } : {}),
    };
  }

  /** `in_order`: as an order's purchase unit lists it, without the supplementary data (its order is the one around it). */
  renderCapture(capture: StoredCapture, placement: 'resource' | 'in_order' = 'resource'): Record<string, unknown> {
    const moved = capture.status !== 'DECLINED' && capture.status !== 'FAILED';
    return {
      id: capture.id,
      status: capture.status,
      ...(capture.statusReason ? { status_details: { reason: capture.statusReason } } : {}),
      amount: formatAmount(capture.amount),
      final_capture: capture.finalCapture,
      seller_protection: { status: 'ELIGIBLE', dispute_categories: ['ITEM_NOT_RECEIVED', 'UNAUTHORIZED_TRANSACTION'] },
      ...(moved
        ? {
            seller_receivable_breakdown: {
              gross_amount: formatAmount(capture.amount),
              paypal_fee: formatAmount({ minor: capture.fee, currency: capture.amount.currency }),
              net_amount: formatAmount({ minor: capture.amount.minor - capture.fee, currency: capture.amount.currency }),
            },
          }
        : {}),
      ...(capture.invoiceId !== undefined ? { invoice_id: capture.invoiceId } : {}),
      ...(capture.customId !== undefined ? { custom_id: capture.customId } : {}),
      links: [
        this.#link(`/v2/payments/captures/${capture.id}`, 'self'),
        this.#link(`/v2/payments/captures/${capture.id}/refund`, 'refund', 'POST'),
        capture.authorizationId
          ? this.#link(`/v2/payments/authorizations/${capture.authorizationId}`, 'up')
          : this.#link(`/v2/checkout/orders/${capture.orderId}`, 'up'),
      ],
      create_time: iso(capture.createdAt),
      update_time: iso(capture.updatedAt),
      ...(placement === 'resource'
        ? { supplementary_data: { related_ids: { order_id: capture.orderId, ...(capture.authorizationId ? { authorization_id: capture.authorizationId } : {}) } } }
        : {}),
    };
  }

  /** `in_order`: as an order's purchase unit lists it, without the supplementary data. */
  renderAuthorization(authorization: StoredAuthorization, placement: 'resource' | 'in_order' = 'resource'): Record<string, unknown> {
    return {
      id: authorization.id,
      status: authorization.status,
      ...(authorization.statusReason ? { status_details: { reason: authorization.statusReason } } : {}),
      amount: formatAmount(authorization.amount),
      ...(authorization.invoiceId !== undefined ? { invoice_id: authorization.invoiceId } : {}),
      ...(authorization.customId !== undefined ? { custom_id: authorization.customId } : {}),
      seller_protection: { status: 'ELIGIBLE', dispute_categories: ['ITEM_NOT_RECEIVED', 'UNAUTHORIZED_TRANSACTION'] },
      expiration_time: iso(authorization.expiresAt),
      links: [
        this.#link(`/v2/payments/authorizations/${authorization.id}`, 'self'),
        this.#link(`/v2/payments/authorizations/${authorization.id}/capture`, 'capture', 'POST'),
        this.#link(`/v2/payments/authorizations/${authorization.id}/void`, 'void', 'POST'),
        this.#link(`/v2/payments/authorizations/${authorization.id}/reauthorize`, 'reauthorize', 'POST'),
        this.#link(`/v2/checkout/orders/${authorization.orderId}`, 'up'),
      ],
      create_time: iso(authorization.createdAt),
      update_time: iso(authorization.updatedAt),
      ...(placement === 'resource' ? { supplementary_data: { related_ids: { order_id: authorization.orderId } } } : {}),
    };
  }

  renderRefund(refund: StoredRefund): Record<string, unknown> {
    const capture = this.getCapture(refund.captureId);
    return {
      id: refund.id,
      status: refund.status,
      ...(refund.statusReason ? { status_details: { reason: refund.statusReason } } : {}),
      amount: formatAmount(refund.amount),
      ...(refund.invoiceId !== undefined ? { invoice_id: refund.invoiceId } : {}),
      ...(refund.customId !== undefined ? { custom_id: refund.customId } : {}),
      ...(refund.noteToPayer !== undefined ? { note_to_payer: refund.noteToPayer } : {}),
      seller_payable_breakdown: {
        gross_amount: formatAmount(refund.amount),
        paypal_fee: formatAmount({ minor: 0, currency: refund.amount.currency }),
        net_amount: formatAmount(refund.amount),
        total_refunded_amount: formatAmount({ minor: this.#refundedOf(capture), currency: refund.amount.currency }),
      },
      links: [this.#link(`/v2/payments/refunds/${refund.id}`, 'self'), this.#link(`/v2/payments/captures/${refund.captureId}`, 'up')],
      create_time: iso(refund.createdAt),
      update_time: iso(refund.updatedAt),
    };
  }

  /** The latest state of a resource by id, as the given view (idempotent replays). */
  renderById(id: string, view: View): Record<string, unknown> | undefined {
    switch (this.kindOf(id)) {
      case 'checkout-order':
        return this.renderOrder(this.orders.get(id)!, view, 'execute');
      case 'capture':
        return this.#minimal(this.renderCapture(this.captures.get(id)!), view);
      case 'authorization':
        return this.#minimal(this.renderAuthorization(this.authorizations.get(id)!), view);
      case 'refund':
        return this.#minimal(this.renderRefund(this.refunds.get(id)!), view);
      default:
        return undefined;
    }
  }

  #minimal(resource: Record<string, unknown>, view: View): Record<string, unknown> {
    return view === 'minimal' ? { id: resource.id, status: resource.status, links: resource.links } : resource;
  }

  // ─── Events ──────────────────────────────────────────────────────────────────────────────

  #emit(type: EventType, resourceType: ResourceType, resource: Record<string, unknown>, summary: string): WebhookEvent | undefined {
    if (this.#silent) return undefined;
    const id = `WH-${paypalId()}-${paypalId()}`;
    const event: WebhookEvent = {
      id,
      event_version: '1.0',
      create_time: iso(this.#now()),
      resource_type: resourceType,
      resource_version: '2.0',
      event_type: type,
      summary,
      resource,
      links: [
        this.#link(`/v1/notifications/webhooks-events/${id}`, 'self'),
        this.#link(`/v1/notifications/webhooks-events/${id}/resend`, 'resend', 'POST'),
      ],
    };
    this.events.set(id, event);
    this.counts.eventsCreated += 1;
    this.#options.onEvent?.(event);
    return event;
  }

  // ─── Helpers ─────────────────────────────────────────────────────────────────────────────

  #fee(amount: Amount): number {
    const decimals = CURRENCY_DECIMALS[amount.currency] ?? 2;
    const fixed = FIXED_FEE[amount.currency] ?? (decimals === 0 ? 40 : 30);
    return Math.min(amount.minor, Math.round(amount.minor * 0.0349) + fixed);
  }

  #summaryMoney(amount: Amount): string {
    const money = formatAmount(amount);
    return `${money.value} ${money.currency_code}`;
  }

  /** Status of every order, for the state control route. */
  orderStatuses(): Record<string, OrderStatus> {
    return Object.fromEntries([...this.orders.values()].map((order) => [order.id, order.status]));
  }
}
