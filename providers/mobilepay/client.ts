// Vipps MobilePay ePayment API v1 as a Skerry payment adapter. The request and response shapes are
// the official SDK's (`@vippsmobilepay/sdk` types); the HTTP calls are made here with undici, because
// the SDK cannot do what a durable payment needs (see the note on `createMobilePayApi`). The same
// code talks to api.vipps.no, apitest.vipps.no and Skerry's sandbox; only the base URL differs.
import { PROVIDER_CAPABILITIES } from '../../domain/payments';
import { createHash } from 'node:crypto';
import { request as undiciRequest } from 'undici';
import type {
  AuthorizationTokenResponse,
  CancelPaymentResponse,
  CapturePaymentResponse,
  CreatePaymentRequest,
  CreatePaymentResponse,
  GetPaymentResponse,
  Problem,
  RefundPaymentResponse,
  RegisterRequest,
  RegisterResponse,
  QueryResponse,
} from '@vippsmobilepay/sdk';
import { classifyTransportError, kindFromHttpStatus, parseRetryAfter, ProviderError, type ProviderErrorKind } from '../errors';
import type { CreateProviderPaymentRequest, PaymentProviderClient } from '../types';
import type { ProviderPaymentSnapshot } from '../../domain/observations';
import { OAuthTokenManager, type TokenSpec } from '../oauth/token-manager';
import { passThroughGate, type ProviderGate } from '../resilience/gate';
import { createMobilePayReportSource, type ReportApi } from './report';
import type { RefundObservation } from '../../domain/payments';

const PROVIDER = 'mobilepay';

export type EPaymentState = GetPaymentResponse['state'];
/** What a payment read and a modification (capture, cancel, refund) both answer. */
export type EPaymentView = Pick<GetPaymentResponse, 'reference' | 'state' | 'aggregate' | 'amount'> & { redirectUrl?: string; pspReference?: string };

export interface MobilePaySystemInfo {
  /** `Vipps-System-Name` etc.: at most 30 characters each. */
  name: string;
  version: string;
  pluginName: string;
  pluginVersion: string;
}

export const DEFAULT_SYSTEM_INFO: MobilePaySystemInfo = {
  name: 'skerry',
  version: '0.1.0',
  pluginName: 'skerry-mobilepay',
  pluginVersion: '1.0.0',
};

export interface MobilePayClientOptions {
  clientId: string;
  clientSecret: string;
  subscriptionKey: string;
  merchantSerialNumber: string;
  /** https://api.vipps.no, https://apitest.vipps.no, or the sandbox (http://127.0.0.1:4010/mobilepay). */
  apiBase: string;
  /**
   * Where the payer returns after the app. `{paymentId}` and `{reference}` are replaced with the
   * Skerry payment id and the ePayment reference.
   */
  returnUrl: string;
  timeoutMs?: number;
  /** Refresh the access token this long before it expires (default 5 min, at most half its lifetime). */
  tokenRefreshMarginMs?: number;
  system?: Partial<MobilePaySystemInfo>;
  /** Clock for token expiry (tests). */
  now?: () => number;
  /** The shared OAuth token manager (worker: tokens in Postgres); default: one for this client. */
  tokens?: OAuthTokenManager;
  /** Throttle, quota and conditional GETs (providers/resilience); default: pass through. */
  gate?: ProviderGate;
}

// ─── References and idempotency keys ─────────────────────────────────────────────────────────

const REFERENCE_PATTERN = /^[a-zA-Z0-9-]{8,64}$/;

/**
 * The ePayment reference for a Skerry payment: the payment id with `_` replaced by `-`
 * (`pay_3f9c…` → `pay-3f9c…`), since references allow only `[a-zA-Z0-9-]`, 8 to 64 characters.
 */
export function referenceForPayment(paymentId: string): string {
  const reference = paymentId.replaceAll('_', '-');
  if (!REFERENCE_PATTERN.test(reference)) {
    throw new ProviderError(PROVIDER, 'create_payment', 'validation', `payment id ${paymentId} cannot be an ePayment reference (8-64 of [a-zA-Z0-9-])`);
  }
  return reference;
}

/**
 * The reverse of referenceForPayment. Skerry payment ids are `pay_` followed by lowercase letters and
 * digits, so the only `_` is the one after `pay` and the reverse is exact. A reference of any other
 * shape (a payment made outside Skerry) has no payment id; the webhook inbox then matches it by
 * provider reference.
 */
export function paymentIdFromReference(reference: string): string | undefined {
  const match = /^pay-([a-z0-9]{6,40})$/.exec(reference);
  return match ? `pay_${match[1]}` : undefined;
}

const MAX_IDEMPOTENCY_KEY_LENGTH = 50;

/**
 * The Idempotency-Key sent for a Skerry key: unchanged when it is at most 50 characters of
 * `[A-Za-z0-9_-]`, otherwise a stable hash of it. Deterministic, so every retry sends the same key.
 */
export function wireIdempotencyKey(key: string): string {
  if (key.length <= MAX_IDEMPOTENCY_KEY_LENGTH && /^[A-Za-z0-9_-]+$/.test(key)) return key;
  return `skerry-${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

// ─── Mapping ─────────────────────────────────────────────────────────────────────────────────

/**
 * ePayment states to Skerry statuses. AUTHORIZED stays the state after captures, cancellations and
 * refunds, so the aggregate decides: anything captured → succeeded; everything authorized cancelled
 * → canceled; otherwise the authorization waits for a capture (requires_capture — ePayment always
 * authorizes first, for automatic capture too).
 */
export function snapshotFromPayment(payment: EPaymentView): ProviderPaymentSnapshot {
  const authorized = payment.aggregate.authorizedAmount.value;
  const captured = payment.aggregate.capturedAmount.value;
  const cancelled = payment.aggregate.cancelledAmount.value;
  const refunded = payment.aggregate.refundedAmount.value;
  let status: ProviderPaymentSnapshot['status'];
  let failureReason: string | undefined;
  switch (payment.state) {
    case 'CREATED':
      status = 'created';
      break;
    case 'AUTHORIZED':
      if (captured > 0) status = 'succeeded';
      else if (authorized > 0 && cancelled >= authorized) status = 'canceled';
      else status = 'requires_capture';
      break;
    case 'ABORTED':
      status = 'failed';
      failureReason = 'aborted by user';
      break;
    case 'EXPIRED':
      status = 'expired';
      break;
    case 'TERMINATED':
      status = 'canceled';
      break;
    default:
      status = 'processing';
  }
  return {
    providerReference: payment.reference,
    status,
    providerStatus: payment.state,
    amountAuthorized: authorized,
    amountCaptured: captured,
    amountRefunded: refunded,
    nextAction: status === 'created' && payment.redirectUrl ? { type: 'redirect', url: payment.redirectUrl } : undefined,
    failureReason,
  };
}

// ─── Errors ──────────────────────────────────────────────────────────────────────────────────

type ProblemBody = Partial<Problem> & { instance?: string; message?: string; error?: string; error_description?: string };

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * An error answer as a ProviderError. ePayment answers RFC 7807 problem JSON (`type` identifies the
 * error); the API gateway answers `{ statusCode, message }`; the token endpoint answers
 * `{ error, error_description }`. The HTTP status decides the kind; 423 Locked is transient
 * ("retry with the same Idempotency-Key"), so it is `unavailable`.
 */
export function classifyMobilePayResponse(
  operation: string,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  bodyText: string,
): ProviderError {
  const body = (parseJson(bodyText) ?? {}) as ProblemBody;
  let kind: ProviderErrorKind = kindFromHttpStatus(status);
  if (status === 423) kind = 'unavailable';
  const details = (body.extraDetails ?? []).map((detail) => `${detail.name}: ${detail.reason}`).join('; ');
  const summary =
    [body.title, body.detail].filter(Boolean).join(': ') ||
    body.message ||
    [body.error, body.error_description].filter(Boolean).join(': ') ||
    bodyText.slice(0, 200) ||
    `HTTP ${status}`;
  const trace = body.traceId ?? body.instance;
  const message = `${summary}${details ? ` (${details})` : ''}${trace ? ` [trace ${trace}]` : ''}`;
  const retryAfter = headers['retry-after'];
  return new ProviderError(PROVIDER, operation, kind, message, {
    httpStatus: status,
    code: body.type ?? body.error ?? undefined,
    retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
  });
}

// ─── Access tokens ───────────────────────────────────────────────────────────────────────────

/**
 * The access token of one client, through the shared OAuth token manager (providers/oauth): one
 * fetch however many callers wait, refreshed ahead of expiry, dropped when the API rejects it, and
 * shared with every other process when the manager's store is Postgres.
 */
export class AccessTokenCache {
  readonly #manager: OAuthTokenManager;
  readonly #spec: TokenSpec;

  constructor(
    fetchToken: () => Promise<{ value: string; expiresInMs: number; fetchedAt: number }>,
    now: () => number,
    marginMs: number,
    shared?: { manager: OAuthTokenManager; key: string },
  ) {
    this.#manager = shared?.manager ?? new OAuthTokenManager({ now, refreshMarginMs: marginMs });
    this.#spec = {
      key: shared?.key ?? 'mobilepay',
      provider: PROVIDER,
      refreshMarginMs: marginMs,
      async fetch() {
        // The manager counts the lifetime from when the request was sent.
        const token = await fetchToken();
        return { accessToken: token.value, expiresInMs: token.expiresInMs };
      },
    };
  }

  get(): Promise<string> {
    return this.#manager.accessToken(this.#spec);
  }

  /** Forgets `value` if it is still the current token (a 401 proved it no longer works). */
  invalidate(value: string): void {
    void this.invalidated(value);
  }

  /** As invalidate, resolving once the shared store no longer offers `value` to anyone. */
  invalidated(value: string): Promise<void> {
    return this.#manager.invalidate(this.#spec.key, value).catch(() => undefined);
  }
}

// ─── HTTP ────────────────────────────────────────────────────────────────────────────────────

export interface MobilePayApi {
  getPayment(reference: string): Promise<GetPaymentResponse>;
  createPayment(body: CreatePaymentRequest, idempotencyKey: string): Promise<CreatePaymentResponse>;
  capture(reference: string, amount: { value: number; currency: string }, idempotencyKey: string): Promise<CapturePaymentResponse>;
  cancel(reference: string, idempotencyKey: string, cancelTransactionOnly?: boolean): Promise<CancelPaymentResponse>;
  refund(reference: string, amount: { value: number; currency: string }, idempotencyKey: string): Promise<RefundPaymentResponse>;
  registerWebhook(body: RegisterRequest): Promise<RegisterResponse>;
  listWebhooks(): Promise<QueryResponse>;
  deleteWebhook(id: string): Promise<void>;
  /** Report API (settlement): the ledgers these keys read, and one booking day of a ledger's funds. */
  listLedgers: ReportApi['listLedgers'];
  fundsByDate: ReportApi['fundsByDate'];
}

/**
 * The ePayment, Webhooks and Access Token calls over undici. Why not `@vippsmobilepay/sdk`'s Client
 * (v2.4.2), though its types are used throughout:
 * - its base URL is fixed to api.vipps.no / apitest.vipps.no (`useTestMode`): no sandbox, no proxy;
 * - it always sends its own random `Idempotency-Key` (its default headers override any passed in, and
 *   the ePayment calls take none), so a retried capture or refund would run twice;
 * - it drops the HTTP status of 5xx answers and every response header (no Retry-After), and replaces
 *   a 403 body with a fixed message, so errors cannot be classified;
 * - it retries on its own with fixed sleeps (1 s, 3 s), which belongs to Temporal here;
 * - it has no timeout, and does not cache or refresh the access token.
 */
export function createMobilePayApi(options: MobilePayClientOptions): MobilePayApi {
  const base = options.apiBase.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 20_000;
  const now = options.now ?? Date.now;
  const system = { ...DEFAULT_SYSTEM_INFO, ...options.system };
  const systemHeaders = {
    'vipps-system-name': system.name,
    'vipps-system-version': system.version,
    'vipps-system-plugin-name': system.pluginName,
    'vipps-system-plugin-version': system.pluginVersion,
    'user-agent': `${system.name}/${system.version} ${system.pluginName}/${system.pluginVersion}`,
  };

  const gate = options.gate ?? passThroughGate(PROVIDER);
  const send = async (operation: string, method: 'GET' | 'POST' | 'DELETE', path: string, headers: Record<string, string>, body?: string) => {
    try {
      return await gate.exchange(method, `${base}${path}`, async (extra) => {
        const response = await undiciRequest(`${base}${path}`, {
          method,
          headers: { ...headers, ...extra, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        const text = await response.body.text();
        return { status: response.statusCode, headers: response.headers, text };
      });
    } catch (err) {
      throw classifyTransportError(PROVIDER, operation, err);
    }
  };

  const tokens = new AccessTokenCache(
    async () => {
      const fetchedAt = now();
      const response = await send('access_token', 'POST', '/accesstoken/get', {
        ...systemHeaders,
        client_id: options.clientId,
        client_secret: options.clientSecret,
        'ocp-apim-subscription-key': options.subscriptionKey,
        'merchant-serial-number': options.merchantSerialNumber,
      });
      if (response.status !== 200) throw classifyMobilePayResponse('access_token', response.status, response.headers, response.text);
      const token = parseJson(response.text) as Partial<AuthorizationTokenResponse> | undefined;
      const expiresIn = Number(token?.expires_in);
      if (!token?.access_token || !Number.isFinite(expiresIn) || expiresIn <= 0) {
        throw new ProviderError(PROVIDER, 'access_token', 'unavailable', 'access token response without access_token or expires_in', { httpStatus: 200 });
      }
      return { value: token.access_token, expiresInMs: expiresIn * 1000, fetchedAt };
    },
    now,
    options.tokenRefreshMarginMs ?? 5 * 60_000,
    options.tokens ? { manager: options.tokens, key: `mobilepay:${options.clientId}:${options.merchantSerialNumber}` } : undefined,
  );

  async function call<T>(operation: string, method: 'GET' | 'POST' | 'DELETE', path: string, init: { body?: unknown; idempotencyKey?: string } = {}): Promise<T> {
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    for (let attempt = 1; ; attempt++) {
      const token = await tokens.get();
      const headers: Record<string, string> = {
        ...systemHeaders,
        authorization: `Bearer ${token}`,
        'ocp-apim-subscription-key': options.subscriptionKey,
        'merchant-serial-number': options.merchantSerialNumber,
        accept: 'application/json',
      };
      if (init.idempotencyKey) headers['idempotency-key'] = init.idempotencyKey;
      const response = await send(operation, method, path, headers, body);
      // A token the API no longer accepts (revoked, clock skew): fetch a new one and try once more.
      // Safe for POSTs too: the retry carries the same Idempotency-Key.
      if (response.status === 401 && attempt === 1) {
        await tokens.invalidated(token);
        continue;
      }
      if (response.status < 200 || response.status >= 300) {
        throw classifyMobilePayResponse(operation, response.status, response.headers, response.text);
      }
      if (response.text === '') return undefined as T;
      const parsed = parseJson(response.text);
      if (parsed === undefined) {
        throw new ProviderError(PROVIDER, operation, 'unavailable', `unreadable ${response.status} answer`, { httpStatus: response.status });
      }
      return parsed as T;
    }
  }

  const paymentPath = (reference: string) => `/epayment/v1/payments/${encodeURIComponent(reference)}`;
  return {
    getPayment: (reference) => call('get_payment', 'GET', paymentPath(reference)),
    createPayment: (body, idempotencyKey) => call('create_payment', 'POST', '/epayment/v1/payments', { body, idempotencyKey }),
    capture: (reference, amount, idempotencyKey) =>
      call('capture_payment', 'POST', `${paymentPath(reference)}/capture`, { body: { modificationAmount: amount }, idempotencyKey }),
    cancel: (reference, idempotencyKey, cancelTransactionOnly) =>
      call('cancel_payment', 'POST', `${paymentPath(reference)}/cancel`, {
        body: cancelTransactionOnly ? { cancelTransactionOnly: true } : {},
        idempotencyKey,
      }),
    refund: (reference, amount, idempotencyKey) =>
      call('refund_payment', 'POST', `${paymentPath(reference)}/refund`, { body: { modificationAmount: amount }, idempotencyKey }),
    registerWebhook: (body) => call('register_webhook', 'POST', '/webhooks/v1/webhooks', { body }),
    listWebhooks: () => call('list_webhooks', 'GET', '/webhooks/v1/webhooks'),
    deleteWebhook: (id) => call('delete_webhook', 'DELETE', `/webhooks/v1/webhooks/${encodeURIComponent(id)}`),
    listLedgers: () => call('list_ledgers', 'GET', '/settlement/v1/ledgers'),
    fundsByDate: (ledgerId, ledgerDate, cursor, pageSize) =>
      call(
        'report_funds',
        'GET',
        `/report/v2/ledgers/${encodeURIComponent(ledgerId)}/funds/dates/${encodeURIComponent(ledgerDate)}?pageSize=${pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      ),
  };
}

// ─── The adapter ─────────────────────────────────────────────────────────────────────────────

const FINAL_STATES: ReadonlySet<EPaymentState> = new Set(['ABORTED', 'EXPIRED', 'TERMINATED']);

function createBody(request: CreateProviderPaymentRequest, reference: string, returnUrl: string): CreatePaymentRequest {
  const phone = request.payer?.alias?.replace(/^\+/, '');
  return {
    amount: { value: request.amount.value, currency: request.amount.currency.toUpperCase() as CreatePaymentRequest['amount']['currency'] },
    paymentMethod: { type: 'WALLET' },
    reference,
    returnUrl: returnUrl.replaceAll('{paymentId}', encodeURIComponent(request.paymentId)).replaceAll('{reference}', reference),
    userFlow: 'WEB_REDIRECT',
    paymentDescription: (request.description ?? request.reference).slice(0, 100),
    metadata: { skerryPaymentId: request.paymentId, skerryReference: request.reference.slice(0, 500) },
    ...(phone && /^\d{8,15}$/.test(phone) ? { customer: { phoneNumber: phone } } : {}),
  };
}

export function createMobilePayClient(options: MobilePayClientOptions): PaymentProviderClient {
  const api = createMobilePayApi(options);
  /** Captures and refunds need the currency; remember it per reference (bounded). */
  const currencies = new Map<string, string>();
  const remember = (reference: string, currency: string) => {
    currencies.delete(reference);
    currencies.set(reference, currency);
    if (currencies.size > 5_000) currencies.delete(currencies.keys().next().value!);
  };
  const read = async (reference: string) => {
    const payment = await api.getPayment(reference);
    remember(reference, payment.amount.currency);
    return payment;
  };
  const currencyOf = async (reference: string) => currencies.get(reference) ?? (await read(reference)).amount.currency;

  /**
   * A command the payment's state has made moot (a cancel of an expired payment, a capture of an
   * aborted one) answers with the payment as it is, as the Stripe adapter does; anything else throws.
   */
  const settledOrThrow = async (reference: string, err: unknown, moot: (payment: GetPaymentResponse) => boolean) => {
    if (!(err instanceof ProviderError) || (err.kind !== 'conflict' && err.kind !== 'validation')) throw err;
    const payment = await read(reference);
    if (!moot(payment)) throw err;
    return snapshotFromPayment(payment);
  };

  return {
    name: 'mobilepay',
    capabilities: PROVIDER_CAPABILITIES.mobilepay,

    async createPayment(request) {
      const reference = referenceForPayment(request.paymentId);
      const body = createBody(request, reference, options.returnUrl);
      try {
        const created = await api.createPayment(body, wireIdempotencyKey(request.idempotencyKey));
        remember(created.reference, body.amount.currency);
        return {
          providerReference: created.reference,
          status: 'created',
          providerStatus: 'CREATED',
          amountCaptured: 0,
          amountRefunded: 0,
          nextAction: created.redirectUrl ? { type: 'redirect', url: created.redirectUrl } : undefined,
        };
      } catch (err) {
        // The reference exists already (an idempotency key forgotten by the provider, a retry after
        // a long outage): it is this payment when the amount matches, so adopt it.
        if (!(err instanceof ProviderError) || err.kind !== 'conflict') throw err;
        const existing = await read(reference).catch(() => undefined);
        if (!existing || existing.amount.value !== body.amount.value || existing.amount.currency !== body.amount.currency) throw err;
        return snapshotFromPayment(existing);
      }
    },

    async getPayment(providerReference) {
      return snapshotFromPayment(await read(providerReference));
    },

    // A read of a reference that cannot exist: any answer but an outage (404 here) means the API is up.
    async healthCheck() {
      return api.getPayment('skerry-health-check');
    },

    async capturePayment({ providerReference, amount, idempotencyKey }) {
      const currency = await currencyOf(providerReference);
      try {
        const payment = await api.capture(providerReference, { value: amount, currency }, wireIdempotencyKey(idempotencyKey));
        return snapshotFromPayment(payment);
      } catch (err) {
        return settledOrThrow(providerReference, err, (payment) => FINAL_STATES.has(payment.state));
      }
    },

    async cancelPayment({ providerReference, idempotencyKey, reason }) {
      let transactionOnly = false;
      if (reason === 'expired') {
        // Expiring a payment the payer has not finished must not release an authorization that
        // arrived a moment ago: `cancelTransactionOnly` cancels only an unauthorized payment. An
        // authorization whose hold ran out is released as a normal cancel. Distinct key per variant.
        const current = await read(providerReference);
        if (FINAL_STATES.has(current.state)) return snapshotFromPayment(current);
        transactionOnly = current.state === 'CREATED';
      }
      const key = wireIdempotencyKey(transactionOnly ? `${idempotencyKey}-txonly` : idempotencyKey);
      try {
        return snapshotFromPayment(await api.cancel(providerReference, key, transactionOnly));
      } catch (err) {
        return settledOrThrow(providerReference, err, (payment) => {
          if (FINAL_STATES.has(payment.state)) return true;
          const { authorizedAmount, capturedAmount, cancelledAmount } = payment.aggregate;
          return payment.state === 'AUTHORIZED' && capturedAmount.value + cancelledAmount.value >= authorizedAmount.value;
        });
      }
    },

    async refundPayment({ providerReference, amount, currency, idempotencyKey }): Promise<RefundObservation> {
      const key = wireIdempotencyKey(idempotencyKey);
      await api.refund(providerReference, { value: amount, currency: currency.toUpperCase() }, key);
      // ePayment refunds are immediate. The refund id is the Idempotency-Key, which the REFUNDED
      // webhook carries back as `idempotencyKey`: both paths name the same refund.
      return { refundId: key, amount, status: 'succeeded' };
    },

    listTransactions: createMobilePayReportSource(api, options.merchantSerialNumber),
  };
}
