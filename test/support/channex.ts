// Driving the Channex sandbox from a test, over HTTP as the Channex UI and the OTAs would: a
// property with room types and rate plans, a unit mapped to one of them, a guest's booking on a
// mapped OTA (new, modified, cancelled), and what the sandbox saw (its request log, the revisions
// and whether Skerry acknowledged them). Works with any sandbox URL (a harness's or `npm start`'s).
import type { Inventory } from '../../store/inventory';
import { eventually } from './harness';

export interface ChannexRoom {
  roomTypeId: string;
  ratePlanId: string;
}

export interface ChannexProperty {
  propertyId: string;
  rooms: ChannexRoom[];
}

export interface ChannexRevisionView {
  id: string;
  booking_id: string;
  property_id: string;
  status: 'new' | 'modified' | 'cancelled';
  arrival_date: string;
  departure_date: string;
  acked: boolean;
  acked_at?: string;
}

export interface ChannexRequestView {
  atMs: number;
  method: string;
  path: string;
  kind?: 'availability' | 'restrictions';
  propertyIds: string[];
  status: number;
  /** The room types (availability) or rate plans (restrictions) its values named. */
  targets?: string[];
}

async function control<T>(sandboxUrl: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${sandboxUrl}/channex/_control${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`Channex sandbox ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** A Channex property (as made in the Channex UI) with `rooms` room types, each with one rate plan. */
export async function createChannexProperty(sandboxUrl: string, options: { title?: string; currency?: string; rooms?: number; count?: number } = {}): Promise<ChannexProperty> {
  const created = await control<{ id: string; roomTypes: Array<{ id: string; ratePlanId: string }> }>(sandboxUrl, '/properties', {
    title: options.title ?? 'Test property',
    currency: options.currency ?? 'SEK',
    roomTypes: Array.from({ length: options.rooms ?? 1 }, (_, index) => ({ title: `Room ${index + 1}`, count: options.count ?? 1 })),
  });
  return { propertyId: created.id, rooms: created.roomTypes.map((room) => ({ roomTypeId: room.id, ratePlanId: room.ratePlanId })) };
}

/** Maps a unit to a Channex property's room type and rate plan, straight in the inventory (the API's POST /units/:id/mappings does the same). */
export async function mapUnitToChannex(inventory: Pick<Inventory, 'mappings'>, unitId: string, property: ChannexProperty, room = 0) {
  const target = property.rooms[room]!;
  return inventory.mappings.createMapping({ unitId, channel: 'channex', externalAccountId: property.propertyId, externalListingId: target.roomTypeId, externalRateId: target.ratePlanId });
}

/** A guest books the room on an OTA Channex connects: a `new` revision in the feed and a `booking` webhook. */
export async function channexGuestBooking(
  sandboxUrl: string,
  options: { property: ChannexProperty; room?: number; arrivalDate: string; departureDate: string; otaName?: string; guestName?: string; force?: boolean },
): Promise<ChannexRevisionView> {
  const room = options.property.rooms[options.room ?? 0]!;
  return control(sandboxUrl, '/bookings', {
    ratePlanId: room.ratePlanId,
    arrivalDate: options.arrivalDate,
    departureDate: options.departureDate,
    otaName: options.otaName,
    guestName: options.guestName,
    force: options.force,
  });
}

export async function modifyChannexBooking(sandboxUrl: string, bookingId: string, change: { arrivalDate?: string; departureDate?: string; force?: boolean }): Promise<ChannexRevisionView> {
  return control(sandboxUrl, `/bookings/${encodeURIComponent(bookingId)}/modify`, change);
}

export async function cancelChannexBooking(sandboxUrl: string, bookingId: string): Promise<ChannexRevisionView> {
  return control(sandboxUrl, `/bookings/${encodeURIComponent(bookingId)}/cancel`, {});
}

export async function channexRevisions(sandboxUrl: string): Promise<ChannexRevisionView[]> {
  return (await control<{ revisions: ChannexRevisionView[] }>(sandboxUrl, '/revisions')).revisions;
}

/** Waits until Skerry has acknowledged the revision (it was applied). */
export async function waitForChannexAck(sandboxUrl: string, revisionId: string, options: { timeoutMs?: number } = {}): Promise<ChannexRevisionView> {
  let found: ChannexRevisionView | undefined;
  await eventually(
    async () => {
      found = (await channexRevisions(sandboxUrl)).find((revision) => revision.id === revisionId);
      return found?.acked === true;
    },
    { what: `Channex revision ${revisionId} acknowledged`, timeoutMs: options.timeoutMs ?? 30_000 },
  );
  return found!;
}

/** Every API request the sandbox received since `sinceMs`, with the properties and ARI kind. */
export async function channexRequestLog(sandboxUrl: string, sinceMs = 0): Promise<ChannexRequestView[]> {
  return (await control<{ requests: ChannexRequestView[] }>(sandboxUrl, `/requests?since=${sinceMs}`)).requests;
}

/** What Channex shows for a property: availability per room type, rate and restrictions per rate plan. */
export async function channexAri(sandboxUrl: string, propertyId: string, from: string, to: string) {
  return control<{ availability: Record<string, Record<string, number>>; restrictions: Record<string, Record<string, Record<string, unknown>>> }>(
    sandboxUrl,
    `/ari/${encodeURIComponent(propertyId)}?from=${from}&to=${to}`,
  );
}

/** The most requests among `requests` inside any window of `windowSeconds` (the sandbox's own rule). */
export function busiestWindow(requests: readonly ChannexRequestView[], windowSeconds: number): number {
  const times = requests.map((request) => request.atMs).sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < times.length; last += 1) {
    while (times[last]! - times[first]! >= windowSeconds * 1_000) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}
