// The channel manager's HTTP API: properties, units, channel mappings, the calendar (with what each
// channel was last told), direct bookings, and the channels' own status (reservation queue, resync).
// One plugin, so the domain's error answers below cover every route of the three files.
import type { FastifyInstance } from 'fastify';
import { BookingConflictError, BookingNotFoundError, BookingUnavailableError, InventoryError } from '../../client/bookings';
import { bookingRoutes, bookingView } from './bookings';
import { channelRoutes, type ChannelRoutesDeps } from './channels';
import { propertyRoutes } from './properties';

/** What the channel routes need; the property and booking routes need only `bookings`. */
export type InventoryRoutesDeps = ChannelRoutesDeps;

export async function inventoryRoutes(app: FastifyInstance, deps: InventoryRoutesDeps): Promise<void> {
  // The domain's errors; everything else goes on to the app's error handler.
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof InventoryError) {
      const status = error.code === 'not_found' ? 404 : error.code === 'conflict' ? 409 : 400;
      return reply.code(status).send({ error: error.code, message: error.message, ...(error.field ? { fields: [{ path: error.field, message: error.message }] } : {}) });
    }
    if (error instanceof BookingNotFoundError) return reply.code(404).send({ error: 'not_found', message: error.message });
    if (error instanceof BookingUnavailableError) {
      return reply.code(409).send({ error: 'unavailable', message: error.message, booking: bookingView(error.booking) });
    }
    if (error instanceof BookingConflictError) return reply.code(409).send({ error: 'conflict', message: error.message });
    throw error;
  });

  await propertyRoutes(app, deps);
  await bookingRoutes(app, deps);
  await channelRoutes(app, deps);
}
