// Records the histories the replay test checks every workflow change against.
// Run after an intentional, compatible workflow change: RECORD_HISTORIES=1 npx vitest run test/replay/record-histories.test.ts
import { writeFile } from 'node:fs/promises';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startWorkerHarness, type WorkerHarness } from '../support/harness';
import { startStack } from '../support/stack';
import { createScriptedProvider } from '../support/scripted-provider';
import { paymentWorkflowId } from '../../domain/workflow-ids';
import { seedUnit, startBookingHarness, type BookingHarness } from '../support/booking-harness';
import { channelReservationId } from '../../domain/bookings';
import { listingSyncStateQuery, reservationPollStateQuery } from '../../workflows/bookings/messages';
import { listingSyncWorkflowId, reservationWorkflowId } from '../../domain/workflow-ids';

const provider = createScriptedProvider();
let h: WorkerHarness;
const HISTORIES = new URL('./histories/', import.meta.url);

async function save(name: string, paymentId: string) {
  const handle = h.temporal.workflow.getHandle(paymentWorkflowId(paymentId));
  await handle.result();
  const history = await handle.fetchHistory();
  // The same proto3 JSON `temporal workflow show --output json` writes.
  await writeFile(new URL(`${name}.json`, HISTORIES), historyToJSON(history));
}

describe.runIf(process.env.RECORD_HISTORIES)('record replay histories', () => {
  beforeAll(async () => {
    h = await startWorkerHarness({
      providers: provider.registry,
      timing: { confirmWindowMs: 300, expiresAfterMs: 1_500, refundWindowMs: 1_500, authorizationHoldMs: 60_000 },
    });
  });
  afterAll(async () => h?.close());

  it('stripe happy path: created → webhook succeeded → refund window closes', async () => {
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

  it('manual capture, partial then full refund', async () => {
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

  it('expiry of an abandoned payment', async () => {
    const started = await h.payments.startPayment({ provider: 'stripe', amount: { value: 500, currency: 'SEK' }, reference: 'REPLAY-3' });
    await save('stripe-expired', started.paymentId);
  });
});

describe.runIf(process.env.RECORD_HISTORIES)('record provider happy paths through the sandboxes', () => {
  it.each(['stripe', 'paypal', 'swish', 'mobilepay'])('%s: paid, then refunded in full', async (provider) => {
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
        const handle = new Client({ connection }).workflow.getHandle(paymentWorkflowId(created.body.paymentId));
        expect((await handle.result()).status).toBe('refunded');
        await writeFile(new URL(`${provider}-sandbox-happy-path.json`, HISTORIES), historyToJSON(await handle.fetchHistory()));
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
    await writeFile(new URL(`${name}.json`, HISTORIES), historyToJSON(await handle.fetchHistory()));
  };

  it('direct booking paid through a child payment: held → payment succeeded → confirmed', async () => {
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

  it('Booking.com reservation: pulled → held → acknowledged → other channels told', async () => {
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

  it('listing sync: a change coalesced and pushed', async () => {
    const seed = await seedUnit(b, { from: '2029-03-10', nights: 10 });
    await b.bookings.updateCalendar(seed.unitId, [{ from: '2029-03-10', to: '2029-03-19', price: { value: 111_000, currency: 'SEK' } }]);
    const syncId = listingSyncWorkflowId(seed.unitId, 'booking_com');
    await eventually(async () => (await b.temporal.workflow.getHandle(syncId).query(listingSyncStateQuery)).pushes >= 1, { what: 'the push' });
    await saveHandle('listing-sync-push', syncId, false);
  });

  it('listing sync: an edit waiting, then a sale pushed at once with it', async () => {
    const seed = await seedUnit(b, { from: '2029-03-25', nights: 10 });
    await b.bookings.notifyChannels(seed.unitId, { ranges: [{ from: '2029-03-30', to: '2029-03-30' }], reason: 'calendar edit' });
    await b.bookings.notifyChannels(seed.unitId, { ranges: [{ from: '2029-03-26', to: '2029-03-27' }], reason: 'airbnb reservation', urgent: true }, 'airbnb');
    const syncId = listingSyncWorkflowId(seed.unitId, 'booking_com');
    await eventually(async () => (await b.temporal.workflow.getHandle(syncId).query(listingSyncStateQuery)).pushes >= 1, { what: 'the push' });
    await saveHandle('listing-sync-urgent', syncId, false);
  });

  it('full resync of a channel', async () => {
    const seed = await seedUnit(b, { from: '2029-04-10', nights: 5, push: true });
    const { workflowId } = await b.bookings.startResync('booking_com', { horizonDays: 1_000, accounts: [seed.hotelId] });
    await saveHandle('channel-resync', workflowId);
  });
});

// The reconciliation workflow: fetch, match, heal a lost webhook, verify. Record only this with
// RECORD_HISTORIES=1 npx vitest run test/replay/record-histories.test.ts -t "reconciliation"
describe.runIf(process.env.RECORD_HISTORIES)('record reconciliation', () => {
  it('stripe day with drift: fetched, matched, a lost webhook healed and verified', { timeout: 120_000 }, async () => {
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
        const client = new Client({ connection });
        const handle = client.workflow.getHandle(id);
        await writeFile(new URL('reconciliation-stripe-drift.json', HISTORIES), historyToJSON(await handle.fetchHistory()));
        // What the nightly Schedule starts: the previous day's run per provider, as a child.
        const nightly = await client.workflow.start('scheduledReconciliationWorkflow', {
          taskQueue: stack.config.temporal.taskQueue,
          workflowId: `reconciliation-scheduled-replay-${t}`,
          args: [{ providers: ['stripe'], daysBack: 1, options: { healVerifyDelayMs: 1_000 } }],
        });
        await nightly.result();
        await writeFile(new URL('reconciliation-scheduled.json', HISTORIES), historyToJSON(await nightly.fetchHistory()));
      } finally {
        await connection.close();
      }
    } finally {
      await stack.close();
    }
  });
});
