// Channex's wire shapes as its documentation gives them (docs.channex.io: "Availability and Rates",
// "Bookings Collection", "Webhook Collection", "API Rate Limits"). The sandbox's own copy: it shares
// no code with Skerry's client.

/** One change of `POST /api/v1/availability`: a room type's availability on a date or a range. */
export interface AvailabilityValue {
  property_id: string;
  room_type_id: string;
  date?: string;
  date_from?: string;
  date_to?: string;
  availability: number;
}

/** One change of `POST /api/v1/restrictions`: a rate plan's rate and restrictions. */
export interface RestrictionValue {
  property_id: string;
  rate_plan_id: string;
  date?: string;
  date_from?: string;
  date_to?: string;
  rate?: string | number;
  min_stay_arrival?: number;
  min_stay_through?: number;
  min_stay?: number;
  max_stay?: number;
  closed_to_arrival?: boolean;
  closed_to_departure?: boolean;
  stop_sell?: boolean;
}

export const RESTRICTION_FIELDS = ['rate', 'min_stay_arrival', 'min_stay_through', 'max_stay', 'closed_to_arrival', 'closed_to_departure', 'stop_sell'] as const;
export type RestrictionState = { rate?: string } & Partial<Record<Exclude<(typeof RESTRICTION_FIELDS)[number], 'rate'>, number | boolean>>;

export interface BookingRoom {
  room_type_id: string;
  rate_plan_id: string;
  checkin_date: string;
  checkout_date: string;
  amount: string;
  days: Record<string, string>;
  occupancy: { adults: number; children: number; infants: number };
}

export type RevisionStatus = 'new' | 'modified' | 'cancelled';

/** A booking revision's attributes, as the feed serves them. */
export interface BookingRevision {
  id: string;
  booking_id: string;
  property_id: string;
  unique_id: string;
  system_id: string;
  ota_reservation_code: string;
  ota_name: string;
  status: RevisionStatus;
  arrival_date: string;
  departure_date: string;
  amount: string;
  currency: string;
  customer: { name: string; surname: string; mail?: string };
  rooms: BookingRoom[];
  inserted_at: string;
}

export interface Webhook {
  id: string;
  property_id: string;
  callback_url: string;
  event_mask: string;
  headers: Record<string, string>;
  is_active: boolean;
  send_data: boolean;
}

/** The documented 429 body ("API Rate Limits"). */
export const TOO_MANY_REQUESTS = { errors: { code: 'http_too_many_requests', title: 'Too Many Requests' } } as const;
export const UNAUTHORIZED = { errors: { code: 'unauthorized', title: 'Unauthorized' } } as const;
export const NOT_FOUND = { errors: { code: 'resource_not_found', title: 'Resource Not Found' } } as const;

/** Events a webhook's `event_mask` may name ("Webhook Collection"); `*` is all of them. */
export const WEBHOOK_EVENTS = [
  'ari',
  'booking',
  'booking_new',
  'booking_modification',
  'booking_cancellation',
  'booking_unmapped_room',
  'booking_unmapped_rate',
  'non_acked_booking',
  'message',
  'sync_error',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
