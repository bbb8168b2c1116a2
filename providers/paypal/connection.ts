// One authenticated connection to PayPal through the official SDK (@paypal/paypal-server-sdk):
// OAuth2 client credentials, the Orders and Payments controllers, and raw calls for the endpoints
// the SDK does not cover (webhook signature verification). The client and the webhook verifier
// share it, and with it one access token.
//
// Two things the SDK does not do on its own, added here through its public hooks:
// - a custom base URL: the SDK only knows `Environment.Production` (api-m.paypal.com) and
//   `Environment.Sandbox` (api-m.sandbox.paypal.com). For any other base (Skerry's sandbox) a
//   request interceptor — the same hook the SDK uses for its User-Agent — rewrites the origin.
// - one token for concurrent calls: the SDK caches the token, but every call that finds it missing
//   or expired fetches its own. `oAuthTokenProvider` makes the fetch single-flight and moves the
//   token's expiry forward by a margin, so it is refreshed shortly before PayPal's `expires_in`.
import {
  ApiError,
  Client,
  Environment,
  OrdersController,
  PaymentsController,
  ResponseValidationError,
  type ApiResponse,
  type ClientCredentialsAuthManager,
  type OAuthToken,
} from '@paypal/paypal-server-sdk';

export const PAYPAL_LIVE_API = 'https://api-m.paypal.com';
export const PAYPAL_SANDBOX_API = 'https://api-m.sandbox.paypal.com';

export interface PayPalConnectionOptions {
  clientId: string;
  clientSecret: string;
  /** e.g. http://127.0.0.1:4010/paypal for Skerry's sandbox; unset = PayPal's sandbox. */
  apiBase?: string;
  timeoutMs?: number;
  /** Refresh the token this long before it expires (default 300 s, at most half its lifetime). */
  refreshMarginSeconds?: number;
  /**
   * Called when a 2xx answer does not match the SDK's schema (PayPal added an enum value, say). The
   * raw body is used anyway; tests pass a hook that fails so the sandbox stays faithful.
   */
  onSchemaDrift?: (operation: string, message: string) => void;
}

/** An SDK answer: the SDK's typed result is validated, but mapping reads the raw wire body. */
export interface WireResponse<T> {
  statusCode: number;
  headers: Record<string, string>;
  body: T;
}

export interface PayPalConnection {
  readonly sdk: Client;
  readonly orders: OrdersController;
  readonly payments: PaymentsController;
  /** Token requests made so far (for tests and metrics). */
  readonly tokenRequests: () => number;
  /** Runs an SDK call and returns the raw JSON body; on a 401 the token is dropped and the call retried once. */
  call<T>(operation: string, fn: () => Promise<ApiResponse<unknown>>): Promise<WireResponse<T>>;
  /** POSTs a JSON text body to a path the SDK has no controller for, with the same auth and base URL. */
  postJson<T>(operation: string, path: string, jsonText: string): Promise<WireResponse<T>>;
  /** Forgets the cached token (PayPal revoked it); with `refused`, only if that is still the cached one. */
  invalidateToken(refused?: string): void;
}

type RequestBuilderFactory = ReturnType<Client['getRequestBuilderFactory']>;

function environmentFor(apiBase: string | undefined): { environment: Environment; rebase?: { from: string; to: string } } {
  const base = apiBase?.replace(/\/+$/, '');
  if (!base || base === PAYPAL_SANDBOX_API) return { environment: Environment.Sandbox };
  if (base === PAYPAL_LIVE_API) return { environment: Environment.Production };
  return { environment: Environment.Sandbox, rebase: { from: PAYPAL_SANDBOX_API, to: base } };
}

function rebasedClientClass(rebase: { from: string; to: string }): typeof Client {
  const rewrite = (url: string) => (url.startsWith(rebase.from) ? rebase.to + url.slice(rebase.from.length) : url);
  // Closure state only: Client's constructor already calls getRequestBuilderFactory (for its OAuth
  // controller) before subclass fields would be initialized.
  return class RebasedClient extends Client {
    override getRequestBuilderFactory(): RequestBuilderFactory {
      const inner = super.getRequestBuilderFactory();
      return (...args: Parameters<RequestBuilderFactory>) => {
        const builder = inner(...args);
        builder.interceptRequest((request) => ({ ...request, url: rewrite(request.url) }));
        return builder;
      };
    }
  };
}

function normalizeHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = String(value);
  return out;
}

function parseBody<T>(body: unknown): T {
  if (typeof body !== 'string') return body as T;
  return (body === '' ? null : JSON.parse(body)) as T;
}

export function createPayPalConnection(options: PayPalConnectionOptions): PayPalConnection {
  const { environment, rebase } = environmentFor(options.apiBase);
  const margin = options.refreshMarginSeconds ?? 300;
  let current: OAuthToken | undefined;
  let inflight: Promise<OAuthToken> | undefined;
  let requests = 0;

  const fresh = (token: OAuthToken | undefined): token is OAuthToken =>
    token !== undefined && token.expiry !== undefined && Number(token.expiry) > Date.now() / 1000;

  const fetchToken = (manager: ClientCredentialsAuthManager): Promise<OAuthToken> => {
    inflight ??= (async () => {
      requests += 1;
      const issuedAt = Math.floor(Date.now() / 1000);
      const token = await manager.fetchToken();
      const lifetime = token.expiresIn === undefined ? 3_600 : Number(token.expiresIn);
      // The SDK refreshes once `expiry` has passed: put it `margin` before PayPal's expiry.
      token.expiry = BigInt(issuedAt + lifetime - Math.min(margin, Math.floor(lifetime / 2)));
      current = token;
      return token;
    })().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  const ClientClass = rebase ? rebasedClientClass(rebase) : Client;
  const sdk = new ClientClass({
    environment,
    timeout: options.timeoutMs ?? 20_000,
    clientCredentialsAuthCredentials: {
      oAuthClientId: options.clientId,
      oAuthClientSecret: options.clientSecret,
      oAuthTokenProvider: async (_last, manager) => (fresh(current) ? current : fetchToken(manager)),
    },
    // Temporal's activity retries are the retry policy; the SDK must not add its own.
    httpClientOptions: { timeout: options.timeoutMs ?? 20_000, retryConfig: { maxNumberOfRetries: 0 } },
  });

  const invalidateToken = (refused?: string) => {
    // Concurrent calls refused with the same old token must not drop the new one.
    if (!current || (refused !== undefined && refused !== current.accessToken)) return;
    // The SDK holds the same object: an expiry in the past makes it ask the provider again.
    current.expiry = BigInt(0);
    current = undefined;
  };

  const toWire = <T>(response: { statusCode: number; headers: Record<string, string>; body: unknown }): WireResponse<T> => ({
    statusCode: response.statusCode,
    headers: normalizeHeaders(response.headers),
    body: parseBody<T>(response.body),
  });

  const withTokenRetry = async <R>(fn: () => Promise<R>): Promise<R> => {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ApiError) || err.statusCode !== 401) throw err;
      // Refused credentials (the token request itself) cannot be fixed by a new token.
      if (err.request?.url?.endsWith('/v1/oauth2/token')) throw err;
      const authorization = Object.entries(err.request?.headers ?? {}).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
      invalidateToken(typeof authorization === 'string' ? authorization.replace(/^Bearer\s+/i, '') : undefined);
      return fn();
    }
  };

  const call = async <T>(operation: string, fn: () => Promise<ApiResponse<unknown>>): Promise<WireResponse<T>> => {
    try {
      return toWire<T>(await withTokenRetry(fn));
    } catch (err) {
      if (err instanceof ResponseValidationError && err.statusCode >= 200 && err.statusCode < 300) {
        options.onSchemaDrift?.(operation, err.message);
        return toWire<T>(err);
      }
      throw err;
    }
  };

  const postJson = async <T>(operation: string, path: string, jsonText: string): Promise<WireResponse<T>> =>
    call<T>(operation, async () => {
      const request = sdk.getRequestBuilderFactory()('POST', path);
      request.header('Content-Type', 'application/json');
      request.text(jsonText);
      request.authenticate([{ oauth2: true }]);
      return request.callAsText();
    });

  return {
    sdk,
    orders: new OrdersController(sdk),
    payments: new PaymentsController(sdk),
    tokenRequests: () => requests,
    call,
    postJson,
    invalidateToken,
  };
}
