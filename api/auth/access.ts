// Who may do what on the admin door, enforced before any handler runs:
//   1. Host allowlist: a foreign Host header (DNS rebinding) gets 421.
//   2. Bearer API key (@fastify/bearer-auth over the api_keys table): none or unknown → 401.
//   3. The route's scope from api/auth/route-scopes.ts: missing → 403.
//   4. State-changing requests carry JSON (415 otherwise), so a browser form cannot post here.
//   5. Money-moving requests carry an Idempotency-Key (400 without); its answer is kept 24 h per API
//      key and replayed to a retry; the same key with another request gets 422.
// 1-4 run at onRequest, before the body is read: a refused request leaves no trace anywhere.
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import bearerAuth from '@fastify/bearer-auth';
import cors from '@fastify/cors';
import type { ApiKeyRecord, ApiKeyStore } from '../../store/api-keys';
import type { IdempotencyStore } from '../../store/idempotency';
import type { ApiScope } from '../../db/schema';
import { accessFor, ROUTE_SCOPES, type RouteAccess } from './route-scopes';
import { unavailableDependency } from '../unavailable';

export interface AdminAccessDeps {
  keys: ApiKeyStore;
  idempotency: IdempotencyStore;
  /** Host names (no port) the admin door answers to. */
  allowedHosts: readonly string[];
  /** Browser origins allowed cross-origin calls; empty = CORS off. */
  corsOrigins?: readonly string[];
  /** Whether cancelling this booking would refund money (it was paid). */
  isPaidBooking?: (bookingId: string) => Promise<boolean>;
  /** The route table (tests pass their own); default api/auth/route-scopes.ts. */
  routeScopes?: Readonly<Record<string, RouteAccess>>;
}

export interface AdminRoute {
  method: string;
  url: string;
  access: RouteAccess;
}

export class UnscopedRoutesError extends Error {
  override readonly name = 'UnscopedRoutesError';
}

const principals = new WeakMap<FastifyRequest, ApiKeyRecord>();
const claims = new WeakMap<FastifyRequest, { apiKeyId: string; key: string }>();

/** The API key a request was authenticated with (undefined on routes that need none). */
export const principalOf = (request: FastifyRequest): ApiKeyRecord | undefined => principals.get(request);

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** `Host: Example.com:3000`, `[::1]:3000` → `example.com`, `::1`. */
export function hostnameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const value = host.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']'));
  return value.replace(/:\d+$/, '');
}

/** Stable JSON: the same body with its keys in another order is the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const refuse = (reply: FastifyReply, status: number, error: string, message: string) => reply.code(status).send({ error, message });

/**
 * Installs the checks on the admin app. Call before any route is registered: every route added
 * afterwards is looked up in the table, and `assertEveryRouteScoped` (after the last route) refuses
 * an app with a route the table does not know.
 */
export async function installAdminAccess(app: FastifyInstance, deps: AdminAccessDeps) {
  const table = deps.routeScopes ?? ROUTE_SCOPES;
  const allowedHosts = new Set(deps.allowedHosts.map((host) => hostnameOf(host)!));
  const routes: AdminRoute[] = [];
  const unscoped: string[] = [];

  app.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) {
      const access = accessFor(method, route.url, table);
      if (access) routes.push({ method, url: route.url, access });
      else unscoped.push(`${method} ${route.url}`);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!allowedHosts.has(hostnameOf(request.headers.host) ?? '')) {
      return refuse(reply, 421, 'misdirected_request', 'this API does not answer to that Host');
    }
  });

  if (deps.corsOrigins && deps.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: [...deps.corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'PUT'],
      // x-namespace: the Temporal Web UI sends it to the codec server (POST /codec/decode).
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-namespace'],
      exposedHeaders: ['idempotent-replayed', 'location'],
      maxAge: 600,
    });
  }

  await app.register(bearerAuth, {
    keys: [],
    addHook: false,
    // A refused key is answered (and logged as a request); it is not an application error.
    verifyErrorLogLevel: 'debug',
    auth: async (key: string, request: FastifyRequest) => {
      const record = await deps.keys.authenticate(key);
      if (!record) return false;
      principals.set(request, record);
      return true;
    },
  });
  const verifyBearer = (request: FastifyRequest, reply: FastifyReply) =>
    new Promise<Error | undefined>((resolve) => app.verifyBearerAuth!(request, reply, (err?: Error) => resolve(err)));

  const accessOf = (request: FastifyRequest) =>
    request.routeOptions.url === undefined ? undefined : accessFor(request.method, request.routeOptions.url, table);

  app.addHook('onRequest', async (request, reply) => {
    const access = accessOf(request);
    // Unknown paths answer 404 whoever asks; routes that need no key go on.
    if (!access || access.scope === 'none') return;
    const failure = await verifyBearer(request, reply);
    // A key that could not be looked up (database down) is not a refused key: 503, not 401.
    if (failure && unavailableDependency(failure)) throw failure;
    if (failure) {
      reply.header('www-authenticate', 'Bearer realm="skerry"');
      return refuse(reply, failure.message === 'internal server error' ? 500 : 401, 'unauthorized', 'an API key is required: Authorization: Bearer sk_…');
    }
    const key = principals.get(request)!;
    if (!key.scopes.includes(access.scope)) {
      return refuse(reply, 403, 'forbidden', `this API key lacks the scope ${access.scope}`);
    }
    if (STATE_CHANGING.has(request.method) && (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/json') {
      return refuse(reply, 415, 'unsupported_media_type', 'send a JSON body with content-type: application/json ({} when there is nothing to say)');
    }
    void deps.keys.touch(key.id).catch((err: Error) => request.log.warn({ err: err.message }, 'could not record the API key use'));
  });

  // After validation: conditions that depend on the body or on the resource, then the Idempotency-Key.
  app.addHook('preHandler', async (request, reply) => {
    const access = accessOf(request);
    const key = principals.get(request);
    if (!access || !key) return;
    const lacks = (scope: ApiScope) => refuse(reply, 403, 'forbidden', `this API key lacks the scope ${scope}`);

    let idempotency = access.idempotency;
    if (access.whenBookingTakesPayment && (request.body as { payment?: unknown } | undefined)?.payment && !key.scopes.includes(access.whenBookingTakesPayment)) {
      return lacks(access.whenBookingTakesPayment);
    }
    if (access.whenPaidBooking) {
      const bookingId = (request.params as { id?: string } | undefined)?.id;
      if (bookingId && deps.isPaidBooking && (await deps.isPaidBooking(bookingId))) {
        if (!key.scopes.includes(access.whenPaidBooking)) return lacks(access.whenPaidBooking);
        idempotency = 'required';
      }
    }
    if (!idempotency) return;

    const header = request.headers['idempotency-key'];
    const idempotencyKey = Array.isArray(header) ? header[0] : header;
    if (!idempotencyKey) {
      if (idempotency === 'optional') return;
      return refuse(reply, 400, 'idempotency_key_required', 'this request moves money: send an Idempotency-Key header (1-255 characters), and the same one when you retry it');
    }
    if (idempotencyKey.length > 255) return refuse(reply, 400, 'invalid_request', 'headers.idempotency-key: at most 255 characters');
    const path = request.url.split('?')[0]!;
    const requestHash = createHash('sha256').update(`${request.method} ${path}\n${canonical(request.body ?? null)}`).digest('hex');
    const claim = await deps.idempotency.claim({ apiKeyId: key.id, key: idempotencyKey, method: request.method, path, requestHash });
    if (claim.kind === 'mismatch') {
      return refuse(reply, 422, 'idempotency_key_reused', `Idempotency-Key ${idempotencyKey} was used with another request; use a new key for a new request`);
    }
    if (claim.kind === 'in_progress') {
      return refuse(reply, 409, 'idempotency_key_in_use', `a request with Idempotency-Key ${idempotencyKey} is still running; retry in a moment`);
    }
    if (claim.kind === 'replay') {
      if (claim.contentType) reply.header('content-type', claim.contentType);
      return reply.code(claim.status).header('idempotent-replayed', 'true').send(claim.body);
    }
    claims.set(request, { apiKeyId: key.id, key: idempotencyKey });
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const claim = claims.get(request);
    if (!claim) return payload;
    claims.delete(request);
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
    try {
      // A server-side failure is not an answer: the retry runs the request again (its calls are idempotent).
      if (reply.statusCode >= 500 || body === undefined) await deps.idempotency.release(claim);
      else await deps.idempotency.complete(claim, { status: reply.statusCode, contentType: String(reply.getHeader('content-type') ?? ''), body });
    } catch (err) {
      request.log.error({ err: (err as Error).message }, 'could not store the idempotent answer; a retry waits for the claim to lapse');
    }
    return payload;
  });

  return {
    /** Every route the app serves, with its access (HEAD routes included). */
    routes: (): readonly AdminRoute[] => routes,
    /** Refuses to start an app with a route the scope table does not name. */
    assertEveryRouteScoped(): void {
      if (unscoped.length > 0) {
        throw new UnscopedRoutesError(
          `admin routes without a scope: ${[...new Set(unscoped)].join(', ')}. Add each to api/auth/route-scopes.ts with the scope its work needs.`,
        );
      }
    },
  };
}
