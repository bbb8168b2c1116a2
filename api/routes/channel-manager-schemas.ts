// Request validators shared by the channel manager's routes (properties, bookings, channels).
import { z } from 'zod';
import { isIsoDate } from '../../domain/dates';
import { SYNC_CHANNELS } from '../../domain/bookings';

export const MAX_CALENDAR_DAYS = 731;

export const IsoDate = z.string().refine(isIsoDate, 'must be a calendar date YYYY-MM-DD');
export const Currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO 4217 code')
  .transform((code) => code.toUpperCase());
export const Channel = z.enum(SYNC_CHANNELS);
export const Id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[a-z0-9]{6,40}$`), `must be a Skerry id (${prefix}_…)`);

/** Response bodies are documented by their route's summary; validation is on the way in. */
export const Json = z.unknown();
