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
