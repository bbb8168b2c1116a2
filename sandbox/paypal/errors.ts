// PayPal's error shapes. REST errors: `{ name, message, debug_id, details: [{ field?, value?,
// location?, issue, description }], links }` with 400 INVALID_REQUEST, 401 AUTHENTICATION_FAILURE,
// 404 RESOURCE_NOT_FOUND, 409 RESOURCE_CONFLICT, 422 UNPROCESSABLE_ENTITY, 429 RATE_LIMIT_REACHED,
// 500 INTERNAL_SERVER_ERROR. The OAuth server (token endpoint, and a bad bearer token) answers
// `{ error, error_description }` instead.

export interface PayPalIssue {
  issue: string;
  description: string;
  field?: string;
  value?: string;
  location?: 'body' | 'path' | 'query' | 'header';
}

export type PayPalErrorBody =
  | { name: string; message: string; debug_id: string; details?: PayPalIssue[]; links?: { href: string; rel: string; method?: string }[] }
  | { error: string; error_description: string };

export class PayPalApiError extends Error {
  override readonly name = 'PayPalApiError';
  constructor(
    readonly statusCode: number,
    readonly errorName: string,
    message: string,
    readonly details: PayPalIssue[] = [],
    /**
     * False when the request was refused before it ran (bad parameters, auth): nothing is saved
     * under its PayPal-Request-Id, so a corrected retry with the same id runs.
     */
    readonly executed = true,
    /** OAuth-style body (`{ error, error_description }`) instead of the REST one. */
    readonly oauth = false,
  ) {
    super(message);
  }
}

const API_DOCS = 'https://developer.paypal.com/api/rest/reference/orders/v2/errors/';

export function render(error: PayPalApiError, debugId: string): PayPalErrorBody {
  if (error.oauth) return { error: error.errorName, error_description: error.message };
  const body: PayPalErrorBody = { name: error.errorName, message: error.message, debug_id: debugId };
  if (error.details.length > 0) {
    body.details = error.details;
    const issue = error.details[0]!.issue;
    body.links = [{ href: `${API_DOCS}#${error.errorName}-${issue}`, rel: 'information_link', method: 'GET' }];
  } else {
    body.links = [{ href: `${API_DOCS}#${error.errorName}`, rel: 'information_link', method: 'GET' }];
  }
  return body;
}

/** 400: the request is malformed; nothing ran. */
export function invalidRequest(issues: PayPalIssue[]): PayPalApiError {
  return new PayPalApiError(400, 'INVALID_REQUEST', 'Request is not well-formed, syntactically incorrect, or violates schema.', issues, false);
}

export function missingParameter(field: string, location: PayPalIssue['location'] = 'body'): PayPalApiError {
  return invalidRequest([{ field, location, issue: 'MISSING_REQUIRED_PARAMETER', description: 'A required field / parameter is missing.' }]);
}

export function invalidParameter(field: string, value: unknown, description: string, issue = 'INVALID_PARAMETER_VALUE', location: PayPalIssue['location'] = 'body'): PayPalApiError {
  return invalidRequest([{ field, value: value === undefined ? undefined : String(value), location, issue, description }]);
}

/** 422: business validation failed. `executed` false for checks that happen before any change. */
export function unprocessable(issue: string, description: string, options: { executed?: boolean; field?: string; value?: string } = {}): PayPalApiError {
  return new PayPalApiError(
    422,
    'UNPROCESSABLE_ENTITY',
    'The requested action could not be performed, semantically incorrect, or failed business validation.',
    [{ issue, description, ...(options.field ? { field: options.field, location: 'body' as const } : {}), ...(options.value ? { value: options.value } : {}) }],
    options.executed ?? true,
  );
}

export function resourceNotFound(description = 'Specified resource ID does not exist. Please check the resource ID and try again.'): PayPalApiError {
  return new PayPalApiError(404, 'RESOURCE_NOT_FOUND', 'The specified resource does not exist.', [{ issue: 'INVALID_RESOURCE_ID', description }], false);
}

export function authenticationFailure(): PayPalApiError {
  return new PayPalApiError(401, 'AUTHENTICATION_FAILURE', 'Authentication failed due to invalid authentication credentials or a missing Authorization header.', [], false);
}

export function invalidToken(description: string): PayPalApiError {
  return new PayPalApiError(401, 'invalid_token', description, [], false, true);
}

export function invalidClient(): PayPalApiError {
  return new PayPalApiError(401, 'invalid_client', 'Client Authentication failed', [], false, true);
}

export function unsupportedGrantType(grantType: string | undefined): PayPalApiError {
  return new PayPalApiError(400, 'unsupported_grant_type', grantType ? `Grant Type ${grantType} is not supported` : 'Grant Type is NULL', [], false, true);
}

export function internalServerError(): PayPalApiError {
  return new PayPalApiError(500, 'INTERNAL_SERVER_ERROR', 'An internal server error has occurred.', [], false);
}

export function rateLimitReached(): PayPalApiError {
  return new PayPalApiError(429, 'RATE_LIMIT_REACHED', 'Too many requests. Blocked due to rate limiting.', [], false);
}

export function requestIdReused(): PayPalApiError {
  return unprocessable('PAYPAL_REQUEST_ID_PREVIOUSLY_USED', 'The PayPal-Request-Id has already been used for another request.', { executed: false });
}

export function previousRequestInProgress(): PayPalApiError {
  return new PayPalApiError(
    409,
    'RESOURCE_CONFLICT',
    'The server has detected a conflict while processing this request.',
    [{ issue: 'PREVIOUS_REQUEST_IN_PROGRESS', description: 'A previous request on this resource is currently in progress. Please wait for some time and try again. It is best to space out the initial and the subsequent request(s) to avoid receiving this error.' }],
    false,
  );
}
