// A channel reservation's Skerry id is derived from the channel's own reference; people type the
// reference as the channel shows it, so reading a booking accepts that spelling too.
import { describe, expect, it } from 'vitest';
import { canonicalReservationId, channelReservationId } from '../../domain/bookings';

describe('reservation ids', () => {
  it("derives a stable id from the channel's own reference", () => {
    expect(channelReservationId('airbnb', 'HMHWSAGSMT')).toBe('abnb_hmhwsagsmt');
    expect(channelReservationId('booking_com', '4711-02')).toBe('bdc_471102');
  });

  it("reads a channel id written with the channel's spelling as the derived id", () => {
    expect(canonicalReservationId('abnb_HMHWSAGSMT')).toBe('abnb_hmhwsagsmt');
    expect(canonicalReservationId('bdc_4711-02')).toBe('bdc_471102');
    expect(canonicalReservationId('abnb_hmhwsagsmt')).toBe('abnb_hmhwsagsmt');
  });

  it('leaves every other id as it is', () => {
    expect(canonicalReservationId('res_0a1b2c')).toBe('res_0a1b2c');
    expect(canonicalReservationId('RES_0A1B')).toBe('RES_0A1B');
    expect(canonicalReservationId('nounderscore')).toBe('nounderscore');
  });
});
