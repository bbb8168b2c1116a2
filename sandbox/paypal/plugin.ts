// The PayPal sandbox over HTTP, as a Fastify plugin (registered under a prefix such as `/paypal`):
// the REST subset Skerry and the official SDK use — OAuth2 tokens, Orders v2, Payments v2, webhook
// signature verification, transaction search — and `/_control/*` routes acting as the payer or the
// operator. Faults and PayPal-Request-Id idempotency apply to the REST routes only.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseControlBody, registerSandboxControls, useLenientJsonParser } from '../shared/control';
import { installConditionalGets } from '../shared/conditional';
import { installIdempotencyHooks } from '../shared/idempotency';
import { randomToken } from '../shared/ids';
import { stableStringify } from '../shared/stable-json';
import { installProviderFailures } from '../shared/errors';
import { countRequests } from '../shared/upkeep';
import {
  PayPalApiError,
  authenticationFailure,
  internalServerError,
  invalidClient,
  invalidParameter,
  invalidRequest,
  invalidToken,
  missingParameter,
  previousRequestInProgress,
  rateLimitReached,
  render,
  requestIdReused,
  resourceNotFound,
  unsupportedGrantType,
} from './errors';
import { rawMember } from './raw-json';
import { PayPalDriftSchema, type PayPalSandbox, type VerifyRequest } from './sandbox';
import { TransitionError, type View } from './store';

export interface PayPalPluginOptions {
  sandbox: PayPalSandbox;
}

interface RequestInfo {
  debugId: string;
  clientId?: string;
}

/** Past payments seeded in bulk (no webhooks): CAPTURE orders approved and captured. */
const HistoryBody = z.strictObject({
  payments: z
    .array(
      z.strictObject({
        amount: z.number().int().positive(),
        currency: z.string().length(3).toUpperCase(),
        createdMs: z.number().int().positive(),
        customId: z.string().max(127).optional(),
        invoiceId: z.string().max(127).optional(),
      }),
    )
    .max(10_000),
});

const FailBody = z.strictObject({
  /**
   * `instrument_declined` (default): capturing or authorizing answers 422 INSTRUMENT_DECLINED.
   * `capture_denied`: the capture is created DECLINED (PAYMENT.CAPTURE.DENIED) and the order COMPLETED.
   */
  mode: z.enum(['instrument_declined', 'capture_denied']).optional(),
});

const VERIFY_FIELDS = ['auth_algo', 'cert_url', 'transmission_id', 'transmission_sig', 'transmission_time', 'webhook_id', 'webhook_event'] as const;
const TOKEN_PATH = '/v1/oauth2/token';

function basicCredentials(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  const match = /^Basic\s+(.+)$/i.exec(header?.trim() ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1) };
}

export async function paypalPlugin(app: FastifyInstance, options: PayPalPluginOptions): Promise<void> {
  const { sandbox } = options;
  const info = new WeakMap<FastifyRequest, RequestInfo>();
  const notExecuted = new WeakSet<FastifyRequest>();
  const pathOf = (request: FastifyRequest) => request.url.split('?')[0]!.slice(app.prefix.length);
  const isApi = (request: FastifyRequest) => /^\/v[12]\//.test(pathOf(request));
  const isPublic = (request: FastifyRequest) => pathOf(request) === TOKEN_PATH || pathOf(request).startsWith('/v1/notifications/certs/');
  const takesRequestId = (request: FastifyRequest) => isApi(request) && !isPublic(request) && pathOf(request) !== '/v1/notifications/verify-webhook-signature';

  // The token endpoint takes `grant_type=client_credentials` form-encoded.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  // Capture and authorize are often POSTed with `Content-Type: application/json` and no body.
  // Webhook verification checks the bytes of the posted event, so the raw body is kept.
  const rawBodies = new WeakMap<FastifyRequest, string>();
  useLenientJsonParser(app, { onRaw: (request, text) => rawBodies.set(request, text) });

  const sendError = (request: FastifyRequest, reply: FastifyReply, error: PayPalApiError) => {
    if (!error.executed) notExecuted.add(request);
    return reply.code(error.statusCode).send(render(error, info.get(request)?.debugId ?? randomToken(13, '0123456789abcdef')));
  };
  const viewOf = (request: FastifyRequest): View => (/return=representation/i.test(String(request.headers.prefer ?? '')) ? 'representation' : 'minimal');

  countRequests(app, sandbox.upkeep.requests, isApi);
  app.addHook('onRequest', async (request, reply) => {
    if (!isApi(request)) return;
    const debugId = randomToken(13, '0123456789abcdef');
    info.set(request, { debugId });
    reply.header('paypal-debug-id', debugId);
    sandbox.learnBaseUrl(`${request.protocol}://${request.host}${app.prefix}`);
    if (isPublic(request)) return;
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization?.trim() ?? '');
    if (!match) return sendError(request, reply, authenticationFailure());
    const checked = sandbox.checkToken(match[1]!);
    if ('refused' in checked) {
      return sendError(request, reply, invalidToken(checked.refused === 'expired' ? 'The token passed in was found to be expired' : 'Token signature verification failed'));
    }
    info.set(request, { debugId, clientId: checked.clientId });
  });

  installIdempotencyHooks(app, {
    store: sandbox.idempotency,
    header: 'paypal-request-id',
    appliesTo: takesRequestId,
    scopeOf: (request) => info.get(request)?.clientId,
    fingerprintOf: (request) => ({
      endpoint: `${request.method} ${pathOf(request)}`,
      params: stableStringify(request.body ?? {}),
    }),
    maxKeyLength: 108,
    // Refusals before anything ran are not kept, nor 5xx answers unless asked (`storeInjectedErrors`):
    // PayPal's guidance is to retry 5xx with the same PayPal-Request-Id.
    shouldStore: (request, reply) => !notExecuted.has(request) && (reply.statusCode < 500 || sandbox.faults.settings.storeInjectedErrors === true),
    storedHeaders: ['content-type'],
    replayHeaders: (stored, request) => ({
      'content-type': stored.headers['content-type'] ?? 'application/json',
      'paypal-debug-id': info.get(request)?.debugId ?? randomToken(13, '0123456789abcdef'),
    }),
    // "PayPal returns the latest status of the previous request that used that same header."
    replayBody: (stored, request) => {
      if (stored.statusCode < 200 || stored.statusCode >= 300 || stored.body === '') return stored.body;
      try {
        const id = (JSON.parse(stored.body) as { id?: unknown }).id;
        const latest = typeof id === 'string' ? sandbox.store.renderById(id, viewOf(request)) : undefined;
        return latest ? JSON.stringify(latest) : stored.body;
      } catch {
        return stored.body;
      }
    },
    onMismatch: (request, reply) => sendError(request, reply, requestIdReused()),
    onInFlight: (request, reply) => sendError(request, reply, previousRequestInProgress()),
    onKeyTooLong: (request, reply, max) =>
      sendError(request, reply, invalidParameter('PayPal-Request-Id', undefined, `The value of a field is too long. Maximum length is ${max}.`, 'INVALID_STRING_MAX_LENGTH', 'header')),
  });

  installProviderFailures(app, {
    provider: 'paypal',
    isApi,
    faults: sandbox.faults,
    faultsApplyTo: (request) => isApi(request) && !pathOf(request).startsWith('/v1/notifications/certs/'),
    rateLimited: (request, reply) => sendError(request, reply, rateLimitReached()),
    own: (error, request, reply) => (error instanceof PayPalApiError ? sendError(request, reply, error) : undefined),
    malformed: (request, reply, _status, message) => sendError(request, reply, invalidRequest([{ issue: 'MALFORMED_REQUEST_JSON', description: message }])),
    failed: (request, reply) => sendError(request, reply, internalServerError()),
    unknownRoute: (request, reply, path) => sendError(request, reply, resourceNotFound(`The requested resource (${request.method} ${path}) was not found.`)),
  });
  // GET answers carry an ETag; If-None-Match with the current one is answered 304.
  installConditionalGets(app, { appliesTo: isApi });

  type IdRequest = FastifyRequest<{ Params: { id: string } }>;
  const send = (reply: FastifyReply, status: number, body: unknown) => reply.code(status).send(body);

  // ─── OAuth 2.0 ───────────────────────────────────────────────────────────────────────────

  app.post(TOKEN_PATH, async (request, reply) => {
    const credentials = basicCredentials(request.headers.authorization);
    if (!credentials || !sandbox.acceptsClient(credentials.clientId, credentials.clientSecret)) return sendError(request, reply, invalidClient());
    const grantType = (request.body as Record<string, unknown> | undefined)?.grant_type;
    if (grantType !== 'client_credentials') return sendError(request, reply, unsupportedGrantType(typeof grantType === 'string' ? grantType : undefined));
    const token = sandbox.issueToken(credentials.clientId);
    return {
      scope: 'https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund https://uri.paypal.com/services/payments/realtimepayment https://uri.paypal.com/services/reporting/search/read https://uri.paypal.com/services/applications/webhooks',
      access_token: token.access_token,
      token_type: 'Bearer',
      app_id: sandbox.appId,
      expires_in: token.expires_in,
      nonce: `${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}${randomToken(43)}`,
    };
  });

  // ─── Orders v2 ───────────────────────────────────────────────────────────────────────────

  app.post('/v2/checkout/orders', async (request, reply) => send(reply, 201, sandbox.store.renderOrder(sandbox.store.createOrder(request.body), viewOf(request))));
  app.get('/v2/checkout/orders/:id', async (request: IdRequest) => sandbox.store.renderOrder(sandbox.store.getOrder(request.params.id), 'representation'));
  app.post('/v2/checkout/orders/:id/capture', async (request: IdRequest, reply) =>
    send(reply, 201, sandbox.store.renderOrder(sandbox.store.captureOrder(request.params.id, request.body), viewOf(request), 'execute')),
  );
  app.post('/v2/checkout/orders/:id/authorize', async (request: IdRequest, reply) =>
    send(reply, 201, sandbox.store.renderOrder(sandbox.store.authorizeOrder(request.params.id, request.body), viewOf(request), 'execute')),
  );

  // ─── Payments v2 ─────────────────────────────────────────────────────────────────────────

  app.get('/v2/payments/authorizations/:id', async (request: IdRequest) => sandbox.store.renderAuthorization(sandbox.store.getAuthorization(request.params.id)));
  app.post('/v2/payments/authorizations/:id/capture', async (request: IdRequest, reply) => {
    const capture = sandbox.store.captureAuthorization(request.params.id, request.body);
    return send(reply, 201, sandbox.store.renderById(capture.id, viewOf(request)));
  });
  app.post('/v2/payments/authorizations/:id/void', async (request: IdRequest, reply) => {
    const authorization = sandbox.store.voidAuthorization(request.params.id);
    if (viewOf(request) === 'minimal') return reply.code(204).send();
    return send(reply, 200, sandbox.store.renderAuthorization(authorization));
  });
  app.get('/v2/payments/captures/:id', async (request: IdRequest) => sandbox.store.renderCapture(sandbox.store.getCapture(request.params.id)));
  app.post('/v2/payments/captures/:id/refund', async (request: IdRequest, reply) => {
    const refund = sandbox.store.refundCapture(request.params.id, request.body);
    return send(reply, 201, sandbox.store.renderById(refund.id, viewOf(request)));
  });
  app.get('/v2/payments/refunds/:id', async (request: IdRequest) => sandbox.store.renderRefund(sandbox.store.getRefund(request.params.id)));

  // ─── Webhooks and reporting ──────────────────────────────────────────────────────────────

  app.post('/v1/notifications/verify-webhook-signature', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    for (const field of VERIFY_FIELDS) {
      if (body[field] === undefined || body[field] === null || body[field] === '') return sendError(request, reply, missingParameter(field));
    }
    for (const field of VERIFY_FIELDS.slice(0, -1)) {
      if (typeof body[field] !== 'string') return sendError(request, reply, invalidParameter(field, JSON.stringify(body[field]), 'The value of a field does not conform to the expected format.', 'INVALID_PARAMETER_SYNTAX'));
    }
    const raw = rawBodies.get(request);
    return { verification_status: sandbox.verifyTransmission(body as unknown as VerifyRequest, raw === undefined ? undefined : rawMember(raw, 'webhook_event')) };
  });
  app.get('/v1/notifications/certs/:id', async (request: IdRequest, reply) => {
    if (request.params.id !== sandbox.certId) return sendError(request, reply, resourceNotFound());
    // PayPal serves an X.509 certificate chain; the sandbox serves the signing public key (SPKI PEM).
    return reply.type('application/x-pem-file').send(sandbox.publicKeyPem);
  });
  app.get('/v1/reporting/transactions', async (request) => sandbox.store.searchTransactions(request.query as Record<string, string>));

  // ─── The payer's browser ─────────────────────────────────────────────────────────────────

  app.get('/checkoutnow', async (request, reply) => {
    const token = (request.query as { token?: string }).token ?? '';
    const order = sandbox.store.orders.get(token);
    if (!order) return reply.code(404).type('text/html').send('<p>Unknown PayPal order.</p>');
    const control = `${app.prefix}/_control/payments/${order.id}`;
    return reply
      .type('text/html')
      .send(
        `<!doctype html><title>PayPal sandbox checkout</title><h1>Order ${order.id}</h1>` +
          `<p>${order.status} · ${order.amount.minor} (minor units) ${order.amount.currency}</p>` +
          `<p>Skerry's PayPal sandbox has no checkout UI. Act as the payer with <code>POST ${control}/succeed</code>, ` +
          `<code>POST ${control}/fail</code> or <code>POST ${control}/abandon</code>.</p>`,
      );
  });

  // ─── Control: the payer ──────────────────────────────────────────────────────────────────

  app.post('/_control/payments/:id/succeed', async (request: IdRequest) => sandbox.store.renderOrder(sandbox.store.approve(request.params.id), 'representation'));
  app.post('/_control/payments/:id/fail', async (request: IdRequest, reply) => {
    const input = parseControlBody(FailBody, request, reply);
    if (!input) return reply;
    const order = sandbox.store.approve(request.params.id, input.mode ?? 'instrument_declined');
    return { ...sandbox.store.renderOrder(order, 'representation'), sandbox: { ...order.flags } };
  });
  app.post('/_control/payments/:id/abandon', async (request: IdRequest) => {
    const order = sandbox.store.abandon(request.params.id);
    return { ...sandbox.store.renderOrder(order, 'representation'), sandbox: { ...order.flags } };
  });

  // ─── Control: the operator ───────────────────────────────────────────────────────────────

  app.post('/_control/refunds/:id/settle', async (request: IdRequest) => {
    const refund = sandbox.store.settleRefund(request.params.id);
    if (!refund) throw new TransitionError(404, `No such refund: '${request.params.id}'`);
    return sandbox.store.renderRefund(refund);
  });

  // ─── Control: reconciliation drift and history ───────────────────────────────────────────
  app.post('/_control/drift', async (request, reply) => {
    const input = parseControlBody(PayPalDriftSchema, request, reply);
    if (!input) return reply;
    return sandbox.drift(input);
  });
  app.post('/_control/history', async (request, reply) => {
    const input = parseControlBody(HistoryBody, request, reply);
    if (!input) return reply;
    const orders = input.payments.map((payment) =>
      sandbox.store.seedPayment({
        amount: { minor: payment.amount, currency: payment.currency },
        createdMs: payment.createdMs,
        customId: payment.customId,
        invoiceId: payment.invoiceId,
      }),
    );
    return { orders: orders.map((order) => ({ id: order.id, capture: order.captureIds.at(-1) })) };
  });

  registerSandboxControls(app, { faults: sandbox.faults, webhooks: sandbox.webhooks, state: () => sandbox.state(), reset: () => sandbox.reset() });
}
