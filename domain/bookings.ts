// The booking domain: channels, the calendar's nights, reservations and their ids, the sync's and the
// resync's shapes. Pure types and values, no I/O.
import type { CoalescePolicy, RateLimitPolicy } from './sync-policies';
import type { DateRange } from './dates';
import type { Money } from './money';
import type { ProviderName, PaymentTiming, PaymentStatus } from './payments';

/** Channels Skerry pushes availability to and takes reservations from. */
export const SYNC_CHANNELS = ['booking_com', 'airbnb', 'ical', 'channex'] as const;
export type ChannelName = (typeof SYNC_CHANNELS)[number];
/** Where a reservation came from: a channel, or Skerry's own booking API. */
export const RESERVATION_CHANNELS = ['direct', ...SYNC_CHANNELS] as const;
export type ReservationChannel = (typeof RESERVATION_CHANNELS)[number];

export const CHANNEL_LABELS: Record<ReservationChannel, string> = { direct: 'Direct', booking_com: 'Booking.com', airbnb: 'Airbnb', ical: 'iCal', channex: 'Channex' };

/**
 * What one availability sync covers. `property`: every unit mapped to one channel account (a Channex
 * property), because the channel's calls and rate limit are per property: changes of all its units
 * coalesce into one call per kind. `unit`: the channels whose calls are per listing.
 */
export const CHANNEL_SYNC_SCOPE: Record<ChannelName, 'unit' | 'property'> = { booking_com: 'unit', airbnb: 'unit', ical: 'unit', channex: 'property' };

/** What a channel is told for one night of a unit (and what the calendar holds). */
export interface ChannelDay {
  date: string;
  available: number;
  /** Minor units; undefined when no price is set (no rate is pushed then). */
  price?: number;
  currency?: string;
  /** Min stay counted from arrival (Channex `min_stay_arrival`). */
  minNights: number;
  /** Min stay of any stay through this night (Channex `min_stay_through`); undefined = none. */
  minStayThrough?: number;
  /** Longest stay arriving on this night; undefined = no limit. */
  maxStay?: number;
  closedToArrival: boolean;
  closedToDeparture?: boolean;
  closed: boolean;
}

/** A unit's identity on one channel. */
export interface ChannelMapping {
  mappingId: string;
  unitId: string;
  channel: ChannelName;
  externalAccountId: string;
  externalListingId: string;
  externalRateId?: string;
}

// ─── Availability sync ──────────────────────────────────────────────────────────────────────────

export const SYNC_STATUSES = ['idle', 'coalescing', 'rate_limited', 'pushing', 'error'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

export interface ListingSyncTiming extends CoalescePolicy {
  rateLimit: RateLimitPolicy;
  /** Nights per push activity; a longer batch is cut into several pushes. */
  maxDaysPerPush: number;
  /** After a push that failed for good, wait this long (or for the next change) before trying again. */
  errorRetryMs: number;
  /** Continue-as-new after this many history events (the server's suggestion also counts). */
  maxHistoryEvents: number;
}

/** Channex-style limits: about 10 availability and 10 price requests a minute per property. */
export const DEFAULT_LISTING_SYNC_TIMING: ListingSyncTiming = {
  quietMs: 2_000,
  maxDelayMs: 15_000,
  rateLimit: { maxPushes: 10, perMs: 60_000 },
  maxDaysPerPush: 366,
  errorRetryMs: 5 * 60_000,
  maxHistoryEvents: 5_000,
};

/** Either a unit's sync (`unitId`) or, for a channel synced per property, the account's (`account`). */
export interface ListingSyncInput {
  unitId?: string;
  /** The channel account (Channex property id) whose mapped units this sync pushes together. */
  account?: string;
  channel: ChannelName;
  timing?: Partial<ListingSyncTiming>;
}

export interface CalendarChange {
  /** Whose nights changed: required by a property's sync, implied by a unit's. */
  unitId?: string;
  ranges: DateRange[];
  /** Why (calendar edit, reservation, cancellation, resync), for the workflow's details. */
  reason: string;
  /** Nights were sold: push at once, without waiting for the quiet window (still within the rate limit). */
  urgent?: boolean;
}

export interface PushCalendarResult {
  /** Nights whose state differed from what the channel was last told, and were sent. */
  daysPushed: number;
  daysUnchanged: number;
  requests: number;
}

export interface ListingSyncState {
  /** The unit (a unit's sync, or the unit asked about of a property's sync). */
  unitId?: string;
  /** The channel account of a property's sync. */
  account?: string;
  channel: ChannelName;
  status: SyncStatus;
  pendingRanges: DateRange[];
  /** A property's sync: the pending nights of each unit. */
  pendingUnits?: Record<string, DateRange[]>;
  changesReceived: number;
  pushes: number;
  daysPushed: number;
  requests: number;
  lastPushAt?: string;
  lastError?: string;
  runsContinued: number;
}

// ─── Reservations ───────────────────────────────────────────────────────────────────────────────

/**
 * `rejected`: a channel's reservation Skerry could not place and the channel declined (Airbnb);
 * `overbooked`: one Skerry could not place that stands on the channel all the same (Booking.com keeps
 * a reservation whatever the acknowledgement says), for a person to relocate or cancel there.
 */
export type ReservationStatus = 'pending' | 'held' | 'confirmed' | 'cancelled' | 'released' | 'rejected' | 'refused' | 'overbooked';

export interface Guest {
  name: string;
  email?: string;
}

/** A reservation as a channel reports it, normalized. */
export interface ChannelReservationEvent {
  /** Dedupe key: the channel's message or event id. */
  eventId: string;
  kind: 'new' | 'modified' | 'cancelled';
  channel: ChannelName;
  channelReservationId: string;
  externalAccountId: string;
  externalListingId: string;
  checkIn: string;
  checkOut: string;
  rooms: number;
  guest?: Guest;
  total?: Money;
  /** How the channel wants this message acknowledged (Booking.com's queue); none for webhooks. */
  ack?: { messageId: string; queue: 'new' | 'modify' };
  occurredAt: string;
}

export interface DirectBookingRequest {
  unitId: string;
  checkIn: string;
  checkOut: string;
  rooms: number;
  guest: Guest;
  payment?: { provider: ProviderName };
  /** The payment child's timing (the API's configured payment timing). */
  paymentTiming?: Partial<PaymentTiming>;
  /** SHA-256 of the creating request, so a reused Idempotency-Key with other parameters is refused. */
  requestHash?: string;
}

export interface ReservationTiming {
  /** A direct booking's unpaid hold is released after this long even without a payment outcome. */
  holdMs: number;
  /** A reservation workflow with nothing to do closes after this long; a later event restarts it. */
  idleCloseMs: number;
}

export const DEFAULT_RESERVATION_TIMING: ReservationTiming = {
  holdMs: 35 * 60_000,
  idleCloseMs: 10 * 60_000,
};

export interface ReservationInput {
  reservationId: string;
  channel: ReservationChannel;
  channelReservationId?: string;
  /** Present for a direct booking: the workflow holds, takes the payment, confirms or releases. */
  direct?: DirectBookingRequest;
  timing?: Partial<ReservationTiming>;
}

export interface ReservationEventRecord {
  eventId: string;
  kind: string;
  outcome: string;
  at: string;
}

export interface ReservationState {
  reservationId: string;
  channel: ReservationChannel;
  channelReservationId?: string;
  status: ReservationStatus;
  unitId?: string;
  checkIn?: string;
  checkOut?: string;
  rooms?: number;
  guest?: Guest;
  total?: Money;
  paymentId?: string;
  paymentStatus?: PaymentStatus;
  holdExpiresAt?: string;
  reason?: string;
  requestHash?: string;
  events: ReservationEventRecord[];
  seenEventIds: string[];
  createdAt: string;
  updatedAt: string;
}

/** Outcome of taking inventory in one database transaction. */
export type HoldResult =
  | { ok: true; total?: Money; duplicate: boolean }
  | { ok: false; reason: string; code: 'sold_out' | 'closed' | 'restricted' | 'no_calendar' | 'unknown_unit' | 'conflict'; dates: string[] };

const CHANNEL_PREFIX: Record<ChannelName, string> = { booking_com: 'bdc', airbnb: 'abnb', ical: 'ical', channex: 'chx' };

/** A channel reservation's Skerry id is derived from the channel's own id: stable across redeliveries. */
export function channelReservationId(channel: ChannelName, externalId: string): string {
  return `${CHANNEL_PREFIX[channel]}_${externalId.replace(/[^A-Za-z0-9]/g, '').toLowerCase()}`;
}

/**
 * The Skerry id for what a person may type: a channel reservation id written with the channel's own
 * reference as the channel shows it (`abnb_HMHWSAGSMT`, `bdc_4711-02`) is the same booking as the
 * derived id; any other id is taken as it is.
 */
export function canonicalReservationId(id: string): string {
  const separator = id.indexOf('_');
  const prefix = id.slice(0, separator);
  const channel = (Object.keys(CHANNEL_PREFIX) as ChannelName[]).find((name) => CHANNEL_PREFIX[name] === prefix);
  return channel ? channelReservationId(channel, id.slice(separator + 1)) : id;
}

/** A direct booking's payment id is derived from its reservation id (`res_x` → `pay_x`). */
export function bookingPaymentId(reservationId: string): string {
  return `pay_${reservationId.replace(/^res_/, '')}`;
}

// ─── Booking.com reservation queue ──────────────────────────────────────────────────────────────

export interface UnackedMessage {
  messageId: string;
  kind: string;
  channelReservationId: string;
  receivedAt: string;
  ageMs: number;
  ackAttempts: number;
  lastError?: string;
}

export interface PullResult {
  received: number;
  newMessages: number;
  dispatched: number;
  unacked: UnackedMessage[];
}

export interface ReservationPollInput {
  channel: ChannelName;
  intervalMs: number;
  /** Continue-as-new after this many polls. */
  pollsPerRun?: number;
}

export interface ReservationPollState {
  channel: ChannelName;
  polls: number;
  lastPollAt?: string;
  lastError?: string;
  received: number;
  dispatched: number;
  unacked: UnackedMessage[];
  oldestUnackedAgeMs: number;
}

// ─── Full resync ────────────────────────────────────────────────────────────────────────────────

export interface ResyncInput {
  channel: ChannelName;
  /** How far ahead the calendar is compared. */
  horizonDays: number;
  trigger: 'schedule' | 'manual';
  pageSize?: number;
  /** Only these channel accounts (Booking.com hotels, Airbnb hosts); all mapped ones when omitted. */
  accounts?: string[];
}

export interface ResyncProgress {
  phase: 'reservations' | 'calendar' | 'done';
  cursor?: string;
  pages: number;
  reservationsChecked: number;
  reservationsCorrected: number;
  calendarDaysChecked: number;
  calendarDaysCorrected: number;
  unitsDone: string[];
}

export interface ResyncState {
  runId: string;
  channel: ChannelName;
  status: 'running' | 'completed' | 'failed';
  progress: ResyncProgress;
  startedAt: string;
  finishedAt?: string;
  error?: string;
}
