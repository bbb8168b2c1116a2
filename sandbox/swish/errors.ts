// Swish's refusals: an HTTP status and, for 422, an array of `{ errorCode, errorMessage,
// additionalInformation }`. The codes and wording follow Swish's published error list.
import { SandboxRefusal } from '../shared/errors';

export interface SwishErrorBody {
  errorCode: string | null;
  errorMessage: string;
  additionalInformation: string | null;
}

export const SWISH_ERROR_MESSAGES: Record<string, string> = {
  FF08: 'PayeePaymentReference is invalid',
  RP01: 'Missing Merchant Swish Number',
  RP02: 'Wrong formatted message',
  RP03: 'Callback URL is missing or does not use HTTPS',
  RP04: 'No payment request found related to a token',
  RP06: 'A payment request already exists for that payer',
  RP07: 'Transaction status not valid for this operation',
  RP09: 'The given instructionUUID is not available',
  BE18: 'Payer alias is invalid',
  PA02: 'Amount value is missing or not a valid number',
  AM02: 'Amount value is too large',
  AM03: 'Invalid or missing Currency',
  AM06: 'Specified transaction amount is less than agreed minimum',
  ACMT01: 'Counterpart is not activated',
  ACMT03: 'Payer not Enrolled',
  ACMT07: 'Payee not Enrolled',
  VR01: 'Payer does not meet age limit',
  VR02: 'The payer alias in the request is not enrolled in Swish with the supplied SSN',
  RF02: 'Original Payment not found or original payment is more than 13 months old',
  RF03: 'Payer alias in the refund does not match the payee alias in the original payment',
  RF08: 'Amount value is too large, or amount exceeds the amount of the original payment minus any previous refunds',
  // Asynchronous outcomes (status ERROR on the object, never a 422).
  RF07: 'Transaction declined',
  BANKIDCL: 'Payer cancelled BankId signing',
  FF10: 'Bank system processing error',
  TM01: 'Swish timed out before the payment was started',
  DS24: "Swish timed out waiting for an answer from the banks after payment was started. Note: If this happens Swish has no knowledge of whether the payment was successful or not",
};

/** Codes a 422 carries (validation of the request). */
export const SYNCHRONOUS_CODES = new Set([
  'FF08', 'RP01', 'RP02', 'RP03', 'RP06', 'BE18', 'PA02', 'AM02', 'AM03', 'AM06', 'ACMT01', 'ACMT03', 'ACMT07', 'VR01', 'VR02', 'RF02', 'RF03', 'RF08',
]);

/** Codes that end a created payment request or refund in status ERROR. */
export const ASYNCHRONOUS_CODES = new Set(['RF07', 'BANKIDCL', 'FF10', 'TM01', 'DS24']);

export function swishError(code: string, additionalInformation: string | null = null): SwishErrorBody {
  return { errorCode: code, errorMessage: SWISH_ERROR_MESSAGES[code] ?? code, additionalInformation };
}

/** A refusal the API answers with `statusCode` and `body` (empty for 401/403/404/415). */
export class SwishApiError extends Error {
  override readonly name = 'SwishApiError';
  constructor(
    readonly statusCode: number,
    readonly errors: SwishErrorBody[] = [],
  ) {
    super(errors.map((error) => `${error.errorCode ?? ''} ${error.errorMessage}`.trim()).join('; ') || `HTTP ${statusCode}`);
  }
}

export const unprocessable = (...errors: SwishErrorBody[]) => new SwishApiError(422, errors);

/** A control call that does not fit the object's state (409) or names nothing (404). */
export class ControlError extends SandboxRefusal {
  override readonly name = 'ControlError';
}
