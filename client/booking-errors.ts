// What the bookings façade answers with when it cannot do what was asked; the API maps each to its
// HTTP status. Its own file because every part of the façade (bookings, channels) throws them.
import type { ReservationState } from '../domain/bookings';

/** No booking, reservation or resync under that id (HTTP 404). */
export class BookingNotFoundError extends Error {
  override readonly name = 'BookingNotFoundError';
}

/** The booking cannot do what was asked in its current state (HTTP 409). */
export class BookingConflictError extends Error {
  override readonly name = 'BookingConflictError';
}

/** The nights are not available (HTTP 409 with the reason). */
export class BookingUnavailableError extends Error {
  override readonly name = 'BookingUnavailableError';
  constructor(
    message: string,
    readonly booking: ReservationState,
  ) {
    super(message);
  }
}
