// Swish for merchants over HTTPS with mutual TLS (the bank-issued merchant certificate), with undici.
// There is no Node SDK. The same code talks to cpc.getswish.net, to the Merchant Swish Simulator and
// to Skerry's sandbox; only the base URL and the certificates differ.
//
// Idempotency: Swish names every payment request and refund by an instruction UUID that the
// merchant chooses in the URL of a PUT. It is derived from the idempotency key, so a retried create
// addresses the same resource; Swish refuses a second PUT on a used UUID (RP09; RP06 for an
// e-commerce payer who already has an active request) and the client then reads what the first
// PUT made.
//
// Refunds: Swish has no endpoint listing the refunds of a payment. A refund's UUID is derived from
// the payment's id and Skerry's refund ordinal (`…-refund-<n>`), so `getPayment` finds every
// refund again by reading refund 1, 2, … until a few in a row do not exist (any process, after any
// restart). The refunds this process made are also remembered, for keys without an ordinal and for
// ordinals beyond a run of refused refunds.
import { type PemSource, isPkcs12, readPem, type SwishResponse, classifySwishTransportError, errorFromResponse, header } from './transport';
import { type ProviderGate, passThroughGate } from '../resilience/gate';
import type { ProviderPaymentSnapshot } from '../../domain/observations';
import { type RefundObservation, type NextAction, PROVIDER_CAPABILITIES } from '../../domain/payments';
import type { PaymentProviderClient, CreateProviderPaymentRequest } from '../types';
import { type SwishPaymentRequest, paymentStatusOf, parseAmount, failureReasonOf, type SwishRefund, swishAppUrl, refundInstructionUuid, refundObservationOf, SWISH_CURRENCY, instructionUuid, toPayerAlias, toPayeePaymentReference, formatAmount, toSwishMessage, refundOrdinal } from './protocol';
import { createSecureContext } from 'node:tls';
import { Agent, type Dispatcher, request } from 'undici';
import { ProviderError } from '../errors';
import { createSwishSettlementReportSource } from './settlement-report';

export interface SwishClientOptions {
  /** Up to and including `/swish-cpcapi`, e.g. https://cpc.getswish.net/swish-cpcapi. */
  apiBase: string;
  /** The merchant's Swish number (payee alias), the one in the client certificate. */
  payeeAlias: string;
  /**
   * Merchant client certificate (with its chain) and private key: PEM files, or one PKCS#12 file
   * (`.p12`, with `passphrase`) as `cert` and no `key`.
   */
  cert: PemSource;
  key?: PemSource;
  /** Trusted CA for Swish's server certificate; unset = Node's trust store (real Swish). */
  ca?: PemSource;
  passphrase?: string;
  /** Where Swish POSTs callbacks, e.g. https://api.example.com/webhooks/swish. */
  callbackUrl: string;
  /** Where the Swish app returns the payer after an m-commerce payment (app switch). */
  appReturnUrl?: string;
  /** Per-request timeout (headers and body). */
  timeoutMs?: number;
  /** How long refundPayment waits for a refund to settle before answering `pending`. */
  refundSettleWaitMs?: number;
  refundPollIntervalMs?: number;
  /** Consecutive missing refund ordinals after which getPayment stops looking for more refunds. */
  refundProbeMisses?: number;
  /**
   * The bank's Swish settlement report, for reconciliation (Swish itself lists nothing); without it
   * the client has no transaction listing. See settlement-report.ts.
   */
  settlementReportUrl?: string;
  /** Throttle, quota and conditional GETs (providers/resilience); default: pass through. */
  gate?: ProviderGate;
}

/** getPayment's answer, with each refund Swish knows of (the workflow reads the cumulative amount). */
export interface SwishPaymentSnapshot extends ProviderPaymentSnapshot {
  refunds: RefundObservation[];
}

export interface SwishClient extends PaymentProviderClient {
  getPayment(providerReference: string): Promise<SwishPaymentSnapshot>;
  /** Closes the TLS connections. */
  close(): Promise<void>;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Swish snapshot from a payment request and the refunds found for it. */
export function snapshotFromPaymentRequest(
  paymentRequest: SwishPaymentRequest,
  refunds: RefundObservation[] = [],
  nextActionWhileCreated?: NextAction,
): SwishPaymentSnapshot {
  const status = paymentStatusOf(paymentRequest);
  const amount = parseAmount(paymentRequest.amount);
  return {
    providerReference: paymentRequest.id,
    status,
    providerStatus: String(paymentRequest.status),
    amountCaptured: status === 'succeeded' && !Number.isNaN(amount) ? amount : 0,
    amountRefunded: refunds.filter((refund) => refund.status === 'succeeded').reduce((sum, refund) => sum + refund.amount, 0),
    nextAction: status === 'created' ? nextActionWhileCreated : undefined,
    failureReason: failureReasonOf(paymentRequest),
    refunds,
  };
}

export function createSwishClient(options: SwishClientOptions): SwishClient {
  const apiBase = options.apiBase.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 20_000;
  const settleWaitMs = options.refundSettleWaitMs ?? 8_000;
  const pollIntervalMs = options.refundPollIntervalMs ?? 250;
  const probeMisses = options.refundProbeMisses ?? 3;
  const gate = options.gate ?? passThroughGate('swish');

  let agent: Agent | undefined;
  let agentLoading: Promise<Agent> | undefined;
  /** m-commerce tokens by payment request id: Swish sends the token only with the 201 of the create. */
  const tokens = new Map<string, string>();
  /** Refunds this process made, by payment request (the ones derivation cannot find again). */
  const extraRefunds = new Map<string, Set<string>>();

  const remember = <K, V>(map: Map<K, V>, key: K, value: V) => {
    map.delete(key);
    map.set(key, value);
    if (map.size > 10_000) map.delete(map.keys().next().value as K);
  };

  /** The TLS material is read at the first call, so a process can start before the files exist. */
  const dispatcher = (operation: string): Promise<Agent> => {
    if (agent) return Promise.resolve(agent);
    agentLoading ??= (async () => {
      const pkcs12 = isPkcs12(options.cert);
      if (!pkcs12 && !options.key) {
        throw new ProviderError('swish', operation, 'authentication', 'SWISH_KEY is required with a PEM certificate in SWISH_CERT (a .p12 file needs none)');
      }
      const [cert, key, ca] = await Promise.all([
        readPem(options.cert, 'client certificate (SWISH_CERT)', operation),
        pkcs12 || !options.key ? Promise.resolve(undefined) : readPem(options.key, 'client key (SWISH_KEY)', operation),
        options.ca ? readPem(options.ca, 'CA certificate (SWISH_CA)', operation) : Promise.resolve(undefined),
      ]);
      const identity = pkcs12 ? { pfx: cert } : { cert, key };
      // A wrong passphrase or a broken bundle would otherwise surface at every connect as a
      // retryable network failure; it is configuration, named as such.
      try {
        createSecureContext({ ...identity, passphrase: options.passphrase });
      } catch (err) {
        const what = pkcs12 ? 'the PKCS#12 file in SWISH_CERT' : 'the certificate and key in SWISH_CERT and SWISH_KEY';
        throw new ProviderError('swish', operation, 'authentication', `cannot open ${what} (check SWISH_CERT_PASSPHRASE): ${(err as Error).message}`, { cause: err });
      }
      agent = new Agent({
        connect: { ...identity, ca, passphrase: options.passphrase, timeout: Math.min(timeoutMs, 10_000) },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        keepAliveTimeout: 10_000,
      });
      return agent;
    })().finally(() => {
      agentLoading = undefined;
    });
    return agentLoading;
  };

  const send = async (
    operation: string,
    method: Dispatcher.HttpMethod,
    path: string,
    body?: { json: unknown; contentType?: string },
  ): Promise<SwishResponse> => {
    const through = await dispatcher(operation);
    try {
      return await gate.exchange(method, `${apiBase}${path}`, async (extra) => {
        const response = await request(`${apiBase}${path}`, {
          method,
          dispatcher: through,
          headers: {
            accept: 'application/json',
            ...extra,
            ...(body ? { 'content-type': body.contentType ?? 'application/json' } : {}),
          },
          body: body ? JSON.stringify(body.json) : undefined,
        });
        const text = await response.body.text();
        return { status: response.statusCode, headers: response.headers, text };
      });
    } catch (err) {
      throw classifySwishTransportError(operation, err);
    }
  };

  const parseJson = <T>(operation: string, response: SwishResponse): T => {
    try {
      return JSON.parse(response.text) as T;
    } catch (err) {
      throw new ProviderError('swish', operation, 'unavailable', `Swish answered ${response.status} with a body that is not JSON`, {
        httpStatus: response.status,
        cause: err,
      });
    }
  };

  const retrievePaymentRequest = async (operation: string, id: string): Promise<SwishPaymentRequest | undefined> => {
    const response = await send(operation, 'GET', `/api/v1/paymentrequests/${encodeURIComponent(id)}`);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw errorFromResponse(operation, response);
    return parseJson<SwishPaymentRequest>(operation, response);
  };

  const retrieveRefund = async (operation: string, id: string): Promise<SwishRefund | undefined> => {
    const response = await send(operation, 'GET', `/api/v1/refunds/${encodeURIComponent(id)}`);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw errorFromResponse(operation, response);
    return parseJson<SwishRefund>(operation, response);
  };

  const requirePaymentRequest = async (operation: string, id: string): Promise<SwishPaymentRequest> => {
    const found = await retrievePaymentRequest(operation, id);
    if (!found) throw new ProviderError('swish', operation, 'not_found', `no Swish payment request ${id}`, { httpStatus: 404 });
    return found;
  };

  const callbackUrlFor = (paymentRequestId: string, refundId?: string): string => {
    const url = new URL(options.callbackUrl);
    url.searchParams.set('payment', paymentRequestId);
    if (refundId) url.searchParams.set('refund', refundId);
    return url.toString();
  };

  const nextActionFor = (paymentRequest: SwishPaymentRequest): NextAction | undefined => {
    const token = tokens.get(paymentRequest.id);
    if (token) return { type: 'swish_app', paymentRequestToken: token, url: swishAppUrl(token, options.appReturnUrl) };
    if (paymentRequest.payerAlias) return { type: 'swish_payer_alias', payerAlias: paymentRequest.payerAlias };
    return undefined;
  };

  /** Every refund of a paid payment: derived ids 1, 2, … until `probeMisses` in a row are missing. */
  const refundsOf = async (operation: string, paymentRequest: SwishPaymentRequest): Promise<RefundObservation[]> => {
    if (paymentRequest.status !== 'PAID' || !paymentRequest.paymentReference) return [];
    const found: SwishRefund[] = [];
    const extra = new Set(extraRefunds.get(paymentRequest.id) ?? []);
    let misses = 0;
    for (let n = 1; misses < probeMisses && n <= 10_000; n++) {
      const id = refundInstructionUuid(paymentRequest.id, n);
      const refund = await retrieveRefund(operation, id);
      if (!refund) {
        misses += 1;
        continue;
      }
      misses = 0;
      extra.delete(id);
      found.push(refund);
    }
    for (const id of extra) {
      const refund = await retrieveRefund(operation, id);
      if (refund) found.push(refund);
    }
    return found.filter((refund) => refund.originalPaymentReference === paymentRequest.paymentReference).map(refundObservationOf);
  };

  const snapshot = async (operation: string, paymentRequest: SwishPaymentRequest): Promise<SwishPaymentSnapshot> =>
    snapshotFromPaymentRequest(paymentRequest, await refundsOf(operation, paymentRequest), nextActionFor(paymentRequest));

  /** The payment request an earlier PUT with this UUID made, when it is the one we asked for. */
  const adoptExisting = async (operation: string, id: string, body: Record<string, unknown>, refusal: ProviderError) => {
    const existing = await retrievePaymentRequest(operation, id);
    if (!existing) throw refusal;
    const sameAmount = parseAmount(existing.amount) === parseAmount(body.amount);
    const samePayee = !existing.payeeAlias || existing.payeeAlias === body.payeeAlias;
    if (!sameAmount || !samePayee) {
      throw new ProviderError('swish', operation, 'conflict', `instruction UUID ${id} is already used by a different Swish payment request`, {
        httpStatus: refusal.details.httpStatus,
        code: refusal.details.code,
      });
    }
    return existing;
  };

  const waitForRefund = async (operation: string, refund: SwishRefund): Promise<SwishRefund> => {
    let current = refund;
    const deadline = Date.now() + settleWaitMs;
    while ((current.status !== 'PAID' && current.status !== 'ERROR') && Date.now() < deadline) {
      await delay(Math.min(pollIntervalMs, Math.max(0, deadline - Date.now())));
      current = (await retrieveRefund(operation, refund.id)) ?? current;
    }
    return current;
  };

  return {
    name: 'swish',
    capabilities: PROVIDER_CAPABILITIES.swish,

    async createPayment(request: CreateProviderPaymentRequest) {
      const operation = 'create_payment_request';
      if (request.amount.currency.toUpperCase() !== SWISH_CURRENCY) {
        throw new ProviderError('swish', operation, 'validation', `Swish only takes ${SWISH_CURRENCY}, not ${request.amount.currency}`, { code: 'AM03' });
      }
      if (request.captureMethod === 'manual') {
        throw new ProviderError('swish', operation, 'unsupported', 'Swish has no manual capture: a payment is settled when the payer approves it');
      }
      const id = instructionUuid(request.idempotencyKey);
      const payerAlias = request.payer?.alias ? toPayerAlias(request.payer.alias) : undefined;
      const body: Record<string, unknown> = {
        payeePaymentReference: toPayeePaymentReference(request.reference),
        callbackUrl: callbackUrlFor(id),
        payeeAlias: options.payeeAlias,
        currency: SWISH_CURRENCY,
        amount: formatAmount(request.amount.value),
        message: toSwishMessage(request.description ?? request.reference),
        ...(payerAlias ? { payerAlias } : {}),
      };
      const response = await send(operation, 'PUT', `/api/v2/paymentrequests/${id}`, { json: body });
      if (response.status === 201) {
        const token = header(response.headers, 'paymentrequesttoken');
        if (token) remember(tokens, id, token);
        return snapshotFromPaymentRequest(
          { id, status: 'CREATED', amount: body.amount as string, currency: SWISH_CURRENCY, payerAlias },
          [],
          token
            ? { type: 'swish_app', paymentRequestToken: token, url: swishAppUrl(token, options.appReturnUrl) }
            : payerAlias
              ? { type: 'swish_payer_alias', payerAlias }
              : undefined,
        );
      }
      const refusal = errorFromResponse(operation, response);
      // A used UUID means an earlier attempt of this very request got through: read what it made.
      if (refusal.details.code === 'RP09' || refusal.details.code === 'RP06') {
        const existing = await adoptExisting(operation, id, body, refusal);
        return snapshot(operation, existing);
      }
      throw refusal;
    },

    async getPayment(providerReference) {
      const operation = 'retrieve_payment_request';
      return snapshot(operation, await requirePaymentRequest(operation, providerReference));
    },

    // A read of an instruction UUID that cannot exist: a 404 (or any answer but an outage) means Swish is up.
    async healthCheck() {
      return retrievePaymentRequest('health_check', '0'.repeat(32));
    },

    async capturePayment() {
      throw new ProviderError('swish', 'capture', 'unsupported', 'Swish has no capture: a payment is settled when the payer approves it');
    },

    async cancelPayment({ providerReference }) {
      const operation = 'cancel_payment_request';
      const response = await send(operation, 'PATCH', `/api/v1/paymentrequests/${encodeURIComponent(providerReference)}`, {
        json: [{ op: 'replace', path: '/status', value: 'cancelled' }],
        contentType: 'application/json-patch+json',
      });
      if (response.status === 200 && response.text.trim()) return snapshot(operation, parseJson<SwishPaymentRequest>(operation, response));
      if (response.status >= 200 && response.status < 300) return snapshot(operation, await requirePaymentRequest(operation, providerReference));
      const refusal = errorFromResponse(operation, response);
      if (refusal.kind !== 'conflict' && refusal.kind !== 'validation') throw refusal;
      // Swish refuses to cancel a request that is no longer CREATED: its current state is the answer.
      const current = await requirePaymentRequest(operation, providerReference);
      if (current.status === 'CREATED') throw refusal;
      return snapshot(operation, current);
    },

    async refundPayment({ providerReference, amount, currency, idempotencyKey, reason }) {
      const operation = 'create_refund';
      if (currency.toUpperCase() !== SWISH_CURRENCY) {
        throw new ProviderError('swish', operation, 'validation', `Swish only refunds ${SWISH_CURRENCY}, not ${currency}`, { code: 'AM03' });
      }
      const payment = await requirePaymentRequest(operation, providerReference);
      if (payment.status !== 'PAID' || !payment.paymentReference) {
        throw new ProviderError('swish', operation, 'conflict', `Swish payment request ${providerReference} is ${payment.status}; only a PAID payment can be refunded`);
      }
      const ordinal = refundOrdinal(idempotencyKey);
      const refundId = ordinal ? refundInstructionUuid(providerReference, ordinal) : instructionUuid(idempotencyKey);
      // Remembered even when derivable: a run of refused refunds leaves gaps in the ordinals.
      const known = extraRefunds.get(providerReference) ?? new Set<string>();
      known.add(refundId);
      remember(extraRefunds, providerReference, known);
      const body = {
        originalPaymentReference: payment.paymentReference,
        ...(payment.payeePaymentReference ? { payerPaymentReference: payment.payeePaymentReference } : {}),
        callbackUrl: callbackUrlFor(providerReference, refundId),
        payerAlias: options.payeeAlias,
        amount: formatAmount(amount),
        currency: SWISH_CURRENCY,
        message: toSwishMessage(reason) ?? 'Refund',
      };
      const response = await send(operation, 'PUT', `/api/v2/refunds/${refundId}`, { json: body });
      let refund: SwishRefund | undefined;
      if (response.status === 201) {
        refund = (await retrieveRefund(operation, refundId)) ?? {
          id: refundId,
          originalPaymentReference: payment.paymentReference,
          amount: body.amount,
          currency: SWISH_CURRENCY,
          status: 'CREATED',
        };
      } else {
        const refusal = errorFromResponse(operation, response);
        if (refusal.details.code !== 'RP09') throw refusal;
        refund = await retrieveRefund(operation, refundId);
        if (!refund) throw refusal;
        if (refund.originalPaymentReference !== payment.paymentReference || parseAmount(refund.amount) !== amount) {
          throw new ProviderError('swish', operation, 'conflict', `refund instruction UUID ${refundId} is already used by a different refund`, {
            httpStatus: refusal.details.httpStatus,
            code: 'RP09',
          });
        }
      }
      return refundObservationOf(await waitForRefund(operation, refund));
    },

    async close() {
      const current = agent;
      agent = undefined;
      await current?.close();
    },

    ...(options.settlementReportUrl
      ? { listTransactions: createSwishSettlementReportSource({ url: options.settlementReportUrl, payeeAlias: options.payeeAlias, timeoutMs }) }
      : {}),
  };
}
