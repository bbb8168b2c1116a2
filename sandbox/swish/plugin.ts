// The Swish sandbox over HTTP, as two Fastify plugins sharing one SwishSandbox:
// - swishApiPlugin: the merchant API under `/swish-cpcapi` (create, retrieve and cancel payment
//   requests; create and retrieve refunds), served by server.ts over HTTPS with mutual TLS. The
//   merchant is the common name of its client certificate. Faults apply here.
// - swishControlPlugin: `/_control/*`, registered on the main (plain HTTP) sandbox under `/swish`,
//   acting as the payer and the operator.
import type { TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseControlBody, registerSandboxControls, useLenientJsonParser } from '../shared/control';
import { installConditionalGets } from '../shared/conditional';
import { installErrorHandler, installProviderFailures } from '../shared/errors';
import { countRequests } from '../shared/upkeep';
import { ControlError, SwishApiError } from './errors';
import { SwishDriftSchema, type SwishSandbox } from './sandbox';
import type { PaymentRequestRecord, RefundRecord } from './store';

export interface SwishPluginOptions {
  sandbox: SwishSandbox;
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** The merchant's Swish number, from the verified client certificate. */
function merchantOf(request: FastifyRequest): string | undefined {
  const socket = request.raw.socket as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
  const commonName = socket.getPeerCertificate().subject?.CN;
  return Array.isArray(commonName) ? commonName[0] : commonName;
}

function sendApiError(reply: FastifyReply, error: SwishApiError): FastifyReply {
  if (error.errors.length === 0) return reply.code(error.statusCode).send();
  return reply.code(error.statusCode).header('content-type', 'application/json').send(JSON.stringify(error.errors));
}

export async function swishApiPlugin(app: FastifyInstance, options: SwishPluginOptions): Promise<void> {
  const { sandbox } = options;
  const apiPrefix = `${app.prefix}/api/`;
  const isApi = (request: FastifyRequest) => request.url.startsWith(apiPrefix);
  const merchants = new WeakMap<FastifyRequest, string>();

  // Swish reads JSON bodies itself; a malformed one is a 400 with Swish's error array.
  const parseJson = (_request: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => {
    try {
      done(null, body.trim() === '' ? undefined : JSON.parse(body));
    } catch {
      done(new SwishApiError(400, [{ errorCode: null, errorMessage: 'The request body is not valid JSON', additionalInformation: null }]));
    }
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);
  app.addContentTypeParser('application/json-patch+json', { parseAs: 'string' }, parseJson);

  countRequests(app, sandbox.upkeep.requests, isApi);
  app.addHook('onRequest', async (request, reply) => {
    if (!isApi(request)) return;
    // The TLS layer already refused unknown certificates; this names the merchant.
    const merchant = merchantOf(request);
    if (!merchant) return reply.code(401).send();
    merchants.set(request, merchant);
  });

  // Everything this listener serves is Swish's API, so every error is answered in Swish's terms.
  installProviderFailures(app, {
    provider: 'swish',
    isApi: () => true,
    faults: sandbox.faults,
    faultsApplyTo: isApi,
    rateLimited: (_request, reply) => reply.code(429).send(),
    own: (error, _request, reply) => (error instanceof SwishApiError ? sendApiError(reply, error) : undefined),
    // Swish answers an unsupported media type with a bare 415, other refusals with its error array.
    malformed: (_request, reply, status, message) =>
      status === 415 ? reply.code(415).send() : sendApiError(reply, new SwishApiError(status, [{ errorCode: null, errorMessage: message, additionalInformation: null }])),
    failed: (_request, reply) => reply.code(500).send(),
    unknownRoute: (_request, reply) => reply.code(404).send(),
  });
  // GET answers carry an ETag; If-None-Match with the current one is answered 304.
  installConditionalGets(app, { appliesTo: isApi });

  const merchant = (request: FastifyRequest) => merchants.get(request)!;
  const origin = (request: FastifyRequest) => `https://${request.headers.host ?? '127.0.0.1'}${app.prefix}`;

  app.put('/api/v2/paymentrequests/:id', async (request: IdRequest, reply) => {
    const record = sandbox.createPaymentRequest(request.params.id, request.body, merchant(request));
    reply.code(201).header('Location', `${origin(request)}/api/v1/paymentrequests/${record.object.id}`);
    if (record.token) reply.header('PaymentRequestToken', record.token);
    return reply.send();
  });
  app.get('/api/v1/paymentrequests/:id', async (request: IdRequest) => {
    const record = sandbox.store.findPaymentRequest(request.params.id, merchant(request));
    if (!record) throw new SwishApiError(404);
    return record.object;
  });
  app.patch('/api/v1/paymentrequests/:id', async (request: IdRequest) => {
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json-patch+json')) throw new SwishApiError(415);
    return sandbox.store.cancelPaymentRequest(request.params.id, merchant(request), request.body).object;
  });
  app.put('/api/v2/refunds/:id', async (request: IdRequest, reply) => {
    const record = sandbox.createRefund(request.params.id, request.body, merchant(request));
    return reply.code(201).header('Location', `${origin(request)}/api/v1/refunds/${record.object.id}`).send();
  });
  app.get('/api/v1/refunds/:id', async (request: IdRequest) => {
    const record = sandbox.store.findRefund(request.params.id, merchant(request));
    if (!record) throw new SwishApiError(404);
    return record.object;
  });
}

const SucceedBody = z.strictObject({ payerAlias: z.string().regex(/^\d{8,15}$/).optional() });
const FailBody = z.strictObject({
  /** Without a code the payer declined (DECLINED); with one the request ends in ERROR (e.g. RF07, BANKIDCL). */
  errorCode: z.string().regex(/^[A-Z0-9]{2,10}$/).optional(),
  errorMessage: z.string().min(1).max(200).optional(),
});
const RefundFailBody = z.strictObject({ errorCode: z.string().regex(/^[A-Z0-9]{2,10}$/).optional() });

function paymentView(record: PaymentRequestRecord) {
  return { ...record.object, sandbox: { paymentRequestToken: record.token, callbackIdentifier: record.callbackIdentifier } };
}
const refundView = (record: RefundRecord) => record.object;

export async function swishControlPlugin(app: FastifyInstance, options: SwishPluginOptions): Promise<void> {
  const { sandbox } = options;
  useLenientJsonParser(app);

  // Only control routes here: the API has a listener of its own (swishApiPlugin).
  installErrorHandler(app, {
    provider: 'swish control',
    isApi: () => false,
    malformed: (_request, reply, status, message) => reply.code(status).send({ error: message }),
    failed: (_request, reply) => reply.code(500).send(),
  });

  // ─── The payer ───────────────────────────────────────────────────────────────────────────
  app.post('/_control/payments/:id/succeed', async (request: IdRequest, reply) => {
    const input = parseControlBody(SucceedBody, request, reply);
    if (!input) return reply;
    return paymentView(sandbox.store.pay(request.params.id, input.payerAlias));
  });
  app.post('/_control/payments/:id/fail', async (request: IdRequest, reply) => {
    const input = parseControlBody(FailBody, request, reply);
    if (!input) return reply;
    return paymentView(sandbox.store.fail(request.params.id, input.errorCode, input.errorMessage));
  });
  app.post('/_control/payments/:id/abandon', async (request: IdRequest) => {
    const record = sandbox.store.findPaymentRequest(request.params.id);
    if (!record) throw new ControlError(404, `No such payment request: '${request.params.id}'`);
    if (!sandbox.store.expire(request.params.id)) throw new ControlError(409, `Payment request ${request.params.id} is ${record.object.status}, not CREATED`);
    return paymentView(record);
  });

  // ─── The operator ────────────────────────────────────────────────────────────────────────
  app.post('/_control/refunds/:id/settle', async (request: IdRequest) => refundView(sandbox.store.finishRefund(request.params.id)));
  app.post('/_control/refunds/:id/fail', async (request: IdRequest, reply) => {
    const input = parseControlBody(RefundFailBody, request, reply);
    if (!input) return reply;
    return refundView(sandbox.store.finishRefund(request.params.id, { errorCode: input.errorCode ?? 'RF07' }));
  });

  // ─── Reconciliation: drift, and the bank's settlement report ─────────────────────────────
  app.post('/_control/drift', async (request, reply) => {
    const input = parseControlBody(SwishDriftSchema, request, reply);
    if (!input) return reply;
    return sandbox.drift(input);
  });
  /**
   * The merchant's bank's Swish settlement report for one booking day, paged. Not part of Swish's
   * API (Swish lists nothing): banks deliver it as a file or through their own APIs. JSON here.
   */
  app.get('/bank/v1/settlement-report', async (request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply) => {
    const { date, page, pageSize, swishNumber } = request.query;
    if (!date || !/^\d{4}-\d{2}-\d{2}$/.test(date)) return reply.code(400).send({ error: 'date: a booking date YYYY-MM-DD is required' });
    const pageNumber = Math.max(1, Number(page ?? 1) || 1);
    const size = Math.min(1_000, Math.max(1, Number(pageSize ?? 500) || 500));
    return sandbox.store.settlementReport(swishNumber ?? sandbox.payeeAlias, date, pageNumber, size);
  });

  registerSandboxControls(app, { faults: sandbox.faults, webhooks: sandbox.webhooks, state: () => sandbox.state(), reset: () => sandbox.reset() });
  /** Where the HTTPS API is and which files hold its CA and the merchant certificate (for curl). */
  app.get('/_control/tls', async () => sandbox.api ?? { error: 'the Swish HTTPS API is not started' });
}
