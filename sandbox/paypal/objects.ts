// The PayPal resources the sandbox keeps. Amounts are held as integer minor units with their
// currency and rendered as PayPal's decimal strings; links are rendered against the base URL the
// client used, so they point back into the sandbox.

export type Intent = 'CAPTURE' | 'AUTHORIZE';
export type OrderStatus = 'CREATED' | 'SAVED' | 'APPROVED' | 'VOIDED' | 'COMPLETED' | 'PAYER_ACTION_REQUIRED';
export type CaptureStatus = 'COMPLETED' | 'DECLINED' | 'PARTIALLY_REFUNDED' | 'PENDING' | 'REFUNDED' | 'FAILED';
export type AuthorizationStatus = 'CREATED' | 'CAPTURED' | 'DENIED' | 'PARTIALLY_CAPTURED' | 'VOIDED' | 'PENDING';
export type RefundStatus = 'CANCELLED' | 'FAILED' | 'PENDING' | 'COMPLETED';

export interface Amount {
  /** Minor units (öre, cents; yen for JPY). */
  minor: number;
  currency: string;
}

export interface PayPalMoney {
  currency_code: string;
  value: string;
}

export interface PayPalLink {
  href: string;
  rel: string;
  method: 'GET' | 'POST' | 'PATCH';
}

/** How the payer's approval will end when Skerry captures or authorizes. */
export type DeclineMode = 'instrument_declined' | 'capture_denied';

export interface SandboxOrderFlags {
  abandoned: boolean;
  /** Set by the `fail` control: the approved funding instrument will be declined. */
  decline: DeclineMode | null;
}

export interface StoredOrder {
  id: string;
  intent: Intent;
  status: OrderStatus;
  createdAt: number;
  updatedAt: number;
  referenceId: string;
  amount: Amount;
  description?: string;
  customId?: string;
  invoiceId?: string;
  softDescriptor?: string;
  /** Orders created with `payment_source.paypal.experience_context` (status PAYER_ACTION_REQUIRED). */
  experience?: { returnUrl?: string; cancelUrl?: string; userAction?: string; brandName?: string };
  payer?: { payerId: string; email: string; givenName: string; surname: string; countryCode: string };
  captureIds: string[];
  authorizationIds: string[];
  flags: SandboxOrderFlags;
}

export interface StoredCapture {
  id: string;
  orderId: string;
  authorizationId?: string;
  status: CaptureStatus;
  statusReason?: string;
  amount: Amount;
  fee: number;
  finalCapture: boolean;
  invoiceId?: string;
  customId?: string;
  refundIds: string[];
  createdAt: number;
  updatedAt: number;
}

export interface StoredAuthorization {
  id: string;
  orderId: string;
  status: AuthorizationStatus;
  statusReason?: string;
  amount: Amount;
  invoiceId?: string;
  customId?: string;
  captureIds: string[];
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
}

export interface StoredRefund {
  id: string;
  captureId: string;
  orderId: string;
  status: RefundStatus;
  statusReason?: string;
  amount: Amount;
  invoiceId?: string;
  customId?: string;
  noteToPayer?: string;
  createdAt: number;
  updatedAt: number;
}

export type ResourceType = 'checkout-order' | 'capture' | 'authorization' | 'refund';

export type EventType =
  | 'CHECKOUT.ORDER.APPROVED'
  | 'PAYMENT.CAPTURE.COMPLETED'
  | 'PAYMENT.CAPTURE.DENIED'
  | 'PAYMENT.CAPTURE.REFUNDED'
  | 'PAYMENT.AUTHORIZATION.CREATED'
  | 'PAYMENT.AUTHORIZATION.VOIDED';

export interface WebhookEvent {
  id: string;
  event_version: '1.0';
  create_time: string;
  resource_type: ResourceType;
  resource_version: '2.0';
  event_type: EventType;
  summary: string;
  resource: Record<string, unknown>;
  links: PayPalLink[];
}

/** One line of the transaction search report (`GET /v1/reporting/transactions`). */
export interface TransactionRecord {
  transactionId: string;
  /** T0006: PayPal Checkout payment; T1107: payment refund. */
  eventCode: 'T0006' | 'T1107';
  /** The capture a refund belongs to. */
  referenceId?: string;
  initiatedAt: number;
  updatedAt: number;
  /** Signed: a refund is negative. */
  amount: Amount;
  /** Signed, as PayPal reports it: the fee of a payment is negative. */
  fee: number;
  /** S success, P pending, D denied, V reversed. */
  status: 'S' | 'P' | 'D' | 'V';
  invoiceId?: string;
  customField?: string;
}
