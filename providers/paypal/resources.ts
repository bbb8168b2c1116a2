// PayPal's resources as they travel on the wire (snake_case JSON: API responses and webhook events
// alike) and their normalization into Skerry's snapshot. Pure: no I/O, so the webhook verifier and
// the client share one mapping and unit tests cover it directly.
import type { ProviderPaymentSnapshot } from '../../domain/observations';
import type { CaptureMethod, NextAction, RefundObservation, RefundStatus } from '../../domain/payments';
import type { Money } from '../../domain/money';
import { fromPayPalValue } from './amounts';

export interface PayPalMoney {
  currency_code: string;
  value: string;
}

export interface PayPalLink {
  href: string;
  rel: string;
  method?: string;
}

export interface PayPalRelatedIds {
  order_id?: string;
  authorization_id?: string;
  capture_id?: string;
}

interface PaymentResource {
  id: string;
  status: string;
  status_details?: { reason?: string };
  amount?: PayPalMoney;
  invoice_id?: string;
  custom_id?: string;
  links?: PayPalLink[];
  supplementary_data?: { related_ids?: PayPalRelatedIds };
  create_time?: string;
  update_time?: string;
}

/** Capture statuses: COMPLETED, DECLINED, PARTIALLY_REFUNDED, PENDING, REFUNDED, FAILED. */
export interface PayPalCapture extends PaymentResource {
  final_capture?: boolean;
}

/** Authorization statuses: CREATED, CAPTURED, DENIED, PARTIALLY_CAPTURED, VOIDED, PENDING (and EXPIRED). */
export interface PayPalAuthorization extends PaymentResource {
  expiration_time?: string;
}

/** Refund statuses: CANCELLED, FAILED, PENDING, COMPLETED. */
export interface PayPalRefund extends PaymentResource {
  seller_payable_breakdown?: { total_refunded_amount?: PayPalMoney };
  note_to_payer?: string;
}

export interface PayPalPurchaseUnit {
  reference_id?: string;
  amount?: PayPalMoney;
  description?: string;
  custom_id?: string;
  invoice_id?: string;
  payments?: { captures?: PayPalCapture[]; authorizations?: PayPalAuthorization[]; refunds?: PayPalRefund[] };
}

/** Order statuses: CREATED, SAVED, APPROVED, VOIDED, COMPLETED, PAYER_ACTION_REQUIRED. */
export interface PayPalOrder {
  id: string;
  intent?: 'CAPTURE' | 'AUTHORIZE';
  status?: string;
  purchase_units?: PayPalPurchaseUnit[];
  links?: PayPalLink[];
  create_time?: string;
  update_time?: string;
  /** Present once a payer approved. */
  payer?: { payer_id?: string };
}

export interface PayPalWebhookEvent {
  id: string;
  event_type: string;
  event_version?: string;
  resource_type?: string;
  resource_version?: string;
  create_time?: string;
  summary?: string;
  resource: unknown;
  links?: PayPalLink[];
}

/** PayPal's error body, and the OAuth flavour (`error`, `error_description`). */
export interface PayPalErrorBody {
  name?: string;
  message?: string;
  debug_id?: string;
  details?: { issue?: string; description?: string; field?: string; value?: string; location?: string }[];
  links?: PayPalLink[];
  error?: string;
  error_description?: string;
}

/** Captures that moved money (later refunds do not undo the capture itself). */
const CAPTURED = new Set(['COMPLETED', 'PARTIALLY_REFUNDED', 'REFUNDED']);
/** Authorizations that still hold (or held, before capture) funds. */
const AUTHORIZED = new Set(['CREATED', 'PARTIALLY_CAPTURED', 'CAPTURED', 'PENDING']);
const CAPTURABLE = new Set(['CREATED', 'PARTIALLY_CAPTURED']);

export function moneyValue(money: PayPalMoney | undefined, fallbackCurrency?: string): number {
  if (!money) return 0;
  return fromPayPalValue(money.value, money.currency_code || fallbackCurrency || 'USD');
}

export function linkOf(resource: { links?: PayPalLink[] }, rel: string): string | undefined {
  return resource.links?.find((link) => link.rel === rel)?.href;
}

/** The URL the payer must visit: `approve` (classic orders) or `payer-action` (payment_source orders). */
export function payerActionUrl(order: PayPalOrder): string | undefined {
  return linkOf(order, 'approve') ?? linkOf(order, 'payer-action');
}

export function orderPayments(order: PayPalOrder): { captures: PayPalCapture[]; authorizations: PayPalAuthorization[]; refunds: PayPalRefund[] } {
  const units = order.purchase_units ?? [];
  return {
    captures: units.flatMap((unit) => unit.payments?.captures ?? []),
    authorizations: units.flatMap((unit) => unit.payments?.authorizations ?? []),
    refunds: units.flatMap((unit) => unit.payments?.refunds ?? []),
  };
}

/** The authorization a capture or void applies to: the newest one still holding funds. */
export function capturableAuthorization(order: PayPalOrder): PayPalAuthorization | undefined {
  return orderPayments(order).authorizations.filter((auth) => CAPTURABLE.has(auth.status)).at(-1);
}

/** Captures that can still be refunded, with what is left on each. */
export function refundableCaptures(order: PayPalOrder): { capture: PayPalCapture; remaining: number }[] {
  const { captures, refunds } = orderPayments(order);
  return captures
    .filter((capture) => capture.status === 'COMPLETED' || capture.status === 'PARTIALLY_REFUNDED')
    .map((capture) => {
      const refunded = refunds
        .filter((refund) => refund.status !== 'FAILED' && refund.status !== 'CANCELLED' && linkOf(refund, 'up')?.endsWith(`/captures/${capture.id}`))
        .reduce((sum, refund) => sum + moneyValue(refund.amount), 0);
      return { capture, remaining: moneyValue(capture.amount) - refunded };
    })
    .filter((entry) => entry.remaining > 0);
}

export function refundStatus(status: string | undefined): RefundStatus {
  if (status === 'COMPLETED') return 'succeeded';
  if (status === 'FAILED' || status === 'CANCELLED') return 'failed';
  return 'pending';
}

export function refundObservation(refund: PayPalRefund): RefundObservation {
  return { refundId: refund.id, amount: moneyValue(refund.amount), status: refundStatus(refund.status) };
}

function describeFailure(resource: PaymentResource, what: string): string {
  const reason = resource.status_details?.reason;
  return `${what} ${resource.status}${reason ? `: ${reason}` : ''}`;
}

/**
 * The normalized state of an order. Only the order status and the payments under it count:
 * COMPLETED means the order's intent ran, not that money moved, so captures and authorizations are
 * read one by one. APPROVED is `processing`: the payer is done and the merchant must capture (or
 * authorize) next, which the client does on read.
 */
export function snapshotFromOrder(order: PayPalOrder): ProviderPaymentSnapshot {
  const { captures, authorizations, refunds } = orderPayments(order);
  const currency = order.purchase_units?.[0]?.amount?.currency_code;
  const sum = <T extends PaymentResource>(items: T[], statuses: Set<string>) =>
    items.filter((item) => statuses.has(item.status)).reduce((total, item) => total + moneyValue(item.amount, currency), 0);
  const amountCaptured = sum(captures, CAPTURED);
  const amountAuthorized = sum(authorizations, AUTHORIZED);
  const amountRefunded = sum(refunds, new Set(['COMPLETED']));

  let status: ProviderPaymentSnapshot['status'];
  let failureReason: string | undefined;
  switch (order.status) {
    case 'CREATED':
    case 'SAVED':
      status = 'created';
      break;
    case 'PAYER_ACTION_REQUIRED':
      // An order created with payment_source.paypal.experience_context starts here: the payer has
      // yet to approve at the payer-action link, as a CREATED order at its approve link. After an
      // approval it means one more step for the payer (3-D Secure, say).
      status = order.payer || captures.length > 0 || authorizations.length > 0 ? 'requires_action' : 'created';
      break;
    case 'APPROVED':
      status = 'processing';
      break;
    case 'VOIDED':
      status = 'canceled';
      break;
    case 'COMPLETED': {
      const declined = captures.find((capture) => capture.status === 'DECLINED' || capture.status === 'FAILED');
      const denied = authorizations.find((auth) => auth.status === 'DENIED');
      if (amountCaptured > 0) status = 'succeeded';
      else if (captures.some((capture) => capture.status === 'PENDING')) status = 'processing';
      else if (authorizations.some((auth) => CAPTURABLE.has(auth.status))) status = 'requires_capture';
      else if (authorizations.some((auth) => auth.status === 'PENDING')) status = 'processing';
      else if (declined) {
        status = 'failed';
        failureReason = describeFailure(declined, 'capture');
      } else if (denied) {
        status = 'failed';
        failureReason = describeFailure(denied, 'authorization');
      } else if (authorizations.some((auth) => auth.status === 'EXPIRED')) status = 'expired';
      else if (authorizations.some((auth) => auth.status === 'VOIDED')) status = 'canceled';
      else status = 'processing';
      break;
    }
    default:
      status = 'processing';
  }

  const awaitingPayer = status === 'created' || status === 'requires_action';
  const url = awaitingPayer ? payerActionUrl(order) : undefined;
  const nextAction: NextAction | undefined = url ? { type: 'redirect', url } : undefined;
  return {
    providerReference: order.id,
    status,
    providerStatus: order.status ?? 'UNKNOWN',
    amountAuthorized: amountAuthorized > 0 ? amountAuthorized : amountCaptured,
    amountCaptured,
    amountRefunded,
    nextAction,
    failureReason,
  };
}

/** What signal-with-start needs to adopt an order Skerry has no workflow for. */
export function adoptionOf(order: PayPalOrder): { amount: Money; reference: string; captureMethod: CaptureMethod } | undefined {
  const unit = order.purchase_units?.[0];
  if (!unit?.amount) return undefined;
  return {
    amount: { value: moneyValue(unit.amount), currency: unit.amount.currency_code },
    reference: unit.reference_id ?? order.id,
    captureMethod: order.intent === 'AUTHORIZE' ? 'manual' : 'automatic',
  };
}

/** Skerry's payment id, carried as `custom_id` on the purchase unit and every payment under it. */
export function paymentIdOf(resource: { custom_id?: string; purchase_units?: PayPalPurchaseUnit[] }): string | undefined {
  return resource.custom_id ?? resource.purchase_units?.find((unit) => unit.custom_id)?.custom_id;
}

/** The order a capture or authorization belongs to. */
export function orderIdOf(resource: PaymentResource): string | undefined {
  const related = resource.supplementary_data?.related_ids?.order_id;
  if (related) return related;
  const up = linkOf(resource, 'up');
  return up ? /\/v2\/checkout\/orders\/([^/?#]+)/.exec(up)?.[1] : undefined;
}
