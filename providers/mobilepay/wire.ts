// How Skerry's payments meet the ePayment API's wire: payment references and idempotency keys within
// the API's limits, the mapping of a payment to a snapshot, and the classification of error answers.
import type { GetPaymentResponse, Problem } from '@vippsmobilepay/sdk';
import { ProviderError, type ProviderErrorKind, kindFromHttpStatus, parseRetryAfter } from '../errors';
import { createHash } from 'node:crypto';
import type { ProviderPaymentSnapshot } from '../../domain/observations';

/** The provider name every error and log line of this adapter carries. */
export const PROVIDER = 'mobilepay';

export type EPaymentState = GetPaymentResponse['state'];
/** What a payment read and a modification (capture, cancel, refund) both answer. */
export type EPaymentView = Pick<GetPaymentResponse, 'reference' | 'state' | 'aggregate' | 'amount'> & { redirectUrl?: string; pspReference?: string };

// ─── References and idempotency keys ─────────────────────────────────────────────────────────

const REFERENCE_PATTERN = /^[a-zA-Z0-9-]{8,64}$/;

/**
 * The ePayment reference for a Skerry payment: the payment id with `_` replaced by `-`
 * (`pay_3f9c…` → `pay-3f9c…`), since references allow only `[a-zA-Z0-9-]`, 8 to 64 characters.
 */
export function referenceForPayment(paymentId: string): string {
  const reference = paymentId.replaceAll('_', '-');
  if (!REFERENCE_PATTERN.test(reference)) {
    throw new ProviderError(PROVIDER, 'create_payment', 'validation', `payment id ${paymentId} cannot be an ePayment reference (8-64 of [a-zA-Z0-9-])`);
  }
  return reference;
}

/**
 * The reverse of referenceForPayment. Skerry payment ids are `pay_` followed by lowercase letters and
 * digits, so the only `_` is the one after `pay` and the reverse is exact. A reference of any other
 * shape (a payment made outside Skerry) has no payment id; the webhook inbox then matches it by
 * provider reference.
 */
export function paymentIdFromReference(reference: string): string | undefined {
  const match = /^pay-([a-z0-9]{6,40})$/.exec(reference);
  return match ? `pay_${match[1]}` : undefined;
}

const MAX_IDEMPOTENCY_KEY_LENGTH = 50;

/**
 * The Idempotency-Key sent for a Skerry key: unchanged when it is at most 50 characters of
 * `[A-Za-z0-9_-]`, otherwise a stable hash of it. Deterministic, so every retry sends the same key.
 */
export function wireIdempotencyKey(key: string): string {
  if (key.length <= MAX_IDEMPOTENCY_KEY_LENGTH && /^[A-Za-z0-9_-]+$/.test(key)) return key;
  return `skerry-${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

// ─── Phone numbers ───────────────────────────────────────────────────────────────────────────

/**
 * The lengths of a mobile number after the country code, for the countries Vipps MobilePay serves;
 * any other country only has to match the ePayment pattern (`^\d{9,15}$`).
 */
const NATIONAL_DIGITS: readonly { prefix: string; country: string; digits: readonly number[] }[] = [
  { prefix: '47', country: 'Norwegian', digits: [8] },
  { prefix: '45', country: 'Danish', digits: [8] },
  { prefix: '358', country: 'Finnish', digits: [6, 7, 8, 9, 10] },
];

/**
 * `customer.phoneNumber` as ePayment takes it: an MSISDN, the country code then the number, digits
 * only, no `+` or `00` (4712345678, 4512345678). Spaces, dashes and a leading `+`/`00` are dropped;
 * anything else that is not such a number is refused here, with the reason, before the API is asked.
 */
export function toMsisdn(phone: string, operation = 'create_payment'): string {
  const digits = phone.trim().replace(/[\s\-().]/g, '').replace(/^\+/, '').replace(/^00/, '');
  const refuse = (why: string) =>
    new ProviderError(PROVIDER, operation, 'validation', `payer phone number ${JSON.stringify(phone)} ${why}; ePayment wants the country code and the number, digits only (e.g. 4712345678 or 4512345678)`, {
      code: 'customer.phoneNumber',
    });
  if (!/^\d{9,15}$/.test(digits)) throw refuse('is not an MSISDN of 9 to 15 digits');
  const plan = NATIONAL_DIGITS.find((entry) => digits.startsWith(entry.prefix));
  if (plan && !plan.digits.includes(digits.length - plan.prefix.length)) {
    throw refuse(`is not a valid ${plan.country} number (${plan.prefix} followed by ${plan.digits.length === 1 ? plan.digits[0] : `${plan.digits[0]}–${plan.digits.at(-1)}`} digits)`);
  }
  return digits;
}

// ─── Mapping ─────────────────────────────────────────────────────────────────────────────────

/**
 * ePayment states to Skerry statuses. AUTHORIZED stays the state after captures, cancellations and
 * refunds, so the aggregate decides: anything captured → succeeded; everything authorized cancelled
 * → canceled; otherwise the authorization waits for a capture (requires_capture — ePayment always
 * authorizes first, for automatic capture too).
 */
export function snapshotFromPayment(payment: EPaymentView): ProviderPaymentSnapshot {
  const authorized = payment.aggregate.authorizedAmount.value;
  const captured = payment.aggregate.capturedAmount.value;
  const cancelled = payment.aggregate.cancelledAmount.value;
  const refunded = payment.aggregate.refundedAmount.value;
  let status: ProviderPaymentSnapshot['status'];
  let failureReason: string | undefined;
  switch (payment.state) {
    case 'CREATED':
      status = 'created';
      break;
    case 'AUTHORIZED':
      if (captured > 0) status = 'succeeded';
      else if (authorized > 0 && cancelled >= authorized) status = 'canceled';
      else status = 'requires_capture';
      break;
    case 'ABORTED':
      status = 'failed';
      failureReason = 'aborted by user';
      break;
    case 'EXPIRED':
      status = 'expired';
      break;
    case 'TERMINATED':
      status = 'canceled';
      break;
    default:
      status = 'processing';
  }
  return {
    providerReference: payment.reference,
    status,
    providerStatus: payment.state,
    amountAuthorized: authorized,
    amountCaptured: captured,
    amountRefunded: refunded,
    nextAction: status === 'created' && payment.redirectUrl ? { type: 'redirect', url: payment.redirectUrl } : undefined,
    failureReason,
  };
}

// ─── Errors ──────────────────────────────────────────────────────────────────────────────────

type ProblemBody = Partial<Problem> & { instance?: string; message?: string; error?: string; error_description?: string };

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * An error answer as a ProviderError. ePayment answers RFC 7807 problem JSON (`type` identifies the
 * error); the API gateway answers `{ statusCode, message }`; the token endpoint answers
 * `{ error, error_description }`. The HTTP status decides the kind; 423 Locked is transient
 * ("retry with the same Idempotency-Key"), so it is `unavailable`.
 */
export function classifyMobilePayResponse(
  operation: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  bodyText: string,
): ProviderError {
  const body = (parseJson(bodyText) ?? {}) as ProblemBody;
  let kind: ProviderErrorKind = kindFromHttpStatus(status);
  if (status === 423) kind = 'unavailable';
  const details = (body.extraDetails ?? []).map((detail) => `${detail.name}: ${detail.reason}`).join('; ');
  const summary =
    [body.title, body.detail].filter(Boolean).join(': ') ||
    body.message ||
    [body.error, body.error_description].filter(Boolean).join(': ') ||
    bodyText.slice(0, 200) ||
    `HTTP ${status}`;
  const trace = body.traceId ?? body.instance;
  const message = `${summary}${details ? ` (${details})` : ''}${trace ? ` [trace ${trace}]` : ''}`;
  const retryAfter = headers['retry-after'];
  return new ProviderError(PROVIDER, operation, kind, message, {
    httpStatus: status,
    code: body.type ?? body.error ?? undefined,
    retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
  });
}
