// Idempotency keys as the payment providers implement them: the first response saved for a key is
// replayed byte for byte to later requests with the same key and the same parameters; a different
// endpoint or different parameters under the same key is refused; a key whose first request is still
// running is refused as "in use". Keys are scoped (per API key or client) and expire after a TTL.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface IdempotencyFingerprint {
  /** Method and route, e.g. `POST /v1/refunds`. */
  endpoint: string;
  /** Canonical form of the parameters (see stableStringify). */
  params: string;
}

export interface StoredResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export type IdempotencyLookup =
  | { kind: 'new' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch'; reason: 'endpoint' | 'parameters'; original: IdempotencyFingerprint }
  | { kind: 'in_flight' };

interface Entry {
  fingerprint: IdempotencyFingerprint;
  createdAt: number;
  response?: StoredResponse;
}

export interface IdempotencyStoreOptions {
  /** How long a key is remembered (Stripe: at least 24 h). */
  ttlMs?: number;
  /** Oldest keys are dropped beyond this many. */
  maxEntries?: number;
  now?: () => number;
}

export class IdempotencyStore {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: IdempotencyStoreOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 24 * 3_600_000;
    this.#maxEntries = options.maxEntries ?? 50_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Looks the key up; when it is new, records it as in flight under `fingerprint`. */
  begin(scope: string, key: string, fingerprint: IdempotencyFingerprint): IdempotencyLookup {
    const id = `${scope}\u0000${key}`;
    const now = this.#now();
    const entry = this.#entries.get(id);
    if (entry && now - entry.createdAt < this.#ttlMs) {
      if (entry.fingerprint.endpoint !== fingerprint.endpoint) {
        return { kind: 'mismatch', reason: 'endpoint', original: entry.fingerprint };
      }
      if (entry.fingerprint.params !== fingerprint.params) {
        return { kind: 'mismatch', reason: 'parameters', original: entry.fingerprint };
      }
      return entry.response ? { kind: 'replay', response: entry.response } : { kind: 'in_flight' };
    }
    this.#entries.delete(id);
    this.#entries.set(id, { fingerprint, createdAt: now });
    this.#prune(now);
    return { kind: 'new' };
  }

  complete(scope: string, key: string, response: StoredResponse): void {
    const entry = this.#entries.get(`${scope}\u0000${key}`);
    if (entry && !entry.response) entry.response = response;
  }

  /** Forgets a key whose request ended without a saved response (so a retry runs again). */
  release(scope: string, key: string): void {
    const id = `${scope}\u0000${key}`;
    if (this.#entries.get(id)?.response === undefined) this.#entries.delete(id);
  }

  clear(): void {
    this.#entries.clear();
  }

  #prune(now: number): void {
    // Map iteration is insertion order, so the oldest entries come first.
    for (const [id, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && now - entry.createdAt < this.#ttlMs) break;
      this.#entries.delete(id);
    }
  }
}

export interface IdempotencyHookOptions {
  store: IdempotencyStore;
  /** Request header carrying the key (lower case), e.g. `idempotency-key`, `paypal-request-id`. */
  header: string;
  /** Methods the key applies to; others ignore it. Default: POST. */
  methods?: readonly string[];
  /** Which requests the layer applies to (API routes, not control routes). */
  appliesTo: (request: FastifyRequest) => boolean;
  /** Scope of the key, usually the caller's credential; undefined skips idempotency. */
  scopeOf: (request: FastifyRequest) => string | undefined;
  fingerprintOf: (request: FastifyRequest) => IdempotencyFingerprint;
  maxKeyLength?: number;
  /** Whether a finished response is saved (e.g. not when parameters failed validation). */
  shouldStore?: (request: FastifyRequest, reply: FastifyReply) => boolean;
  /** Response headers kept with the saved response (lower case). Default: content-type. */
  storedHeaders?: readonly string[];
  /**
   * Headers sent with a replay. Default: the stored headers plus `Idempotent-Replayed: true`.
   */
  replayHeaders?: (stored: StoredResponse, request: FastifyRequest) => Record<string, string>;
  /**
   * Body sent with a replay. Default: the stored body byte for byte (Stripe). PayPal instead answers
   * a repeated PayPal-Request-Id with the *latest* state of the resource the first request made.
   */
  replayBody?: (stored: StoredResponse, request: FastifyRequest) => string;
  onMismatch: (request: FastifyRequest, reply: FastifyReply, lookup: Extract<IdempotencyLookup, { kind: 'mismatch' }>, key: string) => FastifyReply;
  onInFlight: (request: FastifyRequest, reply: FastifyReply, key: string) => FastifyReply;
  onKeyTooLong: (request: FastifyRequest, reply: FastifyReply, maxKeyLength: number) => FastifyReply;
}

interface Pending {
  scope: string;
  key: string;
  replayed: boolean;
}

/** Adds the idempotency preHandler/onSend/onResponse hooks to `app` (an encapsulated context). */
export function installIdempotencyHooks(app: FastifyInstance, options: IdempotencyHookOptions): void {
  const methods = options.methods ?? ['POST'];
  const maxKeyLength = options.maxKeyLength ?? 255;
  const storedHeaders = options.storedHeaders ?? ['content-type'];
  const pending = new WeakMap<FastifyRequest, Pending>();

  app.addHook('preHandler', async (request, reply) => {
    if (!methods.includes(request.method) || !options.appliesTo(request)) return;
    const raw = request.headers[options.header];
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (key === undefined || key === '') return;
    if (key.length > maxKeyLength) return options.onKeyTooLong(request, reply, maxKeyLength);
    const scope = options.scopeOf(request);
    if (scope === undefined) return;
    const lookup = options.store.begin(scope, key, options.fingerprintOf(request));
    switch (lookup.kind) {
      case 'new':
        pending.set(request, { scope, key, replayed: false });
        return;
      case 'replay': {
        pending.set(request, { scope, key, replayed: true });
        const { response } = lookup;
        reply.headers(options.replayHeaders ? options.replayHeaders(response, request) : { ...response.headers, 'idempotent-replayed': 'true' });
        reply.code(response.statusCode);
        return reply.send(options.replayBody ? options.replayBody(response, request) : response.body);
      }
      case 'mismatch':
        return options.onMismatch(request, reply, lookup, key);
      case 'in_flight':
        return options.onInFlight(request, reply, key);
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const entry = pending.get(request);
    if (!entry || entry.replayed) return payload;
    if (options.shouldStore && !options.shouldStore(request, reply)) return payload;
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
    if (body === undefined) return payload;
    const headers: Record<string, string> = {};
    for (const name of storedHeaders) {
      const value = reply.getHeader(name);
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    options.store.complete(entry.scope, entry.key, { statusCode: reply.statusCode, headers, body });
    return payload;
  });

  // A request that ended without a saved response (not stored, socket closed) frees its key.
  const release = async (request: FastifyRequest) => {
    const entry = pending.get(request);
    if (entry && !entry.replayed) options.store.release(entry.scope, entry.key);
  };
  app.addHook('onResponse', release);
  app.addHook('onRequestAbort', release);
}
