// Airbnb's partner API shapes, as Skerry's client sends them and Skerry's sandbox answers them.
// Access is partner-only; these are modelled on the public partner docs and channel managers'
// Airbnb mappings (calendar operations per listing, reservations by confirmation code, signed
// webhooks with an event envelope). Amounts are decimals in the listing currency.

export interface AirbnbTokenResponse {
  access_token: string;
  refresh_token: string;
  /** Seconds. */
  expires_in: number;
  token_type: 'bearer';
  scope?: string;
  /** The host (user) the tokens act for. */
  user_id: string;
}

export interface AirbnbCalendarOperation {
  /** `YYYY-MM-DD` or `YYYY-MM-DD:YYYY-MM-DD` (inclusive). */
  dates: string[];
  availability?: 'available' | 'unavailable';
  /** Units left to sell (multi-unit listings). */
  available_count?: number;
  daily_price?: number;
  currency?: string;
  min_nights?: number;
  closed_to_arrival?: boolean;
}

export interface AirbnbCalendarDay {
  date: string;
  availability: 'available' | 'unavailable';
  available_count: number;
  daily_price?: number;
  currency?: string;
  min_nights?: number;
  closed_to_arrival?: boolean;
}

export type AirbnbReservationStatus = 'accepted' | 'cancelled_by_guest' | 'cancelled_by_host' | 'altered';

export interface AirbnbReservation {
  confirmation_code: string;
  listing_id: string;
  host_id: string;
  start_date: string;
  end_date: string;
  number_of_units: number;
  status: AirbnbReservationStatus;
  guest: { first_name: string; last_name: string };
  total_price?: { amount: number; currency: string };
  cancel_reason?: string;
  updated_at: string;
}

export type AirbnbEventType = 'reservation.created' | 'reservation.confirmed' | 'reservation.updated' | 'reservation.cancelled';

export interface AirbnbWebhookEvent {
  event_id: string;
  event_type: AirbnbEventType;
  timestamp: string;
  api_version: string;
  data: { reservation: AirbnbReservation };
}

export const AIRBNB_SIGNATURE_HEADER = 'x-airbnb-signature';

/** Minor units ↔ the decimal amounts Airbnb's JSON carries. */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}
export const toDecimal = (minor: number, currency: string) => minor / 10 ** minorDigits(currency);
export const toMinor = (amount: number, currency: string) => Math.round(amount * 10 ** minorDigits(currency));
