// Every admin route and the scope its API key needs, in one table. The admin app refuses to start
// when a route has no entry here (api/auth/access.ts), so a new route cannot go out unprotected:
// add its line below with the scope that fits its work.
//
//   read             everything that only reads (payments, bookings, guests' data, the inbox, metrics)
//   payments:write   create, capture, cancel a payment
//   refunds:write    refund a payment (and cancel a paid booking, which refunds it)
//   inventory:write  properties, units, mappings, the calendar, direct bookings
//   channels:admin   connect channel accounts, start resyncs
//   ops:admin        replay webhooks, run reconciliations, manage API keys
import type { ApiScope } from '../../db/schema';

export interface RouteAccess {
  /** The scope every call needs; `none` for what any visitor of the admin door may read (docs, liveness). */
  scope: ApiScope | 'none';
  /**
   * `required`: the request moves money, an Idempotency-Key must come with it (400 without).
   * `optional`: one is honoured when sent. Either way its answer is kept 24 h per API key.
   */
  idempotency?: 'required' | 'optional';
  /** Cancelling a booking that was paid refunds it: then also this scope, and the Idempotency-Key is required. */
  whenPaidBooking?: ApiScope;
  /** A booking that takes a payment also needs this scope. */
  whenBookingTakesPayment?: ApiScope;
}

export const ROUTE_SCOPES: Readonly<Record<string, RouteAccess>> = {
  // Liveness, the OpenAPI document and its UI, CORS preflights: no key (they show no data).
  'GET /health': { scope: 'none' },
  'GET /ready': { scope: 'none' },
  'GET /docs/**': { scope: 'none' },
  'OPTIONS *': { scope: 'none' },
  // The console's HTML, scripts and styles: no data in them; every page calls the API with its own key.
  'GET /console/**': { scope: 'none' },

  // Payments
  'POST /payments': { scope: 'payments:write', idempotency: 'required' },
  'GET /payments': { scope: 'read' },
  'GET /payments/summary': { scope: 'read' },
  'GET /payments/:id': { scope: 'read' },
  'GET /payments/:id/timeline': { scope: 'read' },
  'POST /payments/:id/capture': { scope: 'payments:write', idempotency: 'required' },
  'POST /payments/:id/cancel': { scope: 'payments:write', idempotency: 'optional' },
  'POST /payments/:id/refunds': { scope: 'refunds:write', idempotency: 'required' },

  // Operations
  'GET /metrics': { scope: 'read' },
  'GET /providers': { scope: 'read' },
  'GET /providers/calls': { scope: 'read' },
  'GET /webhooks': { scope: 'read' },
  'GET /webhooks/:id': { scope: 'read' },
  'POST /webhooks/replay': { scope: 'ops:admin' },
  'GET /api-keys': { scope: 'ops:admin' },
  'GET /api-keys/self': { scope: 'read' },
  'POST /api-keys': { scope: 'ops:admin' },
  'POST /api-keys/:id/revoke': { scope: 'ops:admin' },

  // Reconciliation
  'POST /reconciliations': { scope: 'ops:admin' },
  'GET /reconciliations': { scope: 'read' },
  'GET /reconciliations/:id': { scope: 'read' },
  'GET /reconciliations/:id/report': { scope: 'read' },
  'POST /reconciliations/:id/discrepancies/:discrepancyId/heal': { scope: 'ops:admin', idempotency: 'required' },
  'POST /reconciliations/:id/discrepancies/:discrepancyId/ignore': { scope: 'ops:admin', idempotency: 'required' },

  // Inventory
  'POST /properties': { scope: 'inventory:write' },
  'GET /properties': { scope: 'read' },
  'POST /properties/:id/units': { scope: 'inventory:write' },
  'GET /properties/:id/units': { scope: 'read' },
  'GET /properties/:id/calendar': { scope: 'read' },
  'GET /units/:id': { scope: 'read' },
  'POST /units/:id/mappings': { scope: 'inventory:write' },
  'GET /units/:id/mappings': { scope: 'read' },
  'PUT /units/:id/calendar': { scope: 'inventory:write' },
  'GET /units/:id/calendar': { scope: 'read' },
  'GET /units/:id/sync': { scope: 'read' },

  // Bookings
  'POST /bookings': { scope: 'inventory:write', idempotency: 'optional', whenBookingTakesPayment: 'payments:write' },
  'GET /bookings/:id': { scope: 'read' },
  'POST /bookings/:id/cancel': { scope: 'inventory:write', idempotency: 'optional', whenPaidBooking: 'refunds:write' },
  'GET /reservations': { scope: 'read' },
  'GET /overbookings': { scope: 'read' },

  // Channels
  'GET /channels/:channel/queue': { scope: 'read' },
  'GET /channels/channex/health': { scope: 'read' },
  'POST /channels/:channel/resync': { scope: 'channels:admin' },
  'GET /channels/:channel/resync/:workflowId': { scope: 'read' },
  'GET /channels/:channel/resyncs': { scope: 'read' },
  'GET /channels/airbnb/connect': { scope: 'channels:admin' },
  'GET /channels/airbnb/accounts': { scope: 'read' },
  // iCal (#18): a feed URL is a credential to a unit's calendar, so making one is channels:admin.
  'POST /units/:id/ical/exports': { scope: 'channels:admin' },
  'GET /units/:id/ical/exports': { scope: 'read' },
  'POST /units/:id/ical/exports/:feedId/revoke': { scope: 'channels:admin' },
  'POST /units/:id/ical/exports/:feedId/reissue': { scope: 'channels:admin' },
  'POST /units/:id/ical/imports': { scope: 'channels:admin' },
  'GET /units/:id/ical/imports': { scope: 'read' },
  'PATCH /units/:id/ical/imports/:feedId': { scope: 'channels:admin' },
  'POST /units/:id/ical/imports/:feedId/sync': { scope: 'channels:admin' },
  'POST /units/:id/ical/imports/:feedId/remove': { scope: 'channels:admin' },
  'GET /channels/ical/health': { scope: 'read' },

  // The Temporal codec server (the Web UI shows decrypted payloads with it).
  'POST /codec/decode': { scope: 'read' },
  'POST /codec/encode': { scope: 'read' },
};

/** A route's entry: HEAD answers as its GET does; `…/**` entries cover every route under a prefix. */
export function accessFor(method: string, url: string, table: Readonly<Record<string, RouteAccess>> = ROUTE_SCOPES): RouteAccess | undefined {
  const verb = method === 'HEAD' ? 'GET' : method;
  const exact = table[`${verb} ${url}`];
  if (exact) return exact;
  for (const [pattern, access] of Object.entries(table)) {
    if (!pattern.endsWith('/**')) continue;
    const [patternVerb, prefix] = pattern.slice(0, -3).split(' ') as [string, string];
    if (patternVerb === verb && (url === prefix || url.startsWith(`${prefix}/`))) return access;
  }
  return undefined;
}
