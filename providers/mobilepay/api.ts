// The ePayment, Webhooks and Report HTTP calls, with undici, behind one access-token cache. Each call
// carries the Vipps-System headers and classifies its answer into a ProviderError.
import { OAuthTokenManager, type TokenSpec } from '../oauth/token-manager';
import { PROVIDER } from './wire';
import type { GetPaymentResponse, CreatePaymentRequest, CreatePaymentResponse, CapturePaymentResponse, CancelPaymentResponse, RefundPaymentResponse, RegisterRequest, RegisterResponse, QueryResponse, AuthorizationTokenResponse } from '@vippsmobilepay/sdk';
import type { ReportApi } from './report';
import { passThroughGate, type ProviderGate } from '../resilience/gate';
import { request as undiciRequest } from 'undici';
import { classifyTransportError, ProviderError } from '../errors';
import { classifyMobilePayResponse, parseJson } from './wire';

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
type MobilePayConnection = Pick<MobilePayClientOptions, 'clientId' | 'clientSecret' | 'subscriptionKey' | 'merchantSerialNumber' | 'apiBase' | 'returnUrl'>;

/**
 * What the API needs from a MobilePay configuration (the registry's client, the webhook CLI, the
 * doctor), and nothing else of it: the configuration also holds webhook secrets, which no API call takes.
 */
export function mobilePayConnection(config: MobilePayConnection): MobilePayConnection {
  const { clientId, clientSecret, subscriptionKey, merchantSerialNumber, apiBase, returnUrl } = config;
  return { clientId, clientSecret, subscriptionKey, merchantSerialNumber, apiBase, returnUrl };
}

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
