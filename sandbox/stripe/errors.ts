// Stripe's error shape: `{ error: { type, code?, decline_code?, doc_url?, message, param?, ... } }`
// with the HTTP status that goes with the type. The SDK turns these into its own error classes
// (400/404 → StripeInvalidRequestError, 402 → StripeCardError, 401 → StripeAuthenticationError,
// 429 → StripeRateLimitError, idempotency_error → StripeIdempotencyError, 5xx → StripeAPIError).

export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error' | 'rate_limit_error';

export interface StripeErrorBody {
  type: StripeErrorType;
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  doc_url?: string;
  charge?: string;
  payment_intent?: unknown;
  payment_method?: unknown;
  request_log_url?: string;
}

export class StripeApiError extends Error {
  override readonly name = 'StripeApiError';
  constructor(
    readonly statusCode: number,
    readonly body: StripeErrorBody,
    /**
     * False for requests refused before the endpoint ran (bad parameters): Stripe saves no
     * idempotent result for those, so a corrected retry with the same key is allowed.
     */
    readonly executed = true,
  ) {
    super(body.message);
  }
}

function withDocs(body: StripeErrorBody): StripeErrorBody {
  return body.code && !body.doc_url ? { ...body, doc_url: `https://stripe.com/docs/error-codes/${body.code.replaceAll('_', '-')}` } : body;
}

export function invalidRequest(message: string, extra: { code?: string; param?: string; status?: number; executed?: boolean } = {}): StripeApiError {
  return new StripeApiError(
    extra.status ?? 400,
    withDocs({ type: 'invalid_request_error', message, code: extra.code, param: extra.param }),
    extra.executed ?? true,
  );
}

/** A parameter failed validation: nothing ran, nothing is saved for the idempotency key. */
export function invalidParam(message: string, param: string, code?: string): StripeApiError {
  return invalidRequest(message, { param, code, executed: false });
}

export function resourceMissing(kind: string, id: string, param = 'id'): StripeApiError {
  return invalidRequest(`No such ${kind}: '${id}'`, { code: 'resource_missing', param, status: 404 });
}

export function unexpectedState(message: string, param?: string): StripeApiError {
  return invalidRequest(message, { code: 'payment_intent_unexpected_state', param });
}

export function cardError(body: Omit<StripeErrorBody, 'type'>): StripeApiError {
  return new StripeApiError(402, withDocs({ ...body, type: 'card_error' }));
}

export function apiError(message = 'Sorry, something went wrong. We\'ve already been notified of the problem, but if you need any help, you can reach us at support.stripe.com/contact.'): StripeApiError {
  return new StripeApiError(500, { type: 'api_error', message });
}

export function rateLimitError(): StripeApiError {
  return new StripeApiError(
    429,
    {
      type: 'rate_limit_error',
      code: 'rate_limit',
      message: 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
    },
    false,
  );
}

export function authenticationError(apiKey: string | undefined): StripeApiError {
  const message =
    apiKey === undefined
      ? "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."
      : `Invalid API Key provided: ${redactKey(apiKey)}`;
  return new StripeApiError(401, { type: 'invalid_request_error', message }, false);
}

export function redactKey(apiKey: string): string {
  const prefix = /^(sk|rk|pk)_(test|live)_/.exec(apiKey)?.[0] ?? '';
  return `${prefix}${'*'.repeat(Math.max(4, apiKey.length - prefix.length - 4))}${apiKey.slice(-4)}`;
}

export function idempotencyMismatch(key: string, reason: 'endpoint' | 'parameters', originalEndpoint: string): StripeApiError {
  const message =
    reason === 'endpoint'
      ? `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${originalEndpoint}'). Try using a key other than '${key}' if you meant to execute a different request.`
      : `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`;
  return new StripeApiError(400, { type: 'idempotency_error', message }, false);
}

export function idempotencyKeyInUse(key: string): StripeApiError {
  return new StripeApiError(
    409,
    withDocs({
      type: 'idempotency_error',
      code: 'idempotency_key_in_use',
      message: `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`,
    }),
    false,
  );
}

export function renderError(error: StripeApiError, requestId?: string): { error: StripeErrorBody } {
  const body: StripeErrorBody = { ...error.body };
  if (requestId && error.statusCode !== 401) {
    body.request_log_url = `https://dashboard.stripe.com/test/logs/${requestId}?t=${Math.floor(Date.now() / 1000)}`;
  }
  // Stripe omits absent fields rather than sending null.
  for (const key of Object.keys(body) as (keyof StripeErrorBody)[]) {
    if (body[key] === undefined) delete body[key];
  }
  return { error: body };
}
