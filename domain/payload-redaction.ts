// What the webhook inbox keeps of a provider's payload: an allowlist per provider, so a field a
// provider adds tomorrow (or one we never looked at: client secrets, billing details, payers' names,
// emails, phone numbers, addresses, card data) is dropped by default. Ids, types, statuses, amounts,
// currencies, timestamps and references stay: enough for an operator to tell what an event was
// about. Nothing reads the payload back to deliver it (delivery uses the normalized event), so
// redacting here changes no behaviour.
import type { WebhookSource } from './webhooks';

/** Keys of an event's envelope and of the objects it nests, kept for every provider. */
const COMMON_KEYS = [
  'id',
  'object',
  'type',
  'event_type',
  'eventType',
  'status',
  'state',
  'amount',
  'value',
  'currency',
  'currency_code',
  'created',
  'create_time',
  'update_time',
  'timestamp',
  'reference',
  'data',
  'resource',
  'resource_type',
] as const;

/** Keys each provider adds; a nested object is kept only when its key is allowed, and then filtered the same way. */
export const PAYLOAD_ALLOWLISTS: Readonly<Record<WebhookSource, readonly string[]>> = {
  stripe: [
    ...COMMON_KEYS,
    'api_version',
    'livemode',
    'pending_webhooks',
    'request',
    'idempotency_key',
    'amount_capturable',
    'amount_received',
    'amount_refunded',
    'amount_captured',
    'capture_method',
    'canceled_at',
    'cancellation_reason',
    'latest_charge',
    'payment_intent',
    'charge',
    'refunded',
    'captured',
    'paid',
    'metadata',
    'skerry_payment_id',
    'skerry_reference',
    'failure_code',
    'last_payment_error',
    'code',
    'decline_code',
  ],
  paypal: [
    ...COMMON_KEYS,
    'event_version',
    'resource_version',
    'summary',
    'custom_id',
    'invoice_id',
    'intent',
    'final_capture',
    'purchase_units',
    'reference_id',
    'payments',
    'captures',
    'authorizations',
    'refunds',
    'supplementary_data',
    'related_ids',
    'order_id',
    'capture_id',
    'authorization_id',
    'expiration_time',
    'status_details',
    'reason',
  ],
  // An ePayment event's `name` is the event's (AUTHORIZED, CAPTURED…); its events name no payer.
  mobilepay: [...COMMON_KEYS, 'msn', 'pspReference', 'name', 'idempotencyKey', 'paymentId', 'success', 'aggregate'],
  // The Swish verifier already keeps only id, status, kind and the sender's address (a Swish server's, not the payer's).
  swish: [...COMMON_KEYS, 'kind', 'sourceAddress', 'payeePaymentReference', 'paymentReference', 'errorCode', 'dateCreated', 'datePaid', 'originalPaymentReference'],
  // The guest (first and last name) is dropped; the reservation's dates, listing and price stay.
  airbnb: [
    ...COMMON_KEYS,
    'event_id',
    'api_version',
    'reservation',
    'confirmation_code',
    'listing_id',
    'host_id',
    'start_date',
    'end_date',
    'number_of_units',
    'total_price',
    'cancel_reason',
    'updated_at',
  ],
  booking_com: [...COMMON_KEYS, 'hotel_id', 'room_id', 'reservation_id', 'check_in', 'check_out'],
  // iCal sends no webhooks (feeds are polled); the envelope's keys only, should one ever be recorded.
  ical: [...COMMON_KEYS],
  // A Channex webhook is a hint (event, property and revision ids); guests' data is only ever read from the feed.
  channex: [...COMMON_KEYS, 'event', 'payload', 'property_id', 'booking_id', 'revision_id', 'user_id'],
};

const allowedKeys = new Map<string, ReadonlySet<string>>(Object.entries(PAYLOAD_ALLOWLISTS).map(([source, keys]) => [source, new Set(keys)]));
const fallbackKeys: ReadonlySet<string> = new Set(COMMON_KEYS);

function keep(value: unknown, allowed: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((item) => keep(item, allowed));
  if (value === null || typeof value !== 'object') return value;
  const kept: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (allowed.has(key)) kept[key] = keep(child, allowed);
  }
  return kept;
}

/** The payload as the inbox stores it: only the provider's allowlisted keys, at every depth. */
export function redactWebhookPayload(source: string, payload: unknown): unknown {
  return keep(payload, allowedKeys.get(source) ?? fallbackKeys);
}
