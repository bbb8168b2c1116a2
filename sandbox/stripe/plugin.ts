// The Stripe sandbox over HTTP, as a Fastify plugin (registered under a prefix such as `/stripe`):
// the `/v1/*` API subset the official SDK calls, and `/_control/*` routes acting as the customer
// or the operator. Faults and idempotency apply to `/v1/*` only.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import qs from 'qs';
import { z } from 'zod';
import { parseControlBody, registerSandboxControls, useLenientJsonParser } from '../shared/control';
import { randomToken } from '../shared/ids';
import { installConditionalGets } from '../shared/conditional';
import { installIdempotencyHooks } from '../shared/idempotency';
import { stableStringify } from '../shared/stable-json';
import { installProviderFailures } from '../shared/errors';
import { countRequests } from '../shared/upkeep';
import {
  StripeApiError,
  apiError,
  authenticationError,
  idempotencyKeyInUse,
  idempotencyMismatch,
  invalidRequest,
  rateLimitError,
  renderError,
} from './errors';
import { asParams, readStringArray, rejectUnknown, type Params } from './params';
import { StripeDriftSchema, type StripeSandbox } from './sandbox';
import { TransitionError, type RequestContext } from './store';

export interface StripePluginOptions {
  sandbox: StripeSandbox;
}

const QS_OPTIONS = { depth: 10, arrayLimit: 1_000, parameterLimit: 5_000, allowPrototypes: false } as const;

interface RequestInfo {
  requestId: string;
  apiKey?: string;
}

const SucceedBody = z.strictObject({ via: z.literal('processing').optional(), settle: z.boolean().optional() });
const FailBody = z.strictObject({
  code: z.string().min(1).optional(),
  decline_code: z.string().min(1).optional(),
  message: z.string().min(1).optional(),
});
const PayoutBody = z.strictObject({ currency: z.string().length(3).toLowerCase().optional() });
/** Past payments seeded in bulk (no webhooks): succeeded intents with their charges and balance transactions. */
const HistoryBody = z.strictObject({
  payments: z
    .array(
      z.strictObject({
        amount: z.number().int().positive(),
        currency: z.string().length(3),
        createdMs: z.number().int().positive(),
        metadata: z.record(z.string().max(40), z.string().max(500)).optional(),
      }),
    )
    .max(10_000),
});

function apiKeyFrom(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  if (/^bearer$/i.test(scheme)) return value;
  if (/^basic$/i.test(scheme)) return Buffer.from(value, 'base64').toString('utf8').split(':')[0] ?? '';
  return header;
}

export async function stripePlugin(app: FastifyInstance, options: StripePluginOptions): Promise<void> {
  const { sandbox } = options;
  const apiPrefix = `${app.prefix}/v1/`;
  const info = new WeakMap<FastifyRequest, RequestInfo>();
  const notExecuted = new WeakSet<FastifyRequest>();
  const isApi = (request: FastifyRequest) => request.url.startsWith(apiPrefix);

  // The SDK sends form bodies in bracket notation (`metadata[key]=value`, `expand[0]=…`).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, qs.parse(body as string, QS_OPTIONS));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Control calls may POST `Content-Type: application/json` with an empty body.
  useLenientJsonParser(app);

  const requestIdOf = (request: FastifyRequest) => info.get(request)?.requestId;

  const sendError = (request: FastifyRequest, reply: FastifyReply, error: StripeApiError) => {
    if (!error.executed) notExecuted.add(request);
    return reply.code(error.statusCode).send(renderError(error, requestIdOf(request)));
  };

  countRequests(app, sandbox.upkeep.requests, isApi);
  app.addHook('onRequest', async (request, reply) => {
    if (!isApi(request)) return;
    const requestId = `req_${randomToken(14)}`;
    reply.header('Request-Id', requestId);
    reply.header('Stripe-Version', request.headers['stripe-version'] ?? sandbox.apiVersion);
    const key = request.headers['idempotency-key'];
    if (request.method === 'POST' && typeof key === 'string') reply.header('Idempotency-Key', key);
    const apiKey = apiKeyFrom(request.headers.authorization);
    info.set(request, { requestId, apiKey });
    if (apiKey === undefined || !sandbox.acceptsKey(apiKey)) return sendError(request, reply, authenticationError(apiKey));
  });

  installIdempotencyHooks(app, {
    store: sandbox.idempotency,
    header: 'idempotency-key',
    appliesTo: isApi,
    scopeOf: (request) => info.get(request)?.apiKey,
    fingerprintOf: (request) => ({
      endpoint: `${request.method} ${request.url.split('?')[0]!.slice(app.prefix.length)}`,
      params: stableStringify(request.body ?? {}),
    }),
    shouldStore: (request) => !notExecuted.has(request),
    storedHeaders: ['content-type', 'request-id'],
    replayHeaders: (stored) => ({
      'content-type': stored.headers['content-type'] ?? 'application/json; charset=utf-8',
      'idempotent-replayed': 'true',
      ...(stored.headers['request-id'] ? { 'original-request': stored.headers['request-id'] } : {}),
    }),
    onMismatch: (request, reply, lookup, key) =>
      sendError(request, reply, idempotencyMismatch(key, lookup.reason, lookup.original.endpoint.split(' ')[1] ?? lookup.original.endpoint)),
    onInFlight: (request, reply, key) => sendError(request, reply, idempotencyKeyInUse(key)),
    onKeyTooLong: (request, reply, max) =>
      sendError(request, reply, invalidRequest(`Invalid Idempotency-Key: must be at most ${max} characters`, { param: 'Idempotency-Key', executed: false })),
  });

  installProviderFailures(app, {
    provider: 'stripe',
    isApi,
    faults: sandbox.faults,
    rateLimited: (request, reply) => sendError(request, reply, rateLimitError()),
    own: (error, request, reply) => (error instanceof StripeApiError ? sendError(request, reply, error) : undefined),
    malformed: (request, reply, status, message) => sendError(request, reply, invalidRequest(message, { status, executed: false })),
    failed: (request, reply) => sendError(request, reply, apiError()),
    unknownRoute: (request, reply, path) =>
      sendError(
        request,
        reply,
        invalidRequest(`Unrecognized request URL (${request.method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`, {
          status: 404,
          executed: false,
        }),
      ),
  });
  // GET answers carry an ETag; If-None-Match with the current one is answered 304.
  installConditionalGets(app, { appliesTo: isApi });

  // ─── Helpers ─────────────────────────────────────────────────────────────────────────────

  const body = (request: FastifyRequest): Params => asParams(request.body);
  const query = (request: FastifyRequest): Params => asParams(qs.parse(request.url.split('?')[1] ?? '', QS_OPTIONS));
  const ctx = (request: FastifyRequest): RequestContext => {
    const key = request.headers['idempotency-key'];
    return { requestId: requestIdOf(request) ?? null, idempotencyKey: typeof key === 'string' ? key : null };
  };
  const expanded = <T>(value: T, params: Params): T => sandbox.store.expand(value, readStringArray(params, 'expand') ?? []);
  const retrieveParams = (request: FastifyRequest): Params => {
    const params = query(request);
    rejectUnknown(params, ['expand', 'client_secret']);
    return params;
  };
  type IdRequest = FastifyRequest<{ Params: { id: string } }>;

  // ─── API: PaymentIntents ─────────────────────────────────────────────────────────────────

  app.post('/v1/payment_intents', async (request) => {
    const params = body(request);
    return expanded(sandbox.store.createPaymentIntent(params, ctx(request)), params);
  });
  app.get('/v1/payment_intents', async (request) => {
    const params = query(request);
    return expanded(sandbox.store.listPaymentIntents(params), params);
  });
  app.get('/v1/payment_intents/:id', async (request: IdRequest) => {
    const params = retrieveParams(request);
    return expanded(sandbox.store.getPaymentIntent(request.params.id), params);
  });
  app.post('/v1/payment_intents/:id', async (request: IdRequest) => {
    const params = body(request);
    return expanded(sandbox.store.updatePaymentIntent(request.params.id, params, ctx(request)), params);
  });
  app.post('/v1/payment_intents/:id/confirm', async (request: IdRequest) => {
    const params = body(request);
    return expanded(sandbox.store.confirmPaymentIntent(request.params.id, params, ctx(request)), params);
  });
  app.post('/v1/payment_intents/:id/capture', async (request: IdRequest) => {
    const params = body(request);
    return expanded(sandbox.store.capturePaymentIntent(request.params.id, params, ctx(request)), params);
  });
  app.post('/v1/payment_intents/:id/cancel', async (request: IdRequest) => {
    const params = body(request);
    return expanded(sandbox.store.cancelPaymentIntent(request.params.id, params, ctx(request)), params);
  });

  // ─── API: Charges, Refunds, balance transactions, payouts, events ───────────────────────

  app.get('/v1/charges', async (request) => {
    const params = query(request);
    return expanded(sandbox.store.listCharges(params), params);
  });
  app.get('/v1/charges/:id', async (request: IdRequest) => {
    const params = retrieveParams(request);
    return expanded(sandbox.store.getCharge(request.params.id), params);
  });
  app.post('/v1/refunds', async (request) => {
    const params = body(request);
    return expanded(sandbox.store.createRefund(params, ctx(request)), params);
  });
  app.get('/v1/refunds', async (request) => {
    const params = query(request);
    return expanded(sandbox.store.listRefunds(params), params);
  });
  app.get('/v1/refunds/:id', async (request: IdRequest) => {
    const params = retrieveParams(request);
    return expanded(sandbox.store.getRefund(request.params.id), params);
  });
  // The account balance (GET /v1/balance): available and pending net amounts per currency. Skerry
  // reads it as the circuit breaker's health check.
  app.get('/v1/balance', async () => {
    const sums = { available: new Map<string, number>(), pending: new Map<string, number>() };
    for (const txn of sandbox.store.balanceTransactions.values()) {
      const bucket = txn.status === 'available' ? sums.available : sums.pending;
      bucket.set(txn.currency, (bucket.get(txn.currency) ?? 0) + txn.net);
    }
    const list = (map: Map<string, number>) => [...map].map(([currency, amount]) => ({ amount, currency, source_types: { card: amount } }));
    // Stripe lists the Connect reserve too; this account has no connected accounts, so it holds nothing.
    const connectReserved = [...new Set([...sums.available.keys(), ...sums.pending.keys()])].map((currency) => ({ amount: 0, currency }));
    return { object: 'balance', available: list(sums.available), pending: list(sums.pending), connect_reserved: connectReserved, livemode: false };
  });
  app.get('/v1/balance_transactions', async (request) => {
    const params = query(request);
    return expanded(sandbox.store.listBalanceTransactions(params), params);
  });
  app.get('/v1/balance_transactions/:id', async (request: IdRequest) => {
    const params = retrieveParams(request);
    return expanded(sandbox.store.getBalanceTransaction(request.params.id), params);
  });
  app.get('/v1/payouts/:id', async (request: IdRequest) => {
    const params = retrieveParams(request);
    return expanded(sandbox.store.getPayout(request.params.id), params);
  });
  app.get('/v1/events', async (request) => sandbox.store.listEvents(query(request)));
  app.get('/v1/events/:id', async (request: IdRequest) => {
    retrieveParams(request);
    return sandbox.store.getEvent(request.params.id);
  });

  // ─── Control: the customer ───────────────────────────────────────────────────────────────

  app.post('/_control/payments/:id/succeed', async (request: IdRequest, reply) => {
    const input = parseControlBody(SucceedBody, request, reply);
    if (!input) return reply;
    return sandbox.store.succeed(request.params.id, input);
  });
  app.post('/_control/payments/:id/fail', async (request: IdRequest, reply) => {
    const input = parseControlBody(FailBody, request, reply);
    if (!input) return reply;
    return sandbox.store.fail(request.params.id, { code: input.code, declineCode: input.decline_code, message: input.message });
  });
  app.post('/_control/payments/:id/require_action', async (request: IdRequest) => sandbox.store.requireAction(request.params.id));
  app.post('/_control/payments/:id/abandon', async (request: IdRequest) => {
    const pi = sandbox.store.abandon(request.params.id);
    return { ...pi, sandbox: sandbox.store.flags.get(pi.id) };
  });

  // ─── Control: the operator ───────────────────────────────────────────────────────────────

  app.post('/_control/refunds/:id/settle', async (request: IdRequest) => {
    const refund = sandbox.store.settleRefund(request.params.id);
    if (!refund) throw new TransitionError(404, `No such refund: '${request.params.id}'`);
    return refund;
  });
  app.post('/_control/payouts', async (request, reply) => {
    const input = parseControlBody(PayoutBody, request, reply);
    if (!input) return reply;
    return { payouts: sandbox.store.createPayouts(input) };
  });

  // ─── Control: reconciliation drift and history ───────────────────────────────────────────

  app.post('/_control/drift', async (request, reply) => {
    const input = parseControlBody(StripeDriftSchema, request, reply);
    if (!input) return reply;
    return sandbox.drift(input);
  });
  app.post('/_control/history', async (request, reply) => {
    const input = parseControlBody(HistoryBody, request, reply);
    if (!input) return reply;
    const payments = input.payments.map((payment) =>
      sandbox.store.seedPayment({ amount: payment.amount, currency: payment.currency, createdMs: payment.createdMs, metadata: payment.metadata }),
    );
    return { paymentIntents: payments.map((pi) => ({ id: pi.id, balanceTransaction: sandbox.store.chargeTransactionOf(pi.id).id })) };
  });

  registerSandboxControls(app, { faults: sandbox.faults, webhooks: sandbox.webhooks, state: () => sandbox.state(), reset: () => sandbox.reset() });
}
