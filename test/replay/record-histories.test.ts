// Records the histories the replay test checks every workflow change against. A recording adds the
// histories that are missing and keeps every one on disk unless OVERWRITE names it (scenarios/recorder.ts):
//   RECORD_HISTORIES=1 npx vitest run test/replay/record-histories.test.ts test/replay/scenarios
//   RECORD_HISTORIES=stripe-expired OVERWRITE=stripe-expired npx vitest run test/replay/record-histories.test.ts
// The branch each history covers: test/replay/README.md.
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { eventually, startWorkerHarness, type WorkerHarness } from '../support/harness';
import { startStack } from '../support/stack';
import { createScriptedProvider } from '../support/scripted-provider';
import { paymentWorkflowId } from '../../domain/workflow-ids';
import { bookingComBases, seedUnit, startBookingHarness, type BookingHarness } from '../support/booking-harness';
import { channelReservationId } from '../../domain/bookings';
import { BookingUnavailableError, reservationIdForIdempotencyKey } from '../../client/bookings';
import { createBookingComClient } from '../../providers/booking-com/client';
import { ProviderError } from '../../providers/errors';
import { listingSyncStateQuery, reservationPollStateQuery } from '../../workflows/bookings/messages';
import { listingSyncWorkflowId, reservationWorkflowId } from '../../domain/workflow-ids';

import { saveHistory, wanted } from './scenarios/recorder';

const provider = createScriptedProvider();
let h: WorkerHarness;

/** Skips a recording whose histories are all on disk already (and not named in OVERWRITE). */
async function recordOnly(context: TestContext, ...names: string[]) {
  const missing = await Promise.all(names.map(wanted));
  if (!missing.some(Boolean)) context.skip(`kept: ${names.join(', ')}`);
}

async function save(name: string, paymentId: string) {
  const handle = h.temporal.workflow.getHandle(paymentWorkflowId(paymentId));
  await handle.result();
  await saveHistory(name, handle);
}

describe.runIf(process.env.RECORD_HISTORIES)('record replay histories', () => {
  beforeAll(async () => {
    h = await startWorkerHarness({
      providers: provider.registry,
      timing: { confirmWindowMs: 300, expiresAfterMs: 1_500, refundWindowMs: 1_500, authorizationHoldMs: 60_000 },
    });
  });
  afterAll(async () => h?.close());

  it('stripe happy path: created → webhook succeeded → refund window closes', async (context) => {
    await recordOnly(context, 'stripe-happy-path');
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 25_000, currency: 'SEK' }, reference: 'REPLAY-1' });
    await h.payments.deliverObservation({
      paymentId: started.paymentId,
      provider: 'stripe',
      kind: 'observation',
      observation: {
        eventId: 'evt_replay_succeeded',
        source: 'webhook',
        providerEventType: 'payment_intent.succeeded',
        providerReference: started.providerReference,
        status: 'succeeded',
        amountCaptured: 25_000,
        occurredAt: new Date().toISOString(),
      },
    });
    provider.settle(started.providerReference!, { status: 'succeeded', providerStatus: 'succeeded', amountCaptured: 25_000 });
    await save('stripe-happy-path', started.paymentId);
  });

  it('manual capture, partial then full refund', async (context) => {
    await recordOnly(context, 'stripe-capture-refund');
    const started = await h.payments.startPayment({
      provider: 'stripe',
      amount: { value: 10_000, currency: 'SEK' },
      reference: 'REPLAY-2',
      captureMethod: 'manual',
    });
    await h.payments.deliverObservation({
      paymentId: started.paymentId,
      provider: 'stripe',
      kind: 'observation',
      observation: {
        eventId: 'evt_replay_hold',
        source: 'webhook',
        providerEventType: 'payment_intent.amount_capturable_updated',
        status: 'requires_capture',
        amountAuthorized: 10_000,
        occurredAt: new Date().toISOString(),
      },
    });
    for (;;) if ((await h.payments.getPayment(started.paymentId)).status === 'requires_capture') break;
    await h.payments.capture(started.paymentId, { amount: 8_000 });
    await h.payments.refund(started.paymentId, { amount: 3_000 });
    const final = await h.payments.refund(started.paymentId);
    expect(final.status).toBe('refunded');
    await save('stripe-capture-refund', started.paymentId);
  });

  it('expiry of an abandoned payment', async (context) => {
    await recordOnly(context, 'stripe-expired');
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 500, currency: 'SEK' }, reference: 'REPLAY-3' });
    await save('stripe-expired', started.paymentId);
  });
});

describe.runIf(process.env.RECORD_HISTORIES)('record provider happy paths through the sandboxes', () => {
  it.for(['stripe', 'paypal', 'swish', 'mobilepay'])('%s: paid, then refunded in full', async (provider, context) => {
    await recordOnly(context, `${provider}-sandbox-happy-path`);
    const stack = await startStack();
    try {
      const created = await stack.http('POST', '/payments', {
        provider,
        amount: { value: 20_000, currency: provider === 'swish' ? 'SEK' : 'EUR' },
        reference: `replay-${provider}`,
      });
      await stack.control(`/${provider}/_control/payments/${encodeURIComponent(created.body.providerReference)}/succeed`);
      await eventually(async () => (await stack.http('GET', `/payments/${created.body.paymentId}`)).body.status === 'succeeded', { timeoutMs: 30_000 });
      await stack.http('POST', `/payments/${created.body.paymentId}/refunds`, {});
      const { Client, Connection } = await import('@temporalio/client');
      const connection = await Connection.connect({ address: stack.temporalAddress });
      try {
        const handle = new Client({ connection, dataConverter: stack.dataConverter }).workflow.getHandle(paymentWorkflowId(created.body.paymentId));
        expect((await handle.result()).status).toBe('refunded');
        await saveHistory(`${provider}-sandbox-happy-path`, handle);
      } finally {
        await connection.close();
      }
    } finally {
      await stack.close();
    }
  });
});

// The booking workflows' happy paths. Record only these with
// RECORD_HISTORIES=1 npx vitest run test/replay/record-histories.test.ts -t "booking workflows"
describe.runIf(process.env.RECORD_HISTORIES)('record booking workflows', () => {
  let b: BookingHarness;
  beforeAll(async () => {
    b = await startBookingHarness({
      syncTiming: { quietMs: 200, maxDelayMs: 1_000 },
      reservationTiming: { idleCloseMs: 500 },
      paymentTiming: { confirmWindowMs: 60_000, expiresAfterMs: 60_000, refundWindowMs: 1_000, authorizationHoldMs: 60_000 },
    });
  });
  afterAll(async () => b?.close());

  const saveHandle = async (name: string, workflowId: string, waitForResult = true) => {
    const handle = b.temporal.workflow.getHandle(workflowId);
    if (waitForResult) await handle.result();
    await saveHistory(name, handle);
  };

  it('direct booking paid through a child payment: held → payment succeeded → confirmed', async (context) => {
    await recordOnly(context, 'booking-direct-paid');
    const seed = await seedUnit(b, { from: '2029-01-10', nights: 4, push: true });
    const { booking } = await b.bookings.createBooking({ unitId: seed.unitId, checkIn: '2029-01-10', checkOut: '2029-01-12', guest: { name: 'Replay Guest' }, payment: { provider: 'stripe' } });
    const payment = await b.payments.getPayment(booking.paymentId!);
    b.scripted!.settle(payment.providerReference!, { status: 'succeeded', providerStatus: 'succeeded', amountCaptured: payment.amount.value });
    await b.payments.deliverObservation({
      paymentId: payment.paymentId,
      provider: 'stripe',
      kind: 'observation',
      observation: { eventId: 'evt_replay_booking_paid', source: 'webhook', providerEventType: 'payment_intent.succeeded', status: 'succeeded', amountCaptured: payment.amount.value, occurredAt: new Date().toISOString() },
    });
    const handle = b.temporal.workflow.getHandle(reservationWorkflowId(booking.reservationId));
    expect((await handle.result()).status).toBe('confirmed');
    await saveHandle('booking-direct-paid', reservationWorkflowId(booking.reservationId));
  });

  it('Booking.com reservation: pulled → held → acknowledged → other channels told', async (context) => {
    await recordOnly(context, 'booking-com-reservation-tell-first', 'reservation-poll');
    const seed = await seedUnit(b, { from: '2029-02-10', nights: 4, push: true });
    const account = `replay-${Date.now()}`;
    const pollId = await b.bookings.ensureReservationPoll('booking_com', account, 500);
    const guest = b.bookingCom.book({ hotelId: seed.hotelId, roomId: seed.roomId, rateId: seed.rateId, checkIn: '2029-02-11', checkOut: '2029-02-13' });
    const id = channelReservationId('booking_com', guest.resId);
    await eventually(() => b.bookingCom.reservation(guest.resId).acknowledgements.length > 0, { what: 'acknowledged' });
    // booking-com-reservation.json keeps the history from before the push-before-acknowledge patch.
    await saveHandle('booking-com-reservation-tell-first', reservationWorkflowId(id));
    // The poll runs on: its history so far (a few polls) is recorded as it stands.
    await eventually(async () => (await b.temporal.workflow.getHandle(pollId).query(reservationPollStateQuery)).polls >= 3);
    await saveHandle('reservation-poll', pollId, false);
  });

  it('listing sync: a change coalesced and pushed', async (context) => {
    await recordOnly(context, 'listing-sync-push');
    const seed = await seedUnit(b, { from: '2029-03-10', nights: 10 });
    await b.bookings.updateCalendar(seed.unitId, [{ from: '2029-03-10', to: '2029-03-19', price: { value: 111_000, currency: 'SEK' } }]);
    const syncId = listingSyncWorkflowId(seed.unitId, 'booking_com');
    await eventually(async () => (await b.temporal.workflow.getHandle(syncId).query(listingSyncStateQuery)).pushes >= 1, { what: 'the push' });
    await saveHandle('listing-sync-push', syncId, false);
  });

  it('listing sync: an edit waiting, then a sale pushed at once with it', async (context) => {
    await recordOnly(context, 'listing-sync-urgent');
    const seed = await seedUnit(b, { from: '2029-03-25', nights: 10 });
    await b.bookings.notifyChannels(seed.unitId, { ranges: [{ from: '2029-03-30', to: '2029-03-30' }], reason: 'calendar edit' });
    await b.bookings.notifyChannels(seed.unitId, { ranges: [{ from: '2029-03-26', to: '2029-03-27' }], reason: 'airbnb reservation', urgent: true }, 'airbnb');
    const syncId = listingSyncWorkflowId(seed.unitId, 'booking_com');
    await eventually(async () => (await b.temporal.workflow.getHandle(syncId).query(listingSyncStateQuery)).pushes >= 1, { what: 'the push' });
    await saveHandle('listing-sync-urgent', syncId, false);
  });

  it('full resync of a channel', async (context) => {
    await recordOnly(context, 'channel-resync');
    const seed = await seedUnit(b, { from: '2029-04-10', nights: 5, push: true });
    const { workflowId } = await b.bookings.startResync('booking_com', { horizonDays: 1_000, accounts: [seed.hotelId] });
    await saveHandle('channel-resync', workflowId);
  });
});

// The reconciliation workflow: fetch, match, heal a lost webhook, verify. Record only this with
// RECORD_HISTORIES=1 npx vitest run test/replay/record-histories.test.ts -t "reconciliation"
describe.runIf(process.env.RECORD_HISTORIES)('record reconciliation', () => {
  it('stripe day with drift: fetched, matched, a lost webhook healed and verified', { timeout: 120_000 }, async (context) => {
    await recordOnly(context, 'reconciliation-stripe-drift', 'reconciliation-scheduled');
    const { insertBookings, insertLedger, momentIn, randomPastDay, tag } = await import('../support/reconciliation');
    const stack = await startStack({ env: { RECONCILIATION_SCHEDULE_HOUR: 'off', PAYMENT_CONFIRM_WINDOW_MS: '3600000' } });
    try {
      const day = randomPastDay();
      const t = tag();
      const { store } = stack.sandboxes.handles.stripe;
      const ledger = [];
      const bookings = [];
      for (let i = 0; i < 250; i++) {
        const paymentId = `pay_rp${t}${i}`;
        const amount = 10_000 + i;
        const createdMs = momentIn(day, i);
        const pi = store.seedPayment({ amount, currency: 'SEK', createdMs, metadata: { skerry_payment_id: paymentId } });
        const lost = i === 7;
        ledger.push({ paymentId, provider: 'stripe' as const, status: lost ? 'processing' : 'succeeded', reference: `res_rp${t}${i}`, currency: 'SEK', amount, amountCaptured: lost ? 0 : amount, providerReference: pi.id, createdAt: new Date(createdMs) });
        bookings.push({ reservationId: `res_rp${t}${i}`, paymentId, amount, currency: 'SEK' });
        if (i === 11) store.driftAmount(pi.id, amount - 100);
      }
      await insertLedger(stack.database.db, ledger);
      await insertBookings(stack.database.db, bookings, day);
      const { id } = await stack.api.reconciliation.start({ provider: 'stripe', from: day, options: { pageSize: 100, healVerifyDelayMs: 1_000 } });
      const state = await stack.api.reconciliation.result(id);
      expect(state).toMatchObject({ status: 'completed', counts: { transactions: 250, discrepancies: 2, healed: 1 } });
      const { Client, Connection } = await import('@temporalio/client');
      const connection = await Connection.connect({ address: stack.temporalAddress });
      try {
        const client = new Client({ connection, dataConverter: stack.dataConverter });
        const handle = client.workflow.getHandle(id);
        await saveHistory('reconciliation-stripe-drift', handle);
        // What the nightly Schedule starts: the previous day's run per provider, as a child.
        const nightly = await client.workflow.start('scheduledReconciliationWorkflow', {
          taskQueue: stack.config.temporal.taskQueue,
          workflowId: `reconciliation-scheduled-replay-${t}`,
          args: [{ providers: ['stripe'], daysBack: 1, options: { healVerifyDelayMs: 1_000 } }],
        });
        await nightly.result();
        await saveHistory('reconciliation-scheduled', nightly);
      } finally {
        await connection.close();
      }
    } finally {
      await stack.close();
    }
  });
});

// The reservation paths the happy-path histories above do not take: a channel reservation's
// modification and cancellation, a redelivery, a cancellation before its reservation, an overbooking,
// and a direct booking's refusal, compensation, hold expiry and cancellations. Record only these with
// RECORD_HISTORIES=1 npx vitest run test/replay/record-histories.test.ts -t "reservation paths"
const RESERVATION_PAYMENT_TIMING = { confirmWindowMs: 60_000, expiresAfterMs: 60_000, refundWindowMs: 1_000, authorizationHoldMs: 60_000 };

const saveReservation = async (harness: BookingHarness, name: string, reservationId: string) => {
  const handle = harness.temporal.workflow.getHandle(reservationWorkflowId(reservationId));
  await handle.result();
  await saveHistory(name, handle);
};

describe.runIf(process.env.RECORD_HISTORIES)('record reservation paths', () => {
  let r: BookingHarness;
  beforeAll(async () => {
    r = await startBookingHarness({ syncTiming: { quietMs: 200, maxDelayMs: 1_000 }, reservationTiming: { idleCloseMs: 2_000 }, paymentTiming: RESERVATION_PAYMENT_TIMING });
  });
  afterAll(async () => r?.close());
  const channelMessage = (seed: Awaited<ReturnType<typeof seedUnit>>, externalId: string, kind: 'new' | 'modified' | 'cancelled', stay: { checkIn: string; checkOut: string; rooms?: number }) => ({
    eventId: `replay-${externalId}-${kind}-${stay.checkIn}`,
    kind,
    channel: 'booking_com' as const,
    channelReservationId: externalId,
    externalAccountId: seed.hotelId,
    externalListingId: seed.roomId,
    rooms: 1,
    guest: { name: 'Replay Guest' },
    total: { value: 200_000, currency: 'SEK' },
    occurredAt: new Date().toISOString(),
    ...stay,
  });
  const pay = async (harness: BookingHarness, paymentId: string, status: 'succeeded' | 'failed') => {
    const payment = await harness.payments.getPayment(paymentId);
    harness.scripted!.settle(payment.providerReference!, { status, providerStatus: status, amountCaptured: status === 'succeeded' ? payment.amount.value : 0 });
    await harness.payments.deliverObservation({
      paymentId,
      provider: 'stripe',
      kind: 'observation',
      observation: { eventId: `evt_replay_${status}_${paymentId}`, source: 'webhook', providerEventType: `test.${status}`, status, occurredAt: new Date().toISOString() },
    });
  };

  it('channel reservation: new, its redelivery, modified, cancelled', async (context) => {
    await recordOnly(context, 'reservation-channel-lifecycle');
    const seed = await seedUnit(r, { from: '2029-05-10', nights: 10, count: 2, available: 2, push: true });
    const externalId = `RL${Date.now()}`;
    const first = channelMessage(seed, externalId, 'new', { checkIn: '2029-05-11', checkOut: '2029-05-13' });
    await r.bookings.deliverChannelEvent(first);
    await r.bookings.deliverChannelEvent(first);
    await r.bookings.deliverChannelEvent(channelMessage(seed, externalId, 'modified', { checkIn: '2029-05-14', checkOut: '2029-05-17', rooms: 2 }));
    await r.bookings.deliverChannelEvent(channelMessage(seed, externalId, 'cancelled', { checkIn: '2029-05-14', checkOut: '2029-05-17', rooms: 2 }));
    await saveReservation(r, 'reservation-channel-lifecycle', channelReservationId('booking_com', externalId));
  });

  it('channel reservation: its cancellation delivered before the reservation wins', async (context) => {
    await recordOnly(context, 'reservation-channel-cancelled-first-wins');
    const seed = await seedUnit(r, { from: '2029-05-25', nights: 5, push: true });
    const externalId = `RC${Date.now()}`;
    const stay = { checkIn: '2029-05-26', checkOut: '2029-05-28' };
    await r.bookings.deliverChannelEvent(channelMessage(seed, externalId, 'cancelled', stay));
    await r.bookings.deliverChannelEvent(channelMessage(seed, externalId, 'new', stay));
    const id = channelReservationId('booking_com', externalId);
    expect((await r.temporal.workflow.getHandle(reservationWorkflowId(id)).result()).status).toBe('cancelled');
    expect((await r.inventory.calendar.readCalendar(seed.unitId, { from: stay.checkIn, to: stay.checkIn }))[0]?.row?.booked).toBe(0);
    // reservation-channel-cancelled-first.json keeps the history from before the cancellation-first patch.
    await saveReservation(r, 'reservation-channel-cancelled-first-wins', id);
  });

  it('channel reservation: the last unit went to a direct booking first (overbooking, kept overbooked: it stands on Booking.com)', async (context) => {
    await recordOnly(context, 'reservation-channel-overbooked-stands');
    const seed = await seedUnit(r, { from: '2029-06-10', nights: 5, push: true });
    const guest = r.bookingCom.book({ hotelId: seed.hotelId, roomId: seed.roomId, rateId: seed.rateId, checkIn: '2029-06-10', checkOut: '2029-06-12', guestName: 'Too Late' });
    const { booking } = await r.bookings.createBooking({ unitId: seed.unitId, checkIn: '2029-06-11', checkOut: '2029-06-12', guest: { name: 'First Come' } });
    expect(booking.status).toBe('confirmed');
    await r.bookings.ensureReservationPoll('booking_com', `replay-overbooked-${Date.now()}`, 500);
    await eventually(() => r.bookingCom.reservation(guest.resId).acknowledgements.some((ack) => ack.outcome === 'processed'), { what: 'Booking.com acknowledged' });
    const id = channelReservationId('booking_com', guest.resId);
    expect((await r.temporal.workflow.getHandle(reservationWorkflowId(id)).result()).status).toBe('overbooked');
    // reservation-channel-overbooked.json (and booking-direct-unpaid.json, recorded beside it) keep the
    // history from before the overbooked patch, when the reservation was rejected with error 322.
    await saveReservation(r, 'reservation-channel-overbooked-stands', id);
  });

  it('channel reservation: its modification moves onto a night a direct booking took (overbooked modification, old nights given back)', async (context) => {
    await recordOnly(context, 'reservation-channel-modification-overbooked');
    const seed = await seedUnit(r, { from: '2029-06-20', nights: 6, push: true });
    const externalId = `RM${Date.now()}`;
    await r.bookings.deliverChannelEvent(channelMessage(seed, externalId, 'new', { checkIn: '2029-06-20', checkOut: '2029-06-22' }));
    const id = channelReservationId('booking_com', externalId);
    await eventually(async () => (await r.bookings.getBooking(id)).status === 'confirmed', { what: 'placed' });
    await r.bookings.createBooking({ unitId: seed.unitId, checkIn: '2029-06-24', checkOut: '2029-06-25', guest: { name: 'Direct' } });
    await r.bookings.deliverChannelEvent(channelMessage(seed, externalId, 'modified', { checkIn: '2029-06-23', checkOut: '2029-06-25' }));
    expect((await r.temporal.workflow.getHandle(reservationWorkflowId(id)).result()).status).toBe('overbooked');
    await saveReservation(r, 'reservation-channel-modification-overbooked', id);
  });

  it('direct booking refused: the nights are not open', async (context) => {
    await recordOnly(context, 'booking-direct-refused');
    const seed = await seedUnit(r, { from: '2029-07-10', nights: 2 });
    const idempotencyKey = `replay-refused-${Date.now()}`;
    const request = { unitId: seed.unitId, checkIn: '2029-07-11', checkOut: '2029-07-14', guest: { name: 'Too Long' } };
    await expect(r.bookings.createBooking(request, { idempotencyKey })).rejects.toThrow(BookingUnavailableError);
    await saveReservation(r, 'booking-direct-refused', reservationIdForIdempotencyKey(idempotencyKey));
  });

  it('direct booking: the payment fails and the hold is released (the compensation)', async (context) => {
    await recordOnly(context, 'booking-direct-payment-failed');
    const seed = await seedUnit(r, { from: '2029-07-20', nights: 3 });
    const { booking } = await r.bookings.createBooking({ unitId: seed.unitId, checkIn: '2029-07-20', checkOut: '2029-07-21', guest: { name: 'Declined' }, payment: { provider: 'stripe' } });
    await pay(r, booking.paymentId!, 'failed');
    await saveReservation(r, 'booking-direct-payment-failed', booking.reservationId);
  });

  it('direct booking: cancelled while its payment is still open', async (context) => {
    await recordOnly(context, 'booking-direct-cancelled-while-held');
    const seed = await seedUnit(r, { from: '2029-08-10', nights: 3 });
    const { booking } = await r.bookings.createBooking({ unitId: seed.unitId, checkIn: '2029-08-10', checkOut: '2029-08-12', guest: { name: 'Changed Mind' }, payment: { provider: 'stripe' } });
    const cancelled = await r.bookings.cancelBooking(booking.reservationId, 'changed mind');
    expect(cancelled.booking.status).toBe('cancelled');
    await saveReservation(r, 'booking-direct-cancelled-while-held', booking.reservationId);
  });

  it('direct booking: paid, then cancelled on request after the workflow closed', async (context) => {
    await recordOnly(context, 'booking-direct-cancelled-after-close');
    const seed = await seedUnit(r, { from: '2029-08-20', nights: 3 });
    const { booking } = await r.bookings.createBooking({ unitId: seed.unitId, checkIn: '2029-08-20', checkOut: '2029-08-21', guest: { name: 'Paid Then Gone' }, payment: { provider: 'stripe' } });
    await pay(r, booking.paymentId!, 'succeeded');
    await r.temporal.workflow.getHandle(reservationWorkflowId(booking.reservationId)).result();
    const cancelled = await r.bookings.cancelBooking(booking.reservationId, 'guest asked');
    expect(cancelled.booking.status).toBe('cancelled');
    await saveReservation(r, 'booking-direct-cancelled-after-close', booking.reservationId);
  });
});

describe.runIf(process.env.RECORD_HISTORIES)('record reservation paths: hold expiry', () => {
  let expiring: BookingHarness;
  beforeAll(async () => {
    // Holds that expire long before the payment would.
    expiring = await startBookingHarness({ reservationTiming: { idleCloseMs: 500, holdMs: 1_000 }, paymentTiming: RESERVATION_PAYMENT_TIMING });
  });
  afterAll(async () => expiring?.close());

  it('direct booking: the hold expires before the payment completes', async (context) => {
    await recordOnly(context, 'booking-direct-hold-expired');
    const seed = await seedUnit(expiring, { from: '2029-09-10', nights: 3 });
    const { booking } = await expiring.bookings.createBooking({ unitId: seed.unitId, checkIn: '2029-09-10', checkOut: '2029-09-11', guest: { name: 'Slow Payer' }, payment: { provider: 'stripe' } });
    const handle = expiring.temporal.workflow.getHandle(reservationWorkflowId(booking.reservationId));
    expect((await handle.result()).status).toBe('released');
    await saveReservation(expiring, 'booking-direct-hold-expired', booking.reservationId);
  });
});

describe.runIf(process.env.RECORD_HISTORIES)('record reservation paths: a redelivery while the first answer is still going out', () => {
  let failAcks = 0;
  let slow: BookingHarness;
  beforeAll(async () => {
    const credentials = { username: `machine-${Date.now()}`, password: 'sandbox-password' };
    slow = await startBookingHarness({
      bookingComCredentials: credentials,
      reservationTiming: { idleCloseMs: 1_000 },
      channels: (url) => {
        const real = createBookingComClient({ ...bookingComBases(url), ...credentials });
        return [
          {
            ...real,
            // Booking.com refuses the first acknowledgements (HTTP 503): the message stays in flight.
            async confirmReservation(event) {
              if (failAcks > 0) {
                failAcks -= 1;
                throw new ProviderError('booking_com', 'acknowledgeReservation', 'unavailable', 'HTTP 503: Service Unavailable', { httpStatus: 503 });
              }
              return real.confirmReservation(event);
            },
          },
        ];
      },
    });
  });
  afterAll(async () => slow?.close());

  it('channel reservation: redelivered while its acknowledgement is being retried', async (context) => {
    await recordOnly(context, 'reservation-channel-redelivered-in-flight');
    const seed = await seedUnit(slow, { from: '2029-10-10', nights: 5 });
    const externalId = `RF${Date.now()}`;
    const reservationId = channelReservationId('booking_com', externalId);
    const message = {
      eventId: `replay-${externalId}-new`,
      kind: 'new' as const,
      channel: 'booking_com' as const,
      channelReservationId: externalId,
      externalAccountId: seed.hotelId,
      externalListingId: seed.roomId,
      checkIn: '2029-10-11',
      checkOut: '2029-10-12',
      rooms: 1,
      guest: { name: 'Replay Guest' },
      occurredAt: new Date().toISOString(),
    };
    failAcks = 2;
    await slow.bookings.deliverChannelEvent(message);
    await eventually(() => failAcks < 2, { what: 'the first acknowledgement refused' });
    await slow.bookings.deliverChannelEvent(message);
    await saveReservation(slow, 'reservation-channel-redelivered-in-flight', reservationId);
    expect(failAcks).toBe(0);
  });
});
