// One classification of provider failures, shared by every adapter. Activities turn a ProviderError
// into an ApplicationFailure whose retryability and delay come from here, never from call sites; the
// kinds and which of them are retryable are defined once, in domain/provider-errors.ts.
import type { ProviderName } from '../domain/payments';
import { PROVIDER_ERROR_KINDS, type ProviderErrorKind } from '../domain/provider-errors';

export type { ProviderErrorKind };

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly retryable: boolean;
  constructor(
    readonly provider: ProviderName | string,
    readonly operation: string,
    readonly kind: ProviderErrorKind,
    message: string,
    readonly details: { httpStatus?: number; code?: string; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
    this.retryable = PROVIDER_ERROR_KINDS[kind].retryable;
  }
}

/** Maps an HTTP status to a kind; adapters refine it with the provider's own error codes. */
export function kindFromHttpStatus(status: number): ProviderErrorKind {
  if (status === 429) return 'rate_limited';
  if (status === 401 || status === 403) return 'authentication';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 402) return 'decline';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'unavailable';
  return 'validation';
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** Classifies an error thrown below the HTTP layer (no response at all). */
export function classifyTransportError(provider: string, operation: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const code = (err as { code?: string; cause?: { code?: string } })?.code ?? (err as { cause?: { code?: string } })?.cause?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || /timed? ?out/i.test(message)) {
    return new ProviderError(provider, operation, 'timeout', message, { code, cause: err });
  }
  if (code && NETWORK_CODES.has(code)) return new ProviderError(provider, operation, 'network', message, { code, cause: err });
  return new ProviderError(provider, operation, 'network', message, { code, cause: err });
}
