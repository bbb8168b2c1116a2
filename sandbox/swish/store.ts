// The Swish sandbox's state: payment requests and refunds with their status machines, the request
// validation Swish does, and Merchant-Swish-Simulator-style outcome simulation (an error code as
// `message` makes Swish refuse the request, or end it in ERROR). Timers live in sandbox.ts; this
// file only moves objects between states and reports each change.
import { randomHex, randomToken } from '../shared/ids';
import { mapEntries, refill } from '../shared/persistence';
import { ASYNCHRONOUS_CODES, ControlError, SwishApiError, SYNCHRONOUS_CODES, swishError, unprocessable, type SwishErrorBody } from './errors';

export type PaymentRequestStatus = 'CREATED' | 'PAID' | 'DECLINED' | 'ERROR' | 'CANCELLED';
export type RefundStatus = 'CREATED' | 'VALIDATED' | 'DEBITED' | 'PAID' | 'ERROR';

/** A payment request as the API shows it (amounts in kronor, absent values null). */
export interface PaymentRequest {
  id: string;
  payeePaymentReference: string | null;
  paymentReference: string | null;
  callbackUrl: string;
  payerAlias: string | null;
  payeeAlias: string;
  amount: number;
  currency: 'SEK';
  message: string | null;
  status: PaymentRequestStatus;
  dateCreated: string;
  datePaid: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  additionalInformation: string | null;
}

export interface Refund {
  id: string;
  paymentReference: string | null;
  payerPaymentReference: string | null;
  originalPaymentReference: string;
  callbackUrl: string;
  payerAlias: string;
  payeeAlias: string | null;
  amount: number;
  currency: 'SEK';
  message: string | null;
  status: RefundStatus;
  dateCreated: string;
  datePaid: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  additionalInformation: string | null;
}

/** What the sandbox keeps beside each object (never shown by the API). */
export interface PaymentRequestRecord {
  object: PaymentRequest;
  /** m-commerce only: sent once, in the PaymentRequestToken header of the 201. */
  token: string | null;
  callbackIdentifier: string | null;
  /** An MSS-style simulated outcome (`message` was an error code). */
  simulatedError: string | null;
  amountMinor: number;
}

export interface RefundRecord {
  object: Refund;
  callbackIdentifier: string | null;
  simulatedError: string | null;
  amountMinor: number;
  /** The payment request refunded. */
  paymentRequestId: string;
}

export interface SwishStoreOptions {
  now?: () => number;
  /**
   * Refuse http callback URLs on loopback hosts too (RP03), exactly as MSS does. By default the
   * sandbox accepts http only for loopback hosts (127.0.0.0/8, ::1, localhost), which is what
   * `npm start` gives it; any other http callback is refused with RP03, as MSS and production do.
   */
  requireHttpsCallbacks?: boolean;
  /** Called after every status change, with the record whose object Swish would send. */
  onChange?: (change: { kind: 'payment_request'; record: PaymentRequestRecord } | { kind: 'refund'; record: RefundRecord }) => void;
}

export const INSTRUCTION_UUID = /^[0-9A-F]{32}$/;
const AMOUNT = /^\d{1,12}(\.\d{1,2})?$/;
const MAX_AMOUNT_MINOR = 99_999_999_999_999;
const REFERENCE = /^[a-zA-Z0-9]{1,35}$/;
/** Swish's own character set: a–ö, A–Ö, 0–9, `:;.,?!()` and space, at most 50 (else RP02). */
const MESSAGE = /^[a-zA-ZåäöÅÄÖ0-9 :;.,?!()]{0,50}$/;
const PAYER_ALIAS = /^\d{8,15}$/;

/** The payer alias the sandbox treats as not enrolled in Swish (ACMT03). */
export const UNENROLLED_PAYER_ALIAS = '46700000000';
/** The payer alias put on a paid m-commerce request when the control call names none. */
export const DEFAULT_PAYER_ALIAS = '46712345678';

type Body = Record<string, unknown>;

function asBody(input: unknown): Body {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SwishApiError(400, [{ errorCode: null, errorMessage: 'The request body must be a JSON object', additionalInformation: null }]);
  }
  return input as Body;
}

const optionalString = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

function parseAmountMinor(value: unknown, errors: SwishErrorBody[]): number | undefined {
  const text = typeof value === 'number' && Number.isFinite(value) ? value.toFixed(2) : typeof value === 'string' ? value.trim() : undefined;
  if (text === undefined || !AMOUNT.test(text)) {
    errors.push(swishError('PA02'));
    return undefined;
  }
  const [whole = '0', fraction = ''] = text.split('.');
  const minor = Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
  if (minor < 1) errors.push(swishError('AM06'));
  else if (minor > MAX_AMOUNT_MINOR) errors.push(swishError('AM02'));
  return minor;
}

/** The hosts of `npm start`'s own API: an http callback to them never leaves the machine. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function checkCallbackUrl(value: unknown, requireHttps: boolean, errors: SwishErrorBody[]): string | undefined {
  const text = optionalString(value);
  let url: URL | undefined;
  try {
    url = text ? new URL(text) : undefined;
  } catch {
    url = undefined;
  }
  const allowedHttp = url?.protocol === 'http:' && !requireHttps && isLoopbackHost(url.hostname);
  if (!url || (url.protocol !== 'https:' && !allowedHttp)) {
    errors.push(swishError('RP03'));
    return undefined;
  }
  return text;
}

function checkMessage(value: unknown, errors: SwishErrorBody[]): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || !MESSAGE.test(value)) {
    errors.push(swishError('RP02'));
    return null;
  }
  return value;
}

/** MSS: a message that is exactly an error code simulates that error. */
function simulatedCode(message: string | null): string | null {
  const code = message?.trim().toUpperCase();
  return code && (SYNCHRONOUS_CODES.has(code) || ASYNCHRONOUS_CODES.has(code)) ? code : null;
}

/**
 * One line of the bank's Swish settlement report ("Swish-rapport"): Swish itself has no listing API;
 * the merchant's bank reports each settled Swish payment (credit) and refund (debit) per booking day.
 * Fields follow the banks' reports: Swish number, booking date, time, amount, payer, Swish's
 * payment reference, the merchant's order id (payee payment reference) and message.
 */
export interface SwishSettlementRow {
  rowId: string;
  bookingDate: string;
  transactionTime: string;
  type: 'CREDIT' | 'DEBIT';
  /** Kronor, two decimals, as the bank prints it. */
  amount: string;
  currency: 'SEK';
  swishNumber: string;
  payerAlias: string | null;
  /** Swish's unique reference of this payment or refund. */
  paymentReference: string;
  /** The merchant's reference: payeePaymentReference (payments), payerPaymentReference (refunds). */
  orderId: string | null;
  message: string | null;
  /** A refund: the paymentReference of the payment it returns. */
  originalPaymentReference: string | null;
}

export class SwishStore {
  readonly paymentRequests = new Map<string, PaymentRequestRecord>();
  /** The bank's settlement report, in booking order. */
  readonly settlements: SwishSettlementRow[] = [];
  readonly refunds = new Map<string, RefundRecord>();
  readonly counts = { paymentRequestsCreated: 0, refundsCreated: 0, statusChanges: 0 };
  readonly #options: SwishStoreOptions;

  constructor(options: SwishStoreOptions = {}) {
    this.#options = options;
  }

  #now(): string {
    return new Date((this.#options.now ?? Date.now)()).toISOString();
  }

  /** Everything Swish would still know after a restart (shared/persistence.ts). */
  snapshot(): unknown {
    return { paymentRequests: mapEntries(this.paymentRequests), refunds: mapEntries(this.refunds), settlements: this.settlements, counts: this.counts };
  }

  restore(state: unknown): void {
    const saved = (state ?? {}) as { paymentRequests?: unknown; refunds?: unknown; settlements?: SwishSettlementRow[]; counts?: Partial<SwishStore['counts']> };
    refill(this.paymentRequests, saved.paymentRequests);
    refill(this.refunds, saved.refunds);
    this.settlements.splice(0, this.settlements.length, ...(saved.settlements ?? []));
    Object.assign(this.counts, saved.counts);
  }

  #changed(change: Parameters<NonNullable<SwishStoreOptions['onChange']>>[0]): void {
    this.counts.statusChanges += 1;
    this.#options.onChange?.(change);
  }

  // ─── Payment requests ──────────────────────────────────────────────────────────────────

  /** PUT /api/v2/paymentrequests/{id} by the merchant `merchantAlias` (from its certificate). */
  createPaymentRequest(id: string, input: unknown, merchantAlias: string): PaymentRequestRecord {
    if (!INSTRUCTION_UUID.test(id)) {
      throw new SwishApiError(400, [{ errorCode: null, errorMessage: 'instructionUUID must be 32 uppercase hexadecimal characters', additionalInformation: null }]);
    }
    const body = asBody(input);
    const errors: SwishErrorBody[] = [];
    const payeeAlias = optionalString(body.payeeAlias);
    if (!payeeAlias) errors.push(swishError('RP01'));
    else if (payeeAlias !== merchantAlias) throw new SwishApiError(403);
    const amountMinor = parseAmountMinor(body.amount, errors);
    if (body.currency !== 'SEK') errors.push(swishError('AM03'));
    const callbackUrl = checkCallbackUrl(body.callbackUrl, this.#options.requireHttpsCallbacks ?? false, errors);
    const reference = body.payeePaymentReference;
    if (reference !== undefined && reference !== null && (typeof reference !== 'string' || !REFERENCE.test(reference))) errors.push(swishError('FF08'));
    const message = checkMessage(body.message, errors);
    const payerAlias = body.payerAlias === undefined || body.payerAlias === null ? undefined : body.payerAlias;
    if (payerAlias !== undefined && (typeof payerAlias !== 'string' || !PAYER_ALIAS.test(payerAlias))) errors.push(swishError('BE18'));
    if (errors.length > 0) throw unprocessable(...errors);

    const simulated = simulatedCode(message);
    if (simulated && SYNCHRONOUS_CODES.has(simulated)) throw unprocessable(swishError(simulated));
    if (payerAlias === UNENROLLED_PAYER_ALIAS) throw unprocessable(swishError('ACMT03'));
    if (this.paymentRequests.has(id)) throw unprocessable(swishError('RP09'));
    if (
      typeof payerAlias === 'string' &&
      [...this.paymentRequests.values()].some((record) => record.object.status === 'CREATED' && record.object.payerAlias === payerAlias)
    ) {
      throw unprocessable(swishError('RP06'));
    }

    const record: PaymentRequestRecord = {
      object: {
        id,
        payeePaymentReference: typeof reference === 'string' ? reference : null,
        paymentReference: null,
        callbackUrl: callbackUrl!,
        payerAlias: typeof payerAlias === 'string' ? payerAlias : null,
        payeeAlias: payeeAlias!,
        amount: amountMinor! / 100,
        currency: 'SEK',
        message,
        status: 'CREATED',
        dateCreated: this.#now(),
        datePaid: null,
        errorCode: null,
        errorMessage: null,
        additionalInformation: null,
      },
      token: typeof payerAlias === 'string' ? null : randomToken(32),
      callbackIdentifier: optionalString(body.callbackIdentifier) ?? null,
      simulatedError: simulated,
      amountMinor: amountMinor!,
    };
    this.paymentRequests.set(id, record);
    this.counts.paymentRequestsCreated += 1;
    return record;
  }

  /** The record, when it exists and belongs to `merchantAlias` (others' requests are not found). */
  findPaymentRequest(id: string, merchantAlias?: string): PaymentRequestRecord | undefined {
    const record = this.paymentRequests.get(id);
    if (!record || (merchantAlias !== undefined && record.object.payeeAlias !== merchantAlias)) return undefined;
    return record;
  }

  /** PATCH: only a CREATED request can be cancelled. */
  cancelPaymentRequest(id: string, merchantAlias: string, patch: unknown): PaymentRequestRecord {
    const record = this.findPaymentRequest(id, merchantAlias);
    if (!record) throw new SwishApiError(404);
    const valid =
      Array.isArray(patch) &&
      patch.length === 1 &&
      typeof patch[0] === 'object' &&
      patch[0] !== null &&
      (patch[0] as Body).op === 'replace' &&
      (patch[0] as Body).path === '/status' &&
      (patch[0] as Body).value === 'cancelled';
    if (!valid) {
      throw new SwishApiError(400, [
        { errorCode: null, errorMessage: 'Expected [{"op":"replace","path":"/status","value":"cancelled"}]', additionalInformation: null },
      ]);
    }
    if (record.object.status !== 'CREATED') throw unprocessable(swishError('RP07', `payment request is ${record.object.status}`));
    return this.#settlePayment(record, 'CANCELLED');
  }

  /** The payer approved in the app (control). */
  pay(id: string, payerAlias?: string): PaymentRequestRecord {
    const record = this.#awaitingPayer(id);
    record.object.payerAlias = payerAlias ?? record.object.payerAlias ?? DEFAULT_PAYER_ALIAS;
    record.object.paymentReference = randomHex(32);
    record.object.datePaid = this.#now();
    return this.#settlePayment(record, 'PAID');
  }

  /** The payer declined (DECLINED), or the payment ended in ERROR with `errorCode`. */
  fail(id: string, errorCode?: string, errorMessage?: string): PaymentRequestRecord {
    const record = this.#awaitingPayer(id);
    if (!errorCode) return this.#settlePayment(record, 'DECLINED');
    return this.#settlePayment(record, 'ERROR', errorCode, errorMessage);
  }

  /** Swish gave up waiting for the payer (TM01). Quietly does nothing once the request left CREATED. */
  expire(id: string): PaymentRequestRecord | undefined {
    const record = this.paymentRequests.get(id);
    if (!record || record.object.status !== 'CREATED') return undefined;
    return this.#settlePayment(record, 'ERROR', 'TM01');
  }

  /** The MSS-style simulated outcome of a request created with an error code as message. */
  settleSimulated(id: string): PaymentRequestRecord | undefined {
    const record = this.paymentRequests.get(id);
    if (!record || record.object.status !== 'CREATED' || !record.simulatedError) return undefined;
    return this.#settlePayment(record, 'ERROR', record.simulatedError);
  }

  #awaitingPayer(id: string): PaymentRequestRecord {
    const record = this.paymentRequests.get(id);
    if (!record) throw new ControlError(404, `No such payment request: '${id}'`);
    if (record.object.status !== 'CREATED') throw new ControlError(409, `Payment request ${id} is ${record.object.status}, not CREATED`);
    return record;
  }

  #settlePayment(record: PaymentRequestRecord, status: PaymentRequestStatus, errorCode?: string, errorMessage?: string): PaymentRequestRecord {
    record.object.status = status;
    if (status === 'PAID' && record.object.paymentReference) {
      this.settlements.push({
        rowId: `${this.settlements.length + 1}`,
        bookingDate: this.#now().slice(0, 10),
        transactionTime: record.object.datePaid ?? this.#now(),
        type: 'CREDIT',
        amount: (record.amountMinor / 100).toFixed(2),
        currency: 'SEK',
        swishNumber: record.object.payeeAlias,
        payerAlias: record.object.payerAlias,
        paymentReference: record.object.paymentReference,
        orderId: record.object.payeePaymentReference,
        message: record.object.message,
        originalPaymentReference: null,
      });
    }
    if (errorCode) {
      record.object.errorCode = errorCode;
      record.object.errorMessage = errorMessage ?? swishError(errorCode).errorMessage;
    }
    this.#changed({ kind: 'payment_request', record });
    return record;
  }

  // ─── Refunds ───────────────────────────────────────────────────────────────────────────

  /** What is left to refund of a paid payment request (refunds in ERROR give their amount back). */
  refundableMinor(paymentRequestId: string): number {
    const payment = this.paymentRequests.get(paymentRequestId);
    if (!payment || payment.object.status !== 'PAID') return 0;
    const refunded = [...this.refunds.values()]
      .filter((refund) => refund.paymentRequestId === paymentRequestId && refund.object.status !== 'ERROR')
      .reduce((sum, refund) => sum + refund.amountMinor, 0);
    return payment.amountMinor - refunded;
  }

  /** PUT /api/v2/refunds/{id}. */
  createRefund(id: string, input: unknown, merchantAlias: string, options: { forceError?: string } = {}): RefundRecord {
    if (!INSTRUCTION_UUID.test(id)) {
      throw new SwishApiError(400, [{ errorCode: null, errorMessage: 'instructionUUID must be 32 uppercase hexadecimal characters', additionalInformation: null }]);
    }
    const body = asBody(input);
    const errors: SwishErrorBody[] = [];
    const payerAlias = optionalString(body.payerAlias);
    if (payerAlias && payerAlias !== merchantAlias) throw new SwishApiError(403);
    const amountMinor = parseAmountMinor(body.amount, errors);
    if (body.currency !== 'SEK') errors.push(swishError('AM03'));
    const callbackUrl = checkCallbackUrl(body.callbackUrl, this.#options.requireHttpsCallbacks ?? false, errors);
    const reference = body.payerPaymentReference;
    if (reference !== undefined && reference !== null && (typeof reference !== 'string' || !REFERENCE.test(reference))) errors.push(swishError('FF08'));
    const message = checkMessage(body.message, errors);
    const originalReference = optionalString(body.originalPaymentReference);
    const original = originalReference
      ? [...this.paymentRequests.values()].find((record) => record.object.paymentReference === originalReference && record.object.status === 'PAID')
      : undefined;
    if (!original || original.object.payeeAlias !== merchantAlias) errors.push(swishError('RF02'));
    else if (!payerAlias || payerAlias !== original.object.payeeAlias) errors.push(swishError('RF03'));
    if (errors.length > 0) throw unprocessable(...errors);

    const simulated = simulatedCode(message);
    if (simulated && SYNCHRONOUS_CODES.has(simulated)) throw unprocessable(swishError(simulated));
    if (this.refunds.has(id)) throw unprocessable(swishError('RP09'));
    if (amountMinor! > this.refundableMinor(original!.object.id)) throw unprocessable(swishError('RF08'));

    const record: RefundRecord = {
      object: {
        id,
        paymentReference: null,
        payerPaymentReference: typeof reference === 'string' ? reference : null,
        originalPaymentReference: originalReference!,
        callbackUrl: callbackUrl!,
        payerAlias: payerAlias!,
        payeeAlias: original!.object.payerAlias,
        amount: amountMinor! / 100,
        currency: 'SEK',
        message,
        status: 'CREATED',
        dateCreated: this.#now(),
        datePaid: null,
        errorCode: null,
        errorMessage: null,
        additionalInformation: null,
      },
      callbackIdentifier: optionalString(body.callbackIdentifier) ?? null,
      simulatedError: simulated ?? options.forceError ?? null,
      amountMinor: amountMinor!,
      paymentRequestId: original!.object.id,
    };
    this.refunds.set(id, record);
    this.counts.refundsCreated += 1;
    return record;
  }

  findRefund(id: string, merchantAlias?: string): RefundRecord | undefined {
    const record = this.refunds.get(id);
    if (!record || (merchantAlias !== undefined && record.object.payerAlias !== merchantAlias)) return undefined;
    return record;
  }

  /**
   * One step of a refund: CREATED → VALIDATED → DEBITED → PAID, or ERROR at DEBITED when its outcome
   * is a simulated error. Returns undefined when the refund is already final.
   */
  advanceRefund(id: string): RefundRecord | undefined {
    const record = this.refunds.get(id);
    if (!record) return undefined;
    switch (record.object.status) {
      case 'CREATED':
        return this.#settleRefund(record, 'VALIDATED');
      case 'VALIDATED':
        return record.simulatedError ? this.#settleRefund(record, 'ERROR', record.simulatedError) : this.#settleRefund(record, 'DEBITED');
      case 'DEBITED':
        return this.#settleRefund(record, 'PAID');
      default:
        return undefined;
    }
  }

  /** Control: take a refund straight to PAID, or to ERROR with `errorCode`. */
  finishRefund(id: string, outcome: { errorCode?: string } = {}): RefundRecord {
    const record = this.refunds.get(id);
    if (!record) throw new ControlError(404, `No such refund: '${id}'`);
    if (record.object.status === 'PAID' || record.object.status === 'ERROR') {
      throw new ControlError(409, `Refund ${id} is already ${record.object.status}`);
    }
    if (outcome.errorCode) return this.#settleRefund(record, 'ERROR', outcome.errorCode);
    return this.#settleRefund(record, 'PAID');
  }

  #settleRefund(record: RefundRecord, status: RefundStatus, errorCode?: string): RefundRecord {
    record.object.status = status;
    if (status === 'PAID') {
      record.object.paymentReference = randomHex(32);
      record.object.datePaid = this.#now();
      this.settlements.push({
        rowId: `${this.settlements.length + 1}`,
        bookingDate: this.#now().slice(0, 10),
        transactionTime: record.object.datePaid,
        type: 'DEBIT',
        amount: (record.amountMinor / 100).toFixed(2),
        currency: 'SEK',
        swishNumber: record.object.payerAlias,
        payerAlias: record.object.payeeAlias,
        paymentReference: record.object.paymentReference,
        orderId: record.object.payerPaymentReference,
        message: record.object.message,
        originalPaymentReference: record.object.originalPaymentReference,
      });
    }
    if (errorCode) {
      record.object.errorCode = errorCode;
      record.object.errorMessage = swishError(errorCode).errorMessage;
    }
    this.#changed({ kind: 'refund', record });
    return record;
  }

  /** One page of the settlement report of a booking day, for the merchant `swishNumber`. */
  settlementReport(swishNumber: string, bookingDate: string, page: number, pageSize: number) {
    const rows = this.settlements.filter((row) => row.bookingDate === bookingDate && (row.type === 'CREDIT' ? row.swishNumber : row.payerAlias) === swishNumber);
    const totalPages = Math.max(1, Math.ceil(rows.length / pageSize));
    return { swishNumber, bookingDate, page, pageSize, totalPages, totalRows: rows.length, rows: rows.slice((page - 1) * pageSize, page * pageSize) };
  }

  /**
   * A Swish payment that was paid at `paidMs`, with its settlement row, without a callback (history).
   * The instruction id is the caller's (Skerry derives it from the payment's idempotency key).
   */
  seedPaidPayment(input: { id: string; payeeAlias: string; amountMinor: number; payeePaymentReference?: string; message?: string; paidMs: number }): PaymentRequestRecord {
    const at = new Date(input.paidMs).toISOString();
    const record: PaymentRequestRecord = {
      object: {
        id: input.id,
        payeePaymentReference: input.payeePaymentReference ?? null,
        paymentReference: randomHex(32),
        callbackUrl: 'https://example.invalid/swish',
        payerAlias: DEFAULT_PAYER_ALIAS,
        payeeAlias: input.payeeAlias,
        amount: input.amountMinor / 100,
        currency: 'SEK',
        message: input.message ?? null,
        status: 'PAID',
        dateCreated: at,
        datePaid: at,
        errorCode: null,
        errorMessage: null,
        additionalInformation: null,
      },
      token: null,
      callbackIdentifier: null,
      simulatedError: null,
      amountMinor: input.amountMinor,
    };
    this.paymentRequests.set(input.id, record);
    this.settlements.push({
      rowId: `${this.settlements.length + 1}`,
      bookingDate: at.slice(0, 10),
      transactionTime: at,
      type: 'CREDIT',
      amount: (input.amountMinor / 100).toFixed(2),
      currency: 'SEK',
      swishNumber: input.payeeAlias,
      payerAlias: DEFAULT_PAYER_ALIAS,
      paymentReference: record.object.paymentReference!,
      orderId: record.object.payeePaymentReference,
      message: record.object.message,
      originalPaymentReference: null,
    });
    return record;
  }

  reset(): void {
    this.settlements.length = 0;
    this.paymentRequests.clear();
    this.refunds.clear();
    this.counts.paymentRequestsCreated = 0;
    this.counts.refundsCreated = 0;
    this.counts.statusChanges = 0;
  }
}
