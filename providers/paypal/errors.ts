// PayPal failures in Skerry's one classification. PayPal answers errors as
// `{ name, message, debug_id, details: [{ issue, description }] }` (OAuth: `{ error, error_description }`);
// the HTTP status gives the broad kind and the first `issue` refines it.
import { ApiError, ResponseValidationError } from '@paypal/paypal-server-sdk';
import { classifyTransportError, kindFromHttpStatus, parseRetryAfter, ProviderError, type ProviderErrorKind } from '../errors';
import { AmountError } from './amounts';
import type { PayPalErrorBody } from './resources';

/** The payer's funding failed: a decline, not a bug; retrying the same request cannot help. */
const DECLINE_ISSUES = new Set([
  'INSTRUMENT_DECLINED',
  'TRANSACTION_REFUSED',
  'PAYER_CANNOT_PAY',
  'CARD_EXPIRED',
  'CARD_CLOSED',
  'REDIRECT_PAYER_FOR_ALTERNATE_FUNDING',
  'MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED',
  'PAYER_ACCOUNT_RESTRICTED',
  'PAYER_ACCOUNT_LOCKED_OR_CLOSED',
  'TRANSACTION_LIMIT_EXCEEDED',
  'COMPLIANCE_VIOLATION',
  'DECLINED_DUE_TO_RELATED_TXN',
]);

/** The resource is not in a state that allows the command (or a key was reused). */
const CONFLICT_ISSUES = new Set([
  'ORDER_NOT_APPROVED',
  'ORDER_ALREADY_CAPTURED',
  'ORDER_ALREADY_AUTHORIZED',
  'ORDER_ALREADY_COMPLETED',
  'ORDER_EXPIRED',
  'ORDER_COMPLETED_OR_VOIDED',
  'ACTION_DOES_NOT_MATCH_INTENT',
  'AUTHORIZATION_ALREADY_CAPTURED',
  'AUTHORIZATION_VOIDED',
  'AUTHORIZATION_EXPIRED',
  'PREVIOUSLY_CAPTURED',
  'PREVIOUSLY_VOIDED',
  'CANNOT_BE_VOIDED',
  'CAPTURE_FULLY_REFUNDED',
  'DUPLICATE_INVOICE_ID',
  'PAYPAL_REQUEST_ID_PREVIOUSLY_USED',
  'DUPLICATE_REQUEST_ID',
]);

/** Transient: the same request succeeds later. */
const RETRYABLE_ISSUES = new Set(['PREVIOUS_REQUEST_IN_PROGRESS', 'INTERNAL_SERVICE_ERROR', 'INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE']);

const AUTH_ISSUES = new Set(['invalid_token', 'invalid_client', 'AUTHENTICATION_FAILURE', 'NOT_AUTHORIZED', 'PERMISSION_DENIED']);
const NOT_FOUND_ISSUES = new Set(['RESOURCE_NOT_FOUND', 'INVALID_RESOURCE_ID']);

export function parseErrorBody(body: unknown): PayPalErrorBody | undefined {
  if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) return body as PayPalErrorBody;
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed !== null && typeof parsed === 'object' ? (parsed as PayPalErrorBody) : undefined;
  } catch {
    return undefined;
  }
}

/** The most specific code PayPal gave: the first detail's issue, else the OAuth error, else the name. */
export function issueOf(body: PayPalErrorBody | undefined): string | undefined {
  return body?.details?.find((detail) => detail.issue)?.issue ?? body?.error ?? body?.name;
}

export function kindForPayPal(status: number, body: PayPalErrorBody | undefined): ProviderErrorKind {
  const issues = [body?.details?.map((detail) => detail.issue), body?.error, body?.name].flat().filter((x): x is string => Boolean(x));
  if (status === 429 || issues.includes('RATE_LIMIT_REACHED')) return 'rate_limited';
  if (status >= 500) return 'unavailable';
  if (status === 401 || status === 403 || issues.some((issue) => AUTH_ISSUES.has(issue))) return 'authentication';
  if (issues.some((issue) => RETRYABLE_ISSUES.has(issue))) return 'unavailable';
  if (issues.some((issue) => DECLINE_ISSUES.has(issue))) return 'decline';
  if (issues.some((issue) => CONFLICT_ISSUES.has(issue))) return 'conflict';
  if (status === 404 || issues.some((issue) => NOT_FOUND_ISSUES.has(issue))) return 'not_found';
  return kindFromHttpStatus(status);
}

function header(headers: Record<string, string | string[] | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  const value = key ? headers[key] : undefined;
  return Array.isArray(value) ? value[0] : value;
}

export function describePayPalError(status: number, body: PayPalErrorBody | undefined): string {
  if (!body) return `PayPal answered HTTP ${status}`;
  if (body.error) return `${body.error}: ${body.error_description ?? 'OAuth error'}`;
  const detail = body.details?.find((item) => item.issue);
  const parts = [body.name, detail ? `${detail.issue}${detail.description ? ` (${detail.description})` : ''}` : body.message];
  return `${parts.filter(Boolean).join(': ')}${body.debug_id ? ` [debug_id ${body.debug_id}]` : ''}`;
}

/** An HTTP answer from PayPal as a ProviderError. */
export function providerErrorFromResponse(
  operation: string,
  status: number,
  rawBody: unknown,
  headers?: Record<string, string | string[] | undefined>,
  cause?: unknown,
): ProviderError {
  const body = parseErrorBody(rawBody);
  const kind = kindForPayPal(status, body);
  return new ProviderError('paypal', operation, kind, describePayPalError(status, body), {
    httpStatus: status,
    code: issueOf(body),
    retryAfterMs: kind === 'rate_limited' ? parseRetryAfter(header(headers, 'retry-after')) : undefined,
    cause,
  });
}

export function classifyPayPalError(operation: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof AmountError) return new ProviderError('paypal', operation, 'validation', err.message, { cause: err });
  if (err instanceof ApiError) {
    const result = (err as ApiError & { result?: unknown }).result;
    return providerErrorFromResponse(operation, err.statusCode, result ?? err.body, err.headers, err);
  }
  if (err instanceof ResponseValidationError) {
    // A 2xx answer the SDK's schema refused: PayPal said something we cannot read. Retrying may
    // help if it was a glitch; the activity's retry policy bounds it.
    return new ProviderError('paypal', operation, 'unavailable', err.message, { httpStatus: err.statusCode, code: 'RESPONSE_VALIDATION', cause: err });
  }
  return classifyTransportError('paypal', operation, err);
}
