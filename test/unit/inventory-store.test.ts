// The inventory repositories against the run's real Postgres: holds, releases and edits are transactions,
// and the calendar's CHECK constraint makes an overbooking impossible to commit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { and, eq, sql } from 'drizzle-orm';
import { createDatabase } from '../../db/client';
import { calendarDays, reservations } from '../../db/schema';
import { createInventory } from '../../store/inventory';
import { isOverbookingViolation } from '../../store/inventory-error';
import { newInventoryId } from '../../store/inventory-ids';
import type { HoldRequest } from '../../store/reservations';

const database = createDatabase(inject('databaseUrl'), { max: 25 });
const store = createInventory(database.db);
afterAll(() => database.close());

let unitId: string;
const hold = (change: Partial<HoldRequest> = {}): HoldRequest => ({
  reservationId: newInventoryId('res'),
  unitId,
  channel: 'direct',
  checkIn: '2027-03-01',
  checkOut: '2027-03-03',
  rooms: 1,
  status: 'confirmed',
  enforceRestrictions: true,
  workflowId: 'test',
  ...change,
});
const bookedOn = async (date: string, unit = unitId) =>
  (await database.db.select().from(calendarDays).where(and(eq(calendarDays.unitId, unit), eq(calendarDays.date, date))))[0];

beforeAll(async () => {
  const property = await store.properties.createProperty({ name: 'Skärgårdens camping', currency: 'SEK' });
  const unit = await store.properties.createUnit({ propertyId: property.id, name: 'Sea cabin', count: 1 });
  expect(unit.ratePlans.map((plan) => plan.code)).toEqual(['STANDARD']);
  unitId = unit.id;
  await store.calendar.updateCalendar(unitId, [{ from: '2027-03-01', to: '2027-03-31', available: 1, price: { value: 120_000, currency: 'SEK' } }]);
});

describe('inventory store', () => {
  it('lets exactly one of twenty concurrent holds take the last unit', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => store.reservations.hold(hold())));
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    const refused = results.filter((result) => !result.ok);
    expect(refused).toHaveLength(19);
    for (const result of refused) expect(result).toMatchObject({ ok: false, code: 'sold_out' });
    expect((await bookedOn('2027-03-01'))).toMatchObject({ booked: 1, allotment: 1 });
    expect((await bookedOn('2027-03-02'))).toMatchObject({ booked: 1, allotment: 1 });
    expect((await bookedOn('2027-03-03'))).toMatchObject({ booked: 0 });
    const winner = results.find((result) => result.ok);
    expect(winner).toMatchObject({ ok: true, total: { value: 240_000, currency: 'SEK' }, duplicate: false });
  });

  it('is guarded by the database itself: a raw overbooking update violates the constraint', async () => {
    const attempt = database.db
      .update(calendarDays)
      .set({ booked: sql`${calendarDays.booked} + 1` })
      .where(and(eq(calendarDays.unitId, unitId), eq(calendarDays.date, '2027-03-01')));
    const error = await attempt.then(() => undefined, (err: unknown) => err);
    expect(isOverbookingViolation(error)).toBe(true);
    expect(String((error as { cause?: { constraint_name?: string } }).cause?.constraint_name)).toBe('calendar_days_no_overbooking');
  });

  it('answers a retried hold with the outcome it already committed', async () => {
    const request = hold({ checkIn: '2027-03-10', checkOut: '2027-03-11' });
    expect(await store.reservations.hold(request)).toMatchObject({ ok: true, duplicate: false });
    expect(await store.reservations.hold(request)).toMatchObject({ ok: true, duplicate: true });
    expect((await bookedOn('2027-03-10'))?.booked).toBe(1);
  });

  it('gives nights back once, however often a release is retried', async () => {
    const request = hold({ checkIn: '2027-03-12', checkOut: '2027-03-14' });
    await store.reservations.hold(request);
    const first = await store.reservations.release({ reservationId: request.reservationId, status: 'cancelled', reason: 'guest cancelled' });
    const second = await store.reservations.release({ reservationId: request.reservationId, status: 'cancelled' });
    expect(first).toMatchObject({ released: true, range: { from: '2027-03-12', to: '2027-03-13' } });
    expect(second.released).toBe(false);
    expect((await bookedOn('2027-03-12'))?.booked).toBe(0);
    expect((await store.reservations.getReservation(request.reservationId))?.status).toBe('cancelled');
  });

  it('keeps booked nights when availability is edited, and caps it at the unit count', async () => {
    await store.calendar.updateCalendar(unitId, [{ from: '2027-03-01', to: '2027-03-01', available: 0 }]);
    expect(await bookedOn('2027-03-01')).toMatchObject({ booked: 1, allotment: 1 });
    await store.calendar.updateCalendar(unitId, [{ from: '2027-03-01', to: '2027-03-01', available: 5 }]);
    expect(await bookedOn('2027-03-01')).toMatchObject({ booked: 1, allotment: 1 });
    await store.calendar.updateCalendar(unitId, [{ from: '2027-03-20', to: '2027-03-20', available: 5, minNights: 3 }]);
    expect(await bookedOn('2027-03-20')).toMatchObject({ booked: 0, allotment: 1, minNights: 3, price: 120_000 });
  });

  it('refuses direct bookings against stop sell, closed to arrival, minimum stay and unopened nights', async () => {
    await store.calendar.updateCalendar(unitId, [
      { from: '2027-03-22', to: '2027-03-22', closed: true },
      { from: '2027-03-24', to: '2027-03-24', closedToArrival: true },
    ]);
    expect(await store.reservations.hold(hold({ checkIn: '2027-03-21', checkOut: '2027-03-23' }))).toMatchObject({ ok: false, code: 'closed', dates: ['2027-03-22'] });
    expect(await store.reservations.hold(hold({ checkIn: '2027-03-24', checkOut: '2027-03-25' }))).toMatchObject({ ok: false, code: 'restricted' });
    expect(await store.reservations.hold(hold({ checkIn: '2027-03-20', checkOut: '2027-03-21' }))).toMatchObject({ ok: false, code: 'restricted', reason: expect.stringMatching(/minimum stay/) });
    expect(await store.reservations.hold(hold({ checkIn: '2027-04-30', checkOut: '2027-05-02' }))).toMatchObject({ ok: false, code: 'no_calendar' });
    // A channel enforced its own restrictions: only availability counts for its reservations.
    expect(await store.reservations.hold(hold({ channel: 'booking_com', channelReservationId: 'r-1', checkIn: '2027-03-22', checkOut: '2027-03-23', enforceRestrictions: false }))).toMatchObject({ ok: true });
  });

  it('moves a reservation to free nights, or leaves everything as it was', async () => {
    const request = hold({ checkIn: '2027-03-26', checkOut: '2027-03-27' });
    await store.reservations.hold(request);
    const blocked = await store.reservations.modify({ reservationId: request.reservationId, checkIn: '2027-03-01', checkOut: '2027-03-02', rooms: 1 });
    expect(blocked).toMatchObject({ ok: false, code: 'sold_out', dates: ['2027-03-01'] });
    expect((await bookedOn('2027-03-26'))?.booked).toBe(1);
    expect((await bookedOn('2027-03-01'))?.booked).toBe(1);
    const moved = await store.reservations.modify({ reservationId: request.reservationId, checkIn: '2027-03-27', checkOut: '2027-03-29', rooms: 1 });
    expect(moved).toMatchObject({ ok: true });
    expect((await bookedOn('2027-03-26'))?.booked).toBe(0);
    expect((await bookedOn('2027-03-28'))?.booked).toBe(1);
    const [row] = await database.db.select().from(reservations).where(eq(reservations.id, request.reservationId));
    expect(row).toMatchObject({ checkIn: '2027-03-27', checkOut: '2027-03-29' });
    // Extending a stay over its own nights counts them as its own.
    expect(await store.reservations.modify({ reservationId: request.reservationId, checkIn: '2027-03-27', checkOut: '2027-03-30', rooms: 1 })).toMatchObject({ ok: true });
  });
});
