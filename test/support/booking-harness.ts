// A worker with the booking domain wired, against the run's shared Temporal and Postgres, plus an
// in-process provider sandbox (Booking.com; Airbnb when asked) its channel clients talk to. Each
// harness has its own task queue, like harness.ts for payments.
import { bookingWorkflowSignals } from '../../client/bookings';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { createDatabase } from '../../db/client';
import { createPaymentLedger } from '../../store/payment-ledger';
import { createInventory } from '../../store/inventory';
import type { ProviderRegistry } from '../../providers/types';
import type { BookingActivityDeps } from '../../activities/bookings';
import type { IcalDeps } from '../../activities/bookings/deps';
import { createPaymentsClient } from '../../client/payments';
import { createBookingsClient } from '../../client/bookings';
import { createWorker } from '../../worker/create-worker';
import { createLogger } from '../../observability/logger';
import { buildSandbox, sandboxHandles } from '../../sandbox/server';
import { createBookingComClient } from '../../providers/booking-com/client';
import { createChannelRegistryFrom } from '../../providers/channel-registry';
import type { ChannelClient } from '../../providers/channels';
import type { PaymentTiming } from '../../domain/payments';
import type { ListingSyncTiming, ReservationTiming } from '../../domain/bookings';
import { BOOKING_COM_SANDBOX_HOSTS, type BookingComSandboxOptions } from '../../sandbox/booking-com/sandbox';
import { createScriptedProvider } from './scripted-provider';
import { eventually } from './harness';
import { testDataConverter } from './data-converter';
import { createIcalFeedStore } from '../../store/ical-feeds';
import { createIcalEventStore } from '../../store/ical-events';
import { createSealer } from '../../security/sealing';
import { randomBytes } from 'node:crypto';

let runtimeInstalled = false;

export interface BookingHarnessOptions {
  providers?: ProviderRegistry;
  paymentTiming?: Partial<PaymentTiming>;
  syncTiming?: Partial<ListingSyncTiming>;
  reservationTiming?: Partial<ReservationTiming>;
  /** Channel clients built against the sandbox URL (default: Booking.com). */
  channels?: (sandboxUrl: string) => ChannelClient[];
  bookingComCredentials?: { username: string; password: string };
  /** Booking.com sandbox settings besides the credentials (its fallback timeout). */
  bookingCom?: Pick<BookingComSandboxOptions, 'fallbackAfterMs'>;
  /**
   * The iCal import's URL policy, name resolution and resilience (default: the tests' own servers on
   * 127.0.0.1 allow-listed, as `npm start` allow-lists its sandbox; no breaker).
   */
  ical?: Partial<Pick<IcalDeps, 'policy' | 'lookupAll' | 'resilience'>>;
}

/** The sandbox's two Booking.com hosts, as a client is configured with them. */
export const bookingComBases = (sandboxUrl: string) => ({
  apiBase: `${sandboxUrl}/booking-com${BOOKING_COM_SANDBOX_HOSTS.supply}`,
  secureApiBase: `${sandboxUrl}/booking-com${BOOKING_COM_SANDBOX_HOSTS.secure}`,
});

export async function startBookingHarness(options: BookingHarnessOptions = {}) {
  if (!runtimeInstalled) {
    runtimeInstalled = true;
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // Installed already by another harness in this process.
    }
  }
  const taskQueue = `test-bookings-${randomUUID()}`;
  const credentials = options.bookingComCredentials ?? { username: `machine-${randomUUID().slice(0, 8)}`, password: 'sandbox-password' };
  const sandbox: FastifyInstance = await buildSandbox({
    logger: false,
    stripe: { webhookUrl: '', webhookSecret: 'whsec_unused' },
    bookingCom: { ...options.bookingCom, ...credentials },
  });
  const sandboxUrl = await sandbox.listen({ host: '127.0.0.1', port: 0 });
  const database = createDatabase(inject('databaseUrl'), { max: 10 });
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const inventory = createInventory(database.db);
  const channelClients = options.channels
    ? options.channels(sandboxUrl)
    : [createBookingComClient({ ...bookingComBases(sandboxUrl), ...credentials })];
  const scripted = options.providers ? undefined : createScriptedProvider();
  const bookingDeps: BookingActivityDeps = {
    inventory,
    signals: bookingWorkflowSignals,
    channels: createChannelRegistryFrom(channelClients),
    logger,
    syncTiming: options.syncTiming,
    reservationTiming: options.reservationTiming,
    ical: {
      feeds: createIcalFeedStore(database.db, createSealer(randomBytes(32).toString('base64'))),
      events: createIcalEventStore(database.db),
      policy: { allowedHosts: ['127.0.0.1'], requireHttps: false },
      ...options.ical,
    },
  };
  const nativeConnection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await createWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    dataConverter: testDataConverter,
    workflowBundlePath: inject('workflowBundlePath'),
    tuning: { identity: `booking-harness-${taskQueue.slice(-8)}` },
    deps: { providers: options.providers ?? scripted!.registry, ledger: createPaymentLedger(database.db), logger, bookings: bookingDeps },
  });
  // The workflow worker and the provider/channel activity workers, together.
  const running = worker.run();
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  const temporal = new Client({ connection, namespace: 'default', dataConverter: testDataConverter });
  const payments = createPaymentsClient({ temporal, taskQueue, timing: options.paymentTiming, createWaitMs: 10_000 });
  const bookings = createBookingsClient({
    temporal,
    inventory,
    payments,
    taskQueue,
    paymentTiming: options.paymentTiming,
    syncTiming: options.syncTiming,
    reservationTiming: options.reservationTiming,
  });
  return {
    taskQueue,
    temporal,
    payments,
    bookings,
    inventory,
    database,
    logger,
    scripted,
    sandbox,
    sandboxUrl,
    bookingCom: sandboxHandles(sandbox).bookingCom,
    /** iCal feeds and imported events, as the harness's worker sees them. */
    ical: bookingDeps.ical!,
    credentials,
    async close() {
      worker.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await sandbox.close();
      await database.close();
    },
  };
}

export type BookingHarness = Awaited<ReturnType<typeof startBookingHarness>>;

/** A property with one unit mapped to Booking.com, its calendar open for `nights` from `from`. */
export async function seedUnit(
  h: BookingHarness,
  options: {
    count?: number;
    from: string;
    nights: number;
    available?: number;
    price?: number;
    hotelId?: string;
    roomId?: string;
    rateId?: string;
    channels?: Array<'booking_com' | 'airbnb'>;
    airbnb?: { hostId: string; listingId: string };
    /** Push the calendar to the mapped channels (the initial full load) and wait for Booking.com to show it. */
    push?: boolean;
  },
) {
  const property = await h.inventory.properties.createProperty({ name: `Test property ${randomUUID().slice(0, 6)}`, currency: 'SEK' });
  const unit = await h.inventory.properties.createUnit({ propertyId: property.id, name: 'Cabin', count: options.count ?? 1 });
  const hotelId = options.hotelId ?? String(1_000_000 + Math.floor(Math.random() * 8_999_999));
  const roomId = options.roomId ?? `${hotelId}01`;
  const rateId = options.rateId ?? `${hotelId}9`;
  for (const channel of options.channels ?? ['booking_com']) {
    if (channel === 'booking_com') {
      await h.inventory.mappings.createMapping({ unitId: unit.id, channel, externalAccountId: hotelId, externalListingId: roomId, externalRateId: rateId });
    } else if (options.airbnb) {
      await h.inventory.mappings.createMapping({ unitId: unit.id, channel, externalAccountId: options.airbnb.hostId, externalListingId: options.airbnb.listingId });
    }
  }
  const to = new Date(Date.parse(`${options.from}T00:00:00Z`) + (options.nights - 1) * 86_400_000).toISOString().slice(0, 10);
  await h.inventory.calendar.updateCalendar(unit.id, [{ from: options.from, to, available: options.available ?? options.count ?? 1, price: { value: options.price ?? 100_000, currency: 'SEK' } }]);
  if (options.push) {
    await h.bookings.notifyChannels(unit.id, { ranges: [{ from: options.from, to }], reason: 'initial full load' });
    if ((options.channels ?? ['booking_com']).includes('booking_com')) {
      await eventually(() => h.bookingCom.calendar(hotelId, roomId, rateId, to, to)[0]?.roomsToSell !== undefined, { what: 'the full load on Booking.com' });
    }
  }
  return { property, unit, unitId: unit.id, hotelId, roomId, rateId, to };
}
