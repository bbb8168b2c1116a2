// The Vipps MobilePay sandbox over HTTP, as a Fastify plugin (registered under a prefix such as
// `/mobilepay`): `POST /accesstoken/get`, the ePayment API v1 and the Webhooks API v1 as the adapter
// calls them, and `/_control/*` routes acting as the user in the app or the operator. Faults apply to
// the API routes only; idempotency to the ePayment POSTs.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseControlBody, registerSandboxControls, useLenientJsonParser, zodIssues } from '../shared/control';
import { installConditionalGets } from '../shared/conditional';
import { installIdempotencyHooks } from '../shared/idempotency';
import { stableStringify } from '../shared/stable-json';
import { installProviderFailures } from '../shared/errors';
import { countRequests } from '../shared/upkeep';
import {
  EPaymentProblem,
  forbiddenProblem,
  gatewayUnauthorized,
  idempotencyInFlightProblem,
  idempotencyMismatchProblem,
  rateLimitProblem,
  renderProblem,
  serverErrorProblem,
  tokenError,
  validationProblem,
} from './errors';
import { EPAYMENT_WEBHOOK_EVENTS, MobilePayDriftSchema, type MobilePaySandbox, type RecordedRequest } from './sandbox';
import { modificationView, paymentView, type SandboxPayment } from './store';

export interface MobilePayPluginOptions {
  sandbox: MobilePaySandbox;
}

const AbandonBody = z.strictObject({ afterMs: z.number().int().min(0).max(86_400_000).optional() });
const EmptyBody = z.strictObject({});
const RegisterBody = z.object({
  url: z.url(),
  events: z.array(z.enum(EPAYMENT_WEBHOOK_EVENTS, { message: `must be one of ${EPAYMENT_WEBHOOK_EVENTS.join(', ')}` })).min(1),
});

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export async function mobilePayPlugin(app: FastifyInstance, options: MobilePayPluginOptions): Promise<void> {
  const { sandbox } = options;
  const prefix = app.prefix;
  const msnOf = new WeakMap<FastifyRequest, string>();
  const records = new WeakMap<FastifyRequest, RecordedRequest>();
  /** Requests whose answer is saved under their Idempotency-Key even though it is an error (injected 500s). */
  const storeAnyway = new WeakSet<FastifyRequest>();
  const pathOf = (request: FastifyRequest) => request.url.split('?')[0]!.slice(prefix.length);
  const isApi = (request: FastifyRequest) => /^\/(accesstoken|epayment|webhooks|settlement|report)\//.test(pathOf(request));
  const isTokenCall = (request: FastifyRequest) => pathOf(request).startsWith('/accesstoken/');
  const isEPaymentPost = (request: FastifyRequest) => request.method === 'POST' && pathOf(request).startsWith('/epayment/');

  useLenientJsonParser(app);
  // The token call is a POST without a body, sometimes labelled as a form.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, _body, done) => done(null, {}));

  const sendProblem = (reply: FastifyReply, problem: EPaymentProblem) =>
    reply.code(problem.status).header('content-type', 'application/problem+json; charset=utf-8').send(renderProblem(problem));

  countRequests(app, sandbox.upkeep.requests, isApi);
  app.addHook('onRequest', async (request, reply) => {
    if (!isApi(request)) return;
    const record: RecordedRequest = {
      method: request.method,
      path: pathOf(request),
      idempotencyKey: headerOf(request, 'idempotency-key'),
      merchantSerialNumber: headerOf(request, 'merchant-serial-number'),
      system: {
        name: headerOf(request, 'vipps-system-name'),
        version: headerOf(request, 'vipps-system-version'),
        pluginName: headerOf(request, 'vipps-system-plugin-name'),
        pluginVersion: headerOf(request, 'vipps-system-plugin-version'),
      },
    };
    sandbox.recordRequest(record);
    records.set(request, record);
    if (isTokenCall(request)) return;
    const auth = sandbox.authenticate(headerOf(request, 'authorization'), headerOf(request, 'ocp-apim-subscription-key'));
    if (!auth.ok) return reply.code(401).send(gatewayUnauthorized(auth.message));
    const msn = headerOf(request, 'merchant-serial-number');
    if (msn !== undefined && msn !== auth.msn) {
      return sendProblem(reply, forbiddenProblem(`Merchant-Serial-Number ${msn} does not match the access token's MSN`));
    }
    msnOf.set(request, auth.msn);
  });

  app.addHook('preValidation', async (request) => {
    if (!isApi(request) || request.body === undefined) return;
    const record = records.get(request);
    if (record) record.body = structuredClone(request.body);
  });

  installIdempotencyHooks(app, {
    store: sandbox.idempotency,
    header: 'idempotency-key',
    appliesTo: isEPaymentPost,
    scopeOf: (request) => msnOf.get(request),
    fingerprintOf: (request) => ({ endpoint: `${request.method} ${pathOf(request)}`, params: stableStringify(request.body ?? {}) }),
    maxKeyLength: 50,
    // Only what ran is saved: successes, and injected 500s (unless storeInjectedErrors is false).
    // A refused request (validation, state) may be retried with the same key once corrected.
    shouldStore: (request, reply) => reply.statusCode < 400 || storeAnyway.has(request),
    storedHeaders: ['content-type'],
    onMismatch: (_request, reply, lookup, key) => sendProblem(reply, idempotencyMismatchProblem(key, lookup.reason)),
    onInFlight: (_request, reply, key) => sendProblem(reply, idempotencyInFlightProblem(key)),
    onKeyTooLong: (_request, reply, max) =>
      sendProblem(reply, validationProblem(`Idempotency-Key must be at most ${max} characters`, [{ name: 'Idempotency-Key', reason: `at most ${max} characters` }])),
  });

  installProviderFailures(app, {
    provider: 'mobilepay',
    isApi,
    faults: sandbox.faults,
    injectedError: (request, reply) => {
      storeAnyway.add(request);
      return sendProblem(reply, serverErrorProblem());
    },
    rateLimited: (_request, reply) => sendProblem(reply, rateLimitProblem()),
    own: (error, _request, reply) => (error instanceof EPaymentProblem ? sendProblem(reply, error) : undefined),
    malformed: (_request, reply, _status, message) => sendProblem(reply, validationProblem(message)),
    failed: (_request, reply) => sendProblem(reply, serverErrorProblem()),
    unknownRoute: (request, reply, path) => sendProblem(reply, new EPaymentProblem(404, 'about:blank', 'Not Found', `No route ${request.method} ${path}`)),
  });
  // GET answers carry an ETag; If-None-Match with the current one is answered 304.
  installConditionalGets(app, { appliesTo: isApi });

  // ─── Helpers ─────────────────────────────────────────────────────────────────────────────

  type RefRequest = FastifyRequest<{ Params: { reference: string } }>;
  const msn = (request: FastifyRequest) => msnOf.get(request)!;
  const requireKey = (request: FastifyRequest): string => {
    const key = headerOf(request, 'idempotency-key');
    if (!key) throw validationProblem('The Idempotency-Key header is required', [{ name: 'Idempotency-Key', reason: 'required' }]);
    return key;
  };
  const landingUrl = (request: FastifyRequest, payment: SandboxPayment) =>
    `${request.protocol}://${request.host}${prefix}/landing?token=${payment.redirectToken}`;

  // ─── Access token ────────────────────────────────────────────────────────────────────────

  app.post('/accesstoken/get', async (request, reply) => {
    const result = sandbox.issueToken({
      clientId: headerOf(request, 'client_id'),
      clientSecret: headerOf(request, 'client_secret'),
      subscriptionKey: headerOf(request, 'ocp-apim-subscription-key'),
      msn: headerOf(request, 'merchant-serial-number'),
    });
    if (!result.ok) return reply.code(result.status).send(tokenError(result.error, result.description));
    return result.body;
  });

  // ─── ePayment ────────────────────────────────────────────────────────────────────────────

  app.post('/epayment/v1/payments', async (request, reply) => {
    const key = requireKey(request);
    const payment = sandbox.store.create(msn(request), request.body, key);
    return reply.code(201).send({ redirectUrl: landingUrl(request, payment), reference: payment.reference });
  });
  app.get('/epayment/v1/payments/:reference', async (request: RefRequest) => {
    const payment = sandbox.store.get(msn(request), request.params.reference);
    return paymentView(payment, landingUrl(request, payment));
  });
  app.get('/epayment/v1/payments/:reference/events', async (request: RefRequest) =>
    sandbox.store.get(msn(request), request.params.reference).events.map(({ msn: _msn, ...event }) => event),
  );
  app.post('/epayment/v1/payments/:reference/capture', async (request: RefRequest) =>
    modificationView(sandbox.store.capture(msn(request), request.params.reference, request.body, requireKey(request))),
  );
  app.post('/epayment/v1/payments/:reference/cancel', async (request: RefRequest) =>
    modificationView(sandbox.store.cancel(msn(request), request.params.reference, request.body, requireKey(request))),
  );
  app.post('/epayment/v1/payments/:reference/refund', async (request: RefRequest) =>
    modificationView(sandbox.store.refund(msn(request), request.params.reference, request.body, requireKey(request))),
  );

  // ─── Webhooks API ────────────────────────────────────────────────────────────────────────

  app.post('/webhooks/v1/webhooks', async (request, reply) => {
    const parsed = RegisterBody.safeParse(request.body ?? {});
    if (!parsed.success) {
      throw validationProblem(
        'The request body contains one or more validation errors.',
        zodIssues(parsed.error).map((issue) => ({ name: issue.field, reason: issue.message })),
      );
    }
    const registration = sandbox.register(msn(request), parsed.data.url, parsed.data.events);
    return reply.code(201).send({ id: registration.id, secret: registration.secret });
  });
  app.get('/webhooks/v1/webhooks', async (request) => ({
    webhooks: sandbox.registrationsOf(msn(request)).map(({ id, url, events }) => ({ id, url, events })),
  }));
  app.delete('/webhooks/v1/webhooks/:id', async (request: FastifyRequest<{ Params: { id: string } }>, reply) => {
    if (!sandbox.unregister(msn(request), request.params.id)) {
      throw new EPaymentProblem(404, 'about:blank', 'Not Found', `No webhook with id '${request.params.id}'`);
    }
    return reply.code(204).send();
  });

  // ─── The landing page the redirectUrl points at ──────────────────────────────────────────

  app.get('/landing', async (request: FastifyRequest<{ Querystring: { token?: string } }>, reply) => {
    const payment = request.query.token ? sandbox.store.findByToken(request.query.token) : undefined;
    if (!payment) return reply.code(404).send({ error: 'Unknown or missing landing page token' });
    const control = `${request.protocol}://${request.host}${prefix}/_control/payments/${payment.reference}`;
    return {
      reference: payment.reference,
      state: payment.state,
      amount: payment.amount,
      paymentDescription: payment.paymentDescription,
      returnUrl: payment.returnUrl,
      actAsTheUser: { approve: `POST ${control}/succeed`, cancel: `POST ${control}/fail`, ignore: `POST ${control}/abandon` },
    };
  });

  // ─── Control: the user in the app ────────────────────────────────────────────────────────

  app.post('/_control/payments/:reference/succeed', async (request: RefRequest, reply) => {
    if (!parseControlBody(EmptyBody, request, reply)) return reply;
    return sandbox.store.authorize(request.params.reference);
  });
  app.post('/_control/payments/:reference/fail', async (request: RefRequest, reply) => {
    if (!parseControlBody(EmptyBody, request, reply)) return reply;
    return sandbox.store.abort(request.params.reference);
  });
  app.post('/_control/payments/:reference/abandon', async (request: RefRequest, reply) => {
    const input = parseControlBody(AbandonBody, request, reply);
    if (!input) return reply;
    return sandbox.abandon(request.params.reference, input.afterMs);
  });

  // ─── Control: the operator ───────────────────────────────────────────────────────────────

  app.post('/_control/tokens/revoke', async () => ({ revoked: sandbox.revokeTokens() }));
  // ─── Report API (settlement ledgers), for reconciliation ─────────────────────────────────────
  app.get('/settlement/v1/ledgers', async (request) => ({ items: sandbox.ledgersOf(msnOf.get(request)!) }));
  app.get('/report/v2/ledgers/:ledgerId/funds/dates/:ledgerDate', async (request: FastifyRequest<{ Params: { ledgerId: string; ledgerDate: string }; Querystring: { cursor?: string; pageSize?: string } }>, reply) => {
    const { ledgerId, ledgerDate } = request.params;
    const pageSize = Math.min(1_000, Math.max(1, Number(request.query.pageSize ?? 100) || 100));
    if (!/^\d{4}-\d{2}-\d{2}$/.test(ledgerDate)) {
      return sendProblem(reply, validationProblem('ledgerDate must be a date (YYYY-MM-DD)', [{ name: 'ledgerDate', reason: 'YYYY-MM-DD' }]));
    }
    const page = sandbox.fundsByDate(msnOf.get(request)!, ledgerId, ledgerDate, request.query.cursor || undefined, pageSize);
    if (!page) return sendProblem(reply, forbiddenProblem(`No access to ledger ${ledgerId}`));
    return { items: page.items, ...(page.cursor ? { cursor: page.cursor } : {}), tryLater: false };
  });

  // ─── Control: reconciliation drift and history ───────────────────────────────────────────
  app.post('/_control/drift', async (request, reply) => {
    const input = parseControlBody(MobilePayDriftSchema, request, reply);
    if (!input) return reply;
    return sandbox.drift(input);
  });

  registerSandboxControls(app, { faults: sandbox.faults, webhooks: sandbox.webhooks, state: () => sandbox.state(), reset: () => sandbox.reset() });
}
