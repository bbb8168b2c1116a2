// One authenticated connection to PayPal through the official SDK (@paypal/paypal-server-sdk):
// OAuth2 client credentials, the Orders and Payments controllers, and raw calls for the endpoints
// the SDK does not cover (webhook signature verification). The client and the webhook verifier
// share it, and with it one access token.
//
// What the SDK does not do on its own, added here through its public hooks:
// - a custom base URL: the SDK only knows `Environment.Production` (api-m.paypal.com) and
//   `Environment.Sandbox` (api-m.sandbox.paypal.com). For any other base (Skerry's sandbox) a
//   request interceptor — the same hook the SDK uses for its User-Agent — rewrites the origin.
// - one token for every call and every process: the SDK caches the token per client, but every
//   call that finds it missing or expired fetches its own. `oAuthTokenProvider` hands the SDK the
//   token of the shared OAuth token manager (providers/oauth), which fetches it once, refreshes it
//   shortly before PayPal's `expires_in`, checks its scopes, and shares it through Postgres.
// - the provider gate (providers/resilience): every request, the token request included, waits for
//   the throttle and is counted against the quota; GETs are conditional (ETag).
import { OAuthTokenManager, parseScopes, type TokenSpec } from '../oauth/token-manager';
import { passThroughGate, type ProviderGate } from '../resilience/gate';
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
  /** The shared OAuth token manager (worker: tokens in Postgres); default: one for this connection. */
  tokens?: OAuthTokenManager;
  /** Scopes the token must carry (checked at every fetch). */
  requiredScopes?: readonly string[];
  /** Throttle, quota and conditional GETs; default: pass through. */
  gate?: ProviderGate;
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
  /** The API base the connection calls (undefined: PayPal's sandbox). */
  readonly apiBase: string | undefined;
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
  invalidateToken(refused?: string): Promise<void>;
}

type RequestBuilderFactory = ReturnType<Client['getRequestBuilderFactory']>;

function environmentFor(apiBase: string | undefined): { environment: Environment; rebase?: { from: string; to: string } } {
  const base = apiBase?.replace(/\/+$/, '');
  if (!base || base === PAYPAL_SANDBOX_API) return { environment: Environment.Sandbox };
  if (base === PAYPAL_LIVE_API) return { environment: Environment.Production };
  return { environment: Environment.Sandbox, rebase: { from: PAYPAL_SANDBOX_API, to: base } };
}

type SdkRequest = Parameters<Parameters<ReturnType<RequestBuilderFactory>['intercept']>[0]>[0];
type SdkNext = Parameters<Parameters<ReturnType<RequestBuilderFactory>['intercept']>[0]>[2];

/**
 * The SDK's Client with every request passing the gate (throttle, quota, conditional GET) and, for
 * a base URL the SDK does not know, its origin rewritten.
 */
function gatedClientClass(gate: ProviderGate, rebase: { from: string; to: string } | undefined): typeof Client {
  const rewrite = (url: string) => (rebase && url.startsWith(rebase.from) ? rebase.to + url.slice(rebase.from.length) : url);
  // Closure state only: Client's constructor already calls getRequestBuilderFactory (for its OAuth
  // controller) before subclass fields would be initialized.
  return class GatedClient extends Client {
    override getRequestBuilderFactory(): RequestBuilderFactory {
      const inner = super.getRequestBuilderFactory();
      return (...args: Parameters<RequestBuilderFactory>) => {
        const builder = inner(...args);
        builder.intercept(async (request: SdkRequest, options, next: SdkNext) => {
          const url = rewrite(request.url);
          const read = await gate.conditional(request.method, url);
          await gate.admit();
          const context = await next({ ...request, url, headers: { ...request.headers, ...read?.headers } }, options);
          const headers = context.response.headers ?? {};
          gate.observe(headers);
          if (!read || typeof context.response.body !== 'string') return context;
          const resolved = await read.resolve({ status: context.response.statusCode, headers, text: context.response.body });
          return { ...context, response: { ...context.response, statusCode: resolved.status, headers: resolved.headers as Record<string, string>, body: resolved.text } };
        });
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
  const manager = options.tokens ?? new OAuthTokenManager({ refreshMarginMs: margin * 1000 });
  const key = `paypal:${options.clientId}`;
  let requests = 0;
  /** The token object last handed to the SDK (the SDK keeps it until its `expiry`). */
  let issued: OAuthToken | undefined;

  const spec = (sdkManager: ClientCredentialsAuthManager): TokenSpec => ({
    key,
    provider: 'paypal',
    requiredScopes: options.requiredScopes,
    refreshMarginMs: margin * 1000,
    async fetch() {
      requests += 1;
      const token = await sdkManager.fetchToken();
      const lifetime = token.expiresIn === undefined ? 3_600 : Number(token.expiresIn);
      return { accessToken: token.accessToken, expiresInMs: lifetime * 1000, scopes: parseScopes(token.scope) };
    },
  });

  const gate = options.gate ?? passThroughGate('paypal');
  const sdk = new (gatedClientClass(gate, rebase))({
    environment,
    timeout: options.timeoutMs ?? 20_000,
    clientCredentialsAuthCredentials: {
      oAuthClientId: options.clientId,
      oAuthClientSecret: options.clientSecret,
      // The SDK asks again once `expiry` has passed: a second from now, so every call goes back to
      // the manager (an in-memory read while the token is fresh) and sees its refreshes.
      oAuthTokenProvider: async (_last, sdkManager) => {
        const accessToken = await manager.accessToken(spec(sdkManager));
        issued = { accessToken, tokenType: 'Bearer', expiry: BigInt(Math.floor(Date.now() / 1000) + 1) };
        return issued;
      },
    },
    // Temporal's activity retries are the retry policy; the SDK must not add its own.
    httpClientOptions: { timeout: options.timeoutMs ?? 20_000, retryConfig: { maxNumberOfRetries: 0 } },
  });

  const invalidateToken = async (refused?: string) => {
    const current = issued;
    // Concurrent calls refused with the same old token must not drop the new one.
    if (!current || (refused !== undefined && refused !== current.accessToken)) {
      if (refused !== undefined) await manager.invalidate(key, refused);
      return;
    }
    // The SDK holds the same object: an expiry in the past makes it ask the provider again.
    current.expiry = BigInt(0);
    issued = undefined;
    await manager.invalidate(key, current.accessToken);
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
      await invalidateToken(typeof authorization === 'string' ? authorization.replace(/^Bearer\s+/i, '') : undefined);
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
    apiBase: options.apiBase,
    sdk,
    orders: new OrdersController(sdk),
    payments: new PaymentsController(sdk),
    tokenRequests: () => requests,
    call,
    postJson,
    invalidateToken,
  };
}
