// Swish for merchants (Commerce API), as plain data: the objects Swish sends, the rules its fields
// follow, and how its statuses and error codes map onto Skerry's. No I/O here, so the client, the
// callback verifier and the tests share one definition.
import { createHash } from 'node:crypto';
import type { PaymentObservation, RefundObservation } from '../../domain/payments';
import { kindFromHttpStatus, ProviderError, type ProviderErrorKind } from '../errors';

/** A payment request as Swish returns it (GET, callbacks). Amounts are in kronor. */
export interface SwishPaymentRequest {
  id: string;
  payeePaymentReference?: string | null;
  paymentReference?: string | null;
  callbackUrl?: string | null;
  payerAlias?: string | null;
  payeeAlias?: string | null;
  amount: number | string;
  currency: string;
  message?: string | null;
  status: SwishPaymentStatus | string;
  dateCreated?: string | null;
  datePaid?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  additionalInformation?: string | null;
}

/** A refund as Swish returns it. `originalPaymentReference` is Swish's reference of the paid payment. */
export interface SwishRefund {
  id: string;
  paymentReference?: string | null;
  payerPaymentReference?: string | null;
  originalPaymentReference: string;
  callbackUrl?: string | null;
  payerAlias?: string | null;
  payeeAlias?: string | null;
  amount: number | string;
  currency: string;
  message?: string | null;
  status: SwishRefundStatus | string;
  dateCreated?: string | null;
  datePaid?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  additionalInformation?: string | null;
}

export type SwishPaymentStatus = 'CREATED' | 'PAID' | 'DECLINED' | 'ERROR' | 'CANCELLED';
export type SwishRefundStatus = 'CREATED' | 'VALIDATED' | 'DEBITED' | 'PAID' | 'ERROR';

/** One entry of the array Swish answers a 422 with. */
export interface SwishErrorEntry {
  errorCode: string;
  errorMessage?: string | null;
  additionalInformation?: string | null;
}

/** Swish only settles in Swedish kronor. */
export const SWISH_CURRENCY = 'SEK';

/** Error code of a payment request the payer never answered: Swish timed out before it was started. */
export const SWISH_TIMEOUT_CODE = 'TM01';

/** 32 uppercase hexadecimal characters, the shape of every Swish instruction id. */
export const INSTRUCTION_UUID = /^[0-9A-F]{32}$/;

/**
 * The instruction UUID for a request, derived from its idempotency key: the first 32 hex digits of
 * SHA-256, uppercased. The same key always names the same payment request (or refund) at Swish, so
 * a retried PUT can never create a second one.
 */
export function instructionUuid(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey, 'utf8').digest('hex').slice(0, 32).toUpperCase();
}

/**
 * Skerry numbers the refunds of a payment (`…-refund-<n>`, see `providerIdempotencyKey.refund`).
 * The client derives a refund's instruction UUID from the payment and that ordinal, so the refunds
 * of a payment can be found again by trying `refundInstructionUuid(payment, 1, 2, …)`: Swish has
 * no endpoint that lists them.
 */
export function refundOrdinal(idempotencyKey: string): number | undefined {
  const match = /-refund-(\d{1,6})$/.exec(idempotencyKey);
  if (!match) return undefined;
  const n = Number(match[1]);
  return n >= 1 ? n : undefined;
}

export function refundInstructionUuid(paymentRequestId: string, ordinal: number): string {
  return instructionUuid(`swish-refund:${paymentRequestId}:${ordinal}`);
}

/** Minor units (öre) → Swish's amount string: 12550 → "125.50". */
export function formatAmount(minor: number): string {
  if (!Number.isSafeInteger(minor) || minor < 0) throw new RangeError(`amount must be a non-negative integer in öre, got ${minor}`);
  return `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
}

/** Swish's amount (a number like 125.5 or a string like "125.50") → öre; NaN when unreadable. */
export function parseAmount(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.round(value * 100) : Number.NaN;
  if (typeof value !== 'string') return Number.NaN;
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(value.trim());
  if (!match) return Number.NaN;
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}

/** payeePaymentReference: 1–35 characters of [a-zA-Z0-9]; anything else is dropped. */
export function toPayeePaymentReference(reference: string): string | undefined {
  const cleaned = reference.replace(/[^a-zA-Z0-9]/g, '').slice(0, 35);
  return cleaned === '' ? undefined : cleaned;
}

/**
 * Swish's character set for `message`: the letters a–ö and A–Ö (the Swedish alphabet), the digits,
 * `:;.,?!()` and space, at most 50 characters. The Merchant Swish Simulator and production refuse
 * anything else with RP02.
 */
export const SWISH_MESSAGE = /^[a-zA-ZåäöÅÄÖ0-9 :;.,?!()]{0,50}$/;
const SWISH_MESSAGE_CHAR = /[a-zA-ZåäöÅÄÖ0-9 :;.,?!()]/;
/** Nordic letters outside Swish's alphabet, by the Swedish letter a payer reads the same way. */
const NORDIC_EQUIVALENTS: Record<string, string> = { æ: 'ä', Æ: 'Ä', ø: 'ö', Ø: 'Ö', ß: 'ss' };

function toSwishCharacter(char: string): string | undefined {
  if (SWISH_MESSAGE_CHAR.test(char)) return char;
  const equivalent = NORDIC_EQUIVALENTS[char];
  if (equivalent) return equivalent;
  // é → e, ü → u: the letter without its accent, when that is a letter Swish accepts.
  const base = char.normalize('NFD').replace(/\p{M}+/gu, '');
  if (base !== char && [...base].every((c) => SWISH_MESSAGE_CHAR.test(c))) return base;
  if (/[\p{P}\p{Z}\p{Sm}\s<>]/u.test(char)) return ' ';
  if (/[\p{So}\p{Sk}\p{Sc}\p{M}\p{Cf}\p{No}]/u.test(char)) return '';
  // A letter of another script (Cyrillic, Greek, CJK …) has no spelling in Swish's alphabet.
  return undefined;
}

/**
 * message: Skerry's text in Swish's character set, shown to the payer in the app. Accents are
 * dropped (é → e), æ/ø read as ä/ö, other punctuation becomes a space, emoji and symbols go, and
 * the result is cut to 50 characters. A text in another script cannot be spelled in Swish's
 * alphabet: it is refused rather than sent as an unreadable remnant.
 */
export function toSwishMessage(text: string | undefined, operation = 'create_payment'): string | undefined {
  if (!text) return undefined;
  const refused: string[] = [];
  const spelled = [...text.normalize('NFC')]
    .map((char) => {
      const swish = toSwishCharacter(char);
      if (swish === undefined) refused.push(char);
      return swish ?? '';
    })
    .join('');
  if (refused.length > 0) {
    throw new ProviderError(
      'swish',
      operation,
      'validation',
      `the Swish message ${JSON.stringify(text)} has characters Swish does not accept and that have no equivalent (${[...new Set(refused)].join('')}); Swish allows a–ö, A–Ö, 0–9, :;.,?!() and space`,
      { code: 'RP02' },
    );
  }
  const cleaned = spelled
    .replace(/\s+/g, ' ')
    .replace(/ +([:;.,?!)])/g, '$1')
    .replace(/\( +/g, '(')
    .trim()
    .slice(0, 50)
    .trim();
  return cleaned === '' ? undefined : cleaned;
}

/** A payer alias (the payer's Swish-enrolled phone number): digits only, country code first. */
export function toPayerAlias(alias: string): string {
  const digits = alias.replace(/[\s\-()+]/g, '');
  return digits.startsWith('00') ? digits.slice(2) : digits;
}

/** The app switch link that opens the payment request in the Swish app (m-commerce). */
export function swishAppUrl(paymentRequestToken: string, returnUrl?: string): string {
  const query = new URLSearchParams({ token: paymentRequestToken });
  if (returnUrl) query.set('callbackurl', returnUrl);
  return `swish://paymentrequest?${query.toString()}`;
}

export type SwishPaymentLifecycle = NonNullable<PaymentObservation['status']>;

/** CREATED → created, PAID → succeeded, DECLINED → failed, ERROR → failed (TM01: expired), CANCELLED → canceled. */
export function paymentStatusOf(request: Pick<SwishPaymentRequest, 'status' | 'errorCode'>): SwishPaymentLifecycle {
  switch (request.status) {
    case 'CREATED':
      return 'created';
    case 'PAID':
      return 'succeeded';
    case 'DECLINED':
      return 'failed';
    case 'CANCELLED':
      return 'canceled';
    case 'ERROR':
      return request.errorCode === SWISH_TIMEOUT_CODE ? 'expired' : 'failed';
    default:
      // An unknown status is never a final answer: keep asking.
      return 'processing';
  }
}

export function failureReasonOf(request: Pick<SwishPaymentRequest, 'status' | 'errorCode' | 'errorMessage'>): string | undefined {
  if (request.status === 'DECLINED') return [request.errorCode, request.errorMessage ?? 'the payer declined the payment in Swish'].filter(Boolean).join(': ');
  if (request.status !== 'ERROR') return undefined;
  return [request.errorCode, request.errorMessage].filter(Boolean).join(': ') || 'Swish reported an error';
}

/** PAID → succeeded, ERROR → failed, CREATED/VALIDATED/DEBITED → pending. */
export function refundStatusOf(refund: Pick<SwishRefund, 'status'>): RefundObservation['status'] {
  if (refund.status === 'PAID') return 'succeeded';
  if (refund.status === 'ERROR') return 'failed';
  return 'pending';
}

export function refundObservationOf(refund: SwishRefund): RefundObservation {
  const amount = parseAmount(refund.amount);
  return { refundId: refund.id, amount: Number.isNaN(amount) ? 0 : amount, status: refundStatusOf(refund) };
}

/**
 * What a Swish error code means. Swish answers most refusals with 422 and an array of codes; the
 * HTTP status alone cannot tell a bad field from a payer who is not enrolled.
 */
const ERROR_KIND: Record<string, ProviderErrorKind> = {
  // Payment request and refund fields.
  FF08: 'validation', // payeePaymentReference invalid
  RP01: 'validation', // missing merchant Swish number (payeeAlias)
  RP02: 'validation', // message wrongly formatted
  RP03: 'validation', // callbackUrl missing or not HTTPS
  BE18: 'validation', // payer alias invalid
  PA02: 'validation', // amount missing or not a valid number
  AM02: 'validation', // amount too large
  AM03: 'validation', // currency invalid or missing
  AM06: 'validation', // amount below the agreed minimum
  ACMT01: 'validation', // counterpart not activated
  ACMT03: 'validation', // payer not enrolled in Swish
  ACMT07: 'validation', // payee not enrolled
  VR01: 'validation', // payer below the age limit
  VR02: 'validation', // payer alias not enrolled with the given SSN
  RP04: 'not_found', // no payment request for that token
  // State conflicts.
  RP06: 'conflict', // another active payment request for this payer (e-commerce)
  RP07: 'conflict', // the payment request can no longer be cancelled
  RP09: 'conflict', // the instruction UUID is already used
  // Refunds.
  RF02: 'validation', // original payment not found or older than 13 months
  RF03: 'validation', // payer alias of the refund is not the payee of the original payment
  RF04: 'validation', // organisation number mismatch
  RF06: 'validation', // payer SSN mismatch
  RF08: 'validation', // amount larger than what is left of the original payment
  RF07: 'decline', // transaction declined
  BANKIDCL: 'decline', // the payer cancelled the BankID signing
  FF10: 'unavailable', // bank system processing error
};

export function kindOfSwishError(httpStatus: number, codes: readonly string[]): ProviderErrorKind {
  if (httpStatus === 429) return 'rate_limited';
  if (httpStatus === 401 || httpStatus === 403) return 'authentication';
  if (httpStatus >= 500) return 'unavailable';
  for (const code of codes) {
    const kind = ERROR_KIND[code];
    if (kind) return kind;
  }
  return kindFromHttpStatus(httpStatus);
}

/** Reads the `[{ errorCode, errorMessage, additionalInformation }]` body of a Swish refusal. */
export function parseSwishErrors(body: string): SwishErrorEntry[] {
  if (!body.trim()) return [];
  try {
    const parsed: unknown = JSON.parse(body);
    const entries = Array.isArray(parsed) ? parsed : [parsed];
    return entries.filter(
      (entry): entry is SwishErrorEntry => typeof entry === 'object' && entry !== null && typeof (entry as SwishErrorEntry).errorCode === 'string',
    );
  } catch {
    return [];
  }
}
