// One OAuth 2.0 token manager for every provider that needs access tokens: PayPal and MobilePay
// (client credentials) and each Airbnb host (refresh tokens). Per token key it keeps:
//
// - a cache in the process, and the token store shared by every process (Postgres, sealed with
//   AES-256-GCM); a process that finds a fresh token in the store uses it without asking the provider;
// - proactive refresh: a token is renewed `refreshMargin` before it expires (at most half its
//   lifetime early); a failed early refresh keeps using the current token while it is valid;
// - exactly one refresher at a time across processes: in the process, concurrent callers share one
//   refresh (single flight); across processes, the refresh runs while holding the store's lock on
//   the key (SELECT … FOR UPDATE), and whoever waited then finds the new token and does not refresh;
// - scope checks: a token without the scopes the caller needs is refused (authentication, not
//   retried), as is a refresh that would narrow them;
// - alerts: a failed refresh is logged at error level and counted
//   (skerry_oauth_refresh_failures_total{provider}).
import { createHash } from 'node:crypto';
import type { Logger } from '../../observability/logger';
import { ProviderError } from '../errors';

/** What a token endpoint answered. */
export interface OAuthGrant {
  accessToken: string;
  /** Lifetime in milliseconds from now. */
  expiresInMs: number;
  /** A rotating refresh token, when the grant has one. */
  refreshToken?: string;
  scopes?: readonly string[];
}

export interface StoredToken {
  accessToken: string;
  refreshToken?: string;
  issuedAt: number;
  expiresAt: number;
  scopes?: readonly string[];
  /** Set when a process saw the provider refuse this token: it must not be used again. */
  invalid?: boolean;
}

/** Where tokens are kept, and the lock that makes one refresher at a time. */
export interface TokenStore {
  read(key: string): Promise<StoredToken | undefined>;
  /**
   * Runs `refresh` holding the key's lock (across processes), with the token as stored at that
   * moment; a token it returns is stored before the lock is released.
   */
  withLock(key: string, provider: string, refresh: (current: StoredToken | undefined) => Promise<StoredToken>): Promise<StoredToken>;
  /** Marks `accessToken` invalid if it is still the stored token. */
  invalidate(key: string, accessToken: string): Promise<void>;
  /** Records a failed refresh (shown by GET /providers). */
  recordFailure?(key: string, provider: string, message: string): Promise<void>;
}

/** One token: its key, its provider (for logs and metrics), and how to get a new one. */
export interface TokenSpec {
  /** e.g. `paypal:<client id>`, `mobilepay:<client id>:<msn>`, `airbnb:host:<id>`. */
  key: string;
  provider: string;
  /** Scopes every token must carry; checked after each fetch. */
  requiredScopes?: readonly string[];
  /** Overrides the manager's refresh margin for this token. */
  refreshMarginMs?: number;
  /** Asks the provider: client credentials, or a refresh with `current.refreshToken`. */
  fetch(current: StoredToken | undefined): Promise<OAuthGrant>;
}

export interface TokenManagerOptions {
  store?: TokenStore;
  now?: () => number;
  /** Refresh this long before expiry (at most half the token's lifetime). Default 5 minutes. */
  refreshMarginMs?: number;
  logger?: Logger;
  /** Called on every failed refresh (metrics: skerry_oauth_refresh_failures_total). */
  onRefreshFailure?: (provider: string, key: string, err: unknown) => void;
}

export const fingerprintOf = (accessToken: string) => createHash('sha256').update(accessToken).digest('hex').slice(0, 24);

export function parseScopes(scope: string | readonly string[] | undefined | null): string[] | undefined {
  if (scope === undefined || scope === null) return undefined;
  const list = typeof scope === 'string' ? scope.split(/[\s,]+/) : [...scope];
  return list.map((item) => item.trim()).filter(Boolean);
}

/**
 * A token store inside one process: the single-flight refresh is already the only refresher, so
 * no lock is needed and a refresh asks the provider at once.
 */
export interface LocalTokenStore extends TokenStore {
  readonly local: true;
  peek(key: string): StoredToken | undefined;
  put(key: string, token: StoredToken): void;
}

/** An in-process store: for one process, or for clients built without a shared store (tests, tools). */
export function createMemoryTokenStore(): LocalTokenStore {
  const tokens = new Map<string, StoredToken>();
  const store: LocalTokenStore = {
    local: true,
    peek: (key) => tokens.get(key),
    put: (key, token) => void tokens.set(key, token),
    async read(key) {
      return tokens.get(key);
    },
    async withLock(key, _provider, refresh) {
      const token = await refresh(tokens.get(key));
      tokens.set(key, token);
      return token;
    },
    async invalidate(key, accessToken) {
      const token = tokens.get(key);
      if (token?.accessToken === accessToken) tokens.set(key, { ...token, invalid: true });
    },
  };
  return store;
}

const isLocal = (store: TokenStore): store is LocalTokenStore => (store as Partial<LocalTokenStore>).local === true;

export class OAuthTokenManager {
  readonly #store: TokenStore;
  readonly #now: () => number;
  readonly #marginMs: number;
  readonly #logger?: Logger;
  readonly #onRefreshFailure?: TokenManagerOptions['onRefreshFailure'];
  readonly #cache = new Map<string, StoredToken>();
  readonly #inflight = new Map<string, Promise<StoredToken>>();
  /** Fetches this manager made from the provider, per key (tests, GET /providers). */
  readonly refreshes = new Map<string, number>();

  constructor(options: TokenManagerOptions = {}) {
    this.#store = options.store ?? createMemoryTokenStore();
    this.#now = options.now ?? Date.now;
    this.#marginMs = options.refreshMarginMs ?? 5 * 60_000;
    this.#logger = options.logger;
    this.#onRefreshFailure = options.onRefreshFailure;
  }

  #refreshAt(token: StoredToken, marginMs: number): number {
    const lifetime = token.expiresAt - token.issuedAt;
    return token.expiresAt - Math.min(marginMs, lifetime / 2);
  }

  /** Fresh: not yet due for its proactive refresh. */
  #fresh(token: StoredToken | undefined, spec: Pick<TokenSpec, 'refreshMarginMs'>): token is StoredToken {
    return token !== undefined && !token.invalid && this.#now() < this.#refreshAt(token, spec.refreshMarginMs ?? this.#marginMs);
  }

  #usable(token: StoredToken | undefined): token is StoredToken {
    return token !== undefined && !token.invalid && this.#now() < token.expiresAt;
  }

  #checkScopes(spec: TokenSpec, scopes: readonly string[] | undefined): void {
    if (!spec.requiredScopes?.length) return;
    const granted = new Set(scopes ?? []);
    const missing = spec.requiredScopes.filter((scope) => !granted.has(scope));
    if (missing.length > 0) {
      throw new ProviderError(spec.provider, 'access_token', 'authentication', `the access token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, {
        code: 'insufficient_scope',
      });
    }
  }

  /**
   * A valid access token for `spec`. `rejected`: the provider just refused this token (a 401), so
   * it is invalidated everywhere (if it is still the current one) and a new one is obtained.
   */
  async accessToken(spec: TokenSpec, options: { rejected?: string } = {}): Promise<string> {
    if (options.rejected !== undefined) await this.invalidate(spec.key, options.rejected);
    const cached = this.#cache.get(spec.key);
    if (this.#fresh(cached, spec)) return cached.accessToken;
    let refreshing = this.#inflight.get(spec.key);
    if (!refreshing) {
      refreshing = this.#refresh(spec).finally(() => this.#inflight.delete(spec.key));
      this.#inflight.set(spec.key, refreshing);
    }
    try {
      return (await refreshing).accessToken;
    } catch (err) {
      // A failed early refresh is not fatal while the current token is still valid.
      const current = this.#cache.get(spec.key);
      if (this.#usable(current)) return current.accessToken;
      throw err;
    }
  }

  /** Forgets `accessToken` here and in the store, if it is still the current token. */
  async invalidate(key: string, accessToken: string): Promise<void> {
    const cached = this.#cache.get(key);
    if (cached?.accessToken === accessToken) this.#cache.delete(key);
    await this.#store.invalidate(key, accessToken);
  }

  /** Stores a token obtained elsewhere (an authorization-code exchange). */
  async seed(spec: Pick<TokenSpec, 'key' | 'provider' | 'requiredScopes'>, grant: OAuthGrant): Promise<void> {
    this.#checkScopes(spec as TokenSpec, grant.scopes);
    const token = this.#toStored(grant);
    await this.#store.withLock(spec.key, spec.provider, async () => token);
    this.#cache.set(spec.key, token);
  }

  #toStored(grant: OAuthGrant, previous?: StoredToken, issuedAt = this.#now()): StoredToken {
    return {
      accessToken: grant.accessToken,
      // A grant without a new refresh token keeps the old one (non-rotating refresh tokens).
      refreshToken: grant.refreshToken ?? previous?.refreshToken,
      issuedAt,
      expiresAt: issuedAt + grant.expiresInMs,
      scopes: grant.scopes ?? previous?.scopes,
    };
  }

  /** Asks the provider for a new token (under the store's lock, when the store is shared). */
  async #fetch(spec: TokenSpec, current: StoredToken | undefined): Promise<StoredToken> {
    const startedAt = this.#now();
    const grant = await spec.fetch(current);
    this.refreshes.set(spec.key, (this.refreshes.get(spec.key) ?? 0) + 1);
    this.#checkScopes(spec, grant.scopes ?? current?.scopes);
    return this.#toStored(grant, current, startedAt);
  }

  async #refresh(spec: TokenSpec): Promise<StoredToken> {
    const store = this.#store;
    let stored: StoredToken | undefined;
    try {
      let token: StoredToken;
      if (isLocal(store)) {
        // One process: the single flight is the only refresher; ask the provider right away.
        stored = store.peek(spec.key);
        token = this.#fresh(stored, spec) ? stored : await this.#fetch(spec, stored);
        store.put(spec.key, token);
      } else {
        // Another process may have refreshed already: the store is cheaper than the provider.
        stored = await store.read(spec.key);
        token = this.#fresh(stored, spec)
          ? stored
          : // Re-read under the lock: whoever held it before us may have refreshed.
            await store.withLock(spec.key, spec.provider, async (current) => (this.#fresh(current, spec) ? current : this.#fetch(spec, current)));
      }
      this.#cache.set(spec.key, token);
      return token;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.#logger?.error({ provider: spec.provider, tokenKey: spec.key, err: message, alert: 'oauth_refresh_failed' }, 'OAuth token refresh failed');
      this.#onRefreshFailure?.(spec.provider, spec.key, err);
      await store.recordFailure?.(spec.key, spec.provider, message).catch(() => undefined);
      // Keep the stored token in the cache if it is still usable: accessToken() falls back to it.
      if (this.#usable(stored) && !this.#usable(this.#cache.get(spec.key))) this.#cache.set(spec.key, stored);
      throw err;
    }
  }
}
