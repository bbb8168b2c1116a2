// The error shapes of the Vipps MobilePay APIs: ePayment and Webhooks answer RFC 7807 problem JSON
// (`application/problem+json`: type, title, status, detail, traceId, extraDetails); the API gateway in
// front answers 401s as `{ statusCode, message }`; the access token endpoint as `{ error, ... }`.
import { randomUUID } from 'node:crypto';

const DOCS = 'https://developer.vippsmobilepay.com/docs/APIs/epayment-api/api-guide/errors';

export interface ExtraDetail {
  name: string;
  reason: string;
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail?: string;
  traceId: string;
  extraDetails?: ExtraDetail[];
}

export class EPaymentProblem extends Error {
  override readonly name = 'EPaymentProblem';
  constructor(
    readonly status: number,
    readonly type: string,
    readonly title: string,
    readonly detail?: string,
    readonly extraDetails?: ExtraDetail[],
    /** False when the request was refused before it ran: nothing is saved for its Idempotency-Key. */
    readonly executed = false,
  ) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

export function renderProblem(problem: EPaymentProblem): ProblemBody {
  const body: ProblemBody = { type: problem.type, title: problem.title, status: problem.status, traceId: randomUUID() };
  if (problem.detail) body.detail = problem.detail;
  if (problem.extraDetails?.length) body.extraDetails = problem.extraDetails;
  return body;
}

export const validationProblem = (detail: string, extraDetails?: ExtraDetail[]) =>
  new EPaymentProblem(400, `${DOCS}#validation-error`, 'Bad Request', detail, extraDetails);

export const notFoundProblem = (reference: string) =>
  new EPaymentProblem(404, `${DOCS}#payment-not-found`, 'Not Found', `Payment with reference '${reference}' was not found`);

export const stateProblem = (detail: string) => new EPaymentProblem(409, `${DOCS}#invalid-payment-state`, 'Conflict', detail);

export const referenceConflictProblem = (reference: string) =>
  new EPaymentProblem(409, `${DOCS}#reference-already-used`, 'Conflict', `A payment with reference '${reference}' already exists`);

export const idempotencyMismatchProblem = (key: string, reason: 'endpoint' | 'parameters') =>
  new EPaymentProblem(
    409,
    `${DOCS}#idempotency-key-reused`,
    'Conflict',
    `Idempotency-Key '${key}' was already used with a different ${reason === 'endpoint' ? 'endpoint' : 'request body'}`,
  );

export const idempotencyInFlightProblem = (key: string) =>
  new EPaymentProblem(409, `${DOCS}#idempotency-key-in-use`, 'Conflict', `A request with Idempotency-Key '${key}' is still being processed`);

export const forbiddenProblem = (detail: string) => new EPaymentProblem(403, `${DOCS}#forbidden`, 'Forbidden', detail);

export const serverErrorProblem = () =>
  new EPaymentProblem(500, `${DOCS}#internal-error`, 'Internal Server Error', 'An internal error occurred. Retry with the same Idempotency-Key.');

export const rateLimitProblem = () =>
  new EPaymentProblem(429, `${DOCS}#too-many-requests`, 'Too Many Requests', 'Rate limit exceeded. Retry after the time given in Retry-After.');

/** The API gateway's 401 (not problem JSON). */
export const gatewayUnauthorized = (message: string) => ({ statusCode: 401, message });

/** The access token endpoint's error body. */
export const tokenError = (error: string, description: string) => ({
  error,
  error_description: description,
  error_codes: [70001],
  timestamp: new Date().toISOString(),
  trace_id: randomUUID(),
  correlation_id: randomUUID(),
});
