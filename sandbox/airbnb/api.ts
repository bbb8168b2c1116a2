// The shapes Airbnb's partner API speaks, as the sandbox serves them. Access to Airbnb's API is
// partner-only: these follow what Skerry's provider notes record of it (PROVIDERS.md: OAuth per host
// with rotating refresh tokens, calendar updates per listing with availability, price and minimum
// nights, reservations new/altered/cancelled delivered by signed webhooks and listable) and the
// public channel-manager mappings. Amounts are decimals in the listing's currency.

/** `POST /oauth2/auth_token`: what a code exchange or a refresh answers. */
export interface TokenGrant {
  access_token: string;
  refresh_token: string;
  /** Seconds until the access token expires. */
  expires_in: number;
  token_type: 'bearer';
  scope: string;
  /** The host the tokens act for. */
  user_id: string;
}

/** One operation of `PUT /v2/calendars/:listingId`: the same settings for a set of dates. */
export interface CalendarOperation {
  /** Dates `YYYY-MM-DD` and inclusive ranges `YYYY-MM-DD:YYYY-MM-DD`. */
  dates: string[];
  availability?: 'available' | 'unavailable';
  /** Units still to sell on a multi-unit listing. */
  available_count?: number;
  daily_price?: number;
  currency?: string;
  min_nights?: number;
  closed_to_arrival?: boolean;
}

/** One night of a listing's calendar as `GET /v2/calendars/:listingId` shows it. */
export interface CalendarNight {
  date: string;
  availability: 'available' | 'unavailable';
  available_count: number;
  daily_price?: number;
  currency?: string;
  min_nights?: number;
  closed_to_arrival?: boolean;
}

export type ReservationStatus = 'accepted' | 'altered' | 'cancelled_by_guest' | 'cancelled_by_host';

/** A reservation, keyed by its confirmation code (`HM…`). */
export interface Reservation {
  confirmation_code: string;
  listing_id: string;
  host_id: string;
  /** Check-in and check-out dates. */
  start_date: string;
  end_date: string;
  number_of_units: number;
  status: ReservationStatus;
  guest: { first_name: string; last_name: string };
  total_price?: { amount: number; currency: string };
  cancel_reason?: string;
  updated_at: string;
}

export type WebhookEventType = 'reservation.confirmed' | 'reservation.updated' | 'reservation.cancelled';

/** The envelope of every webhook: an id to deduplicate on, the type, and the reservation as it is now. */
export interface WebhookEvent {
  event_id: string;
  event_type: WebhookEventType;
  timestamp: string;
  api_version: string;
  data: { reservation: Reservation };
}

/** A calendar a listing imports by URL (Airbnb's "Import calendar"). */
export interface ImportedCalendar {
  url: string;
  lastSyncAt?: string;
  lastError?: string;
  /** Nights the import blocks, with the listing's own count before it did (given back on unblock). */
  blocked: Map<string, number>;
}
