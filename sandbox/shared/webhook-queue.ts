// At-least-once webhook delivery, as the providers do it: each message is POSTed until the receiver
// answers 2xx, with exponential backoff between attempts, giving up after a maximum age (Stripe:
// three days). Delivery runs in the background on timers (cleared by close()), never inside an API
// request. Fault settings can duplicate, reorder or fail deliveries.
import type { FaultInjector, FaultSettings } from './faults';

export interface WebhookMessage {
  /** The provider's id for the message (event id), for logs and the delivery record. */
  id: string;
  url: string;
  /** The exact bytes sent (and signed). */
  body: string;
  /** Headers for one attempt, computed per attempt so signatures carry a fresh timestamp. */
  headers: (body: string) => Record<string, string> | Promise<Record<string, string>>;
}

export interface WebhookQueueStats {
  /** Successful deliveries (duplicates included). */
  delivered: number;
  /** Attempts made, successful or not (simulated failures included). */
  attempts: number;
  /** Attempts that failed (non-2xx, connection error, timeout, simulated failure). */
  failures: number;
  /** Messages not yet delivered (waiting, backing off or in flight). */
  pending: number;
  inFlight: number;
  /** Messages dropped after the maximum age (or number of attempts). */
  gaveUp: number;
}

export interface WebhookAttemptRecord {
  messageId: string;
  attempt: number;
  at: string;
  duplicate: boolean;
  outcome: 'delivered' | 'failed' | 'simulated_failure';
  status?: number;
  error?: string;
  nextAttemptInMs?: number;
}

export interface WebhookQueueLogger {
  debug: (obj: object, msg?: string) => void;
  warn: (obj: object, msg?: string) => void;
}

export interface WebhookQueueOptions {
  faults?: FaultInjector<FaultSettings>;
  /** First retry delay; doubles per failed attempt. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Messages older than this are dropped instead of retried. */
  maxAgeMs?: number;
  /** Attempts after which a message is dropped (PayPal: 25); unlimited by default (Stripe: age only). */
  maxAttempts?: number;
  /** Per-attempt timeout. */
  attemptTimeoutMs?: number;
  /** Parallel attempts; 1 keeps first-in first-out order (unless reordered by a fault). */
  concurrency?: number;
  /** Called once per message when it is first delivered. */
  onDelivered?: (message: WebhookMessage) => void;
  logger?: WebhookQueueLogger;
  now?: () => number;
  /** How many attempt records `recentAttempts()` keeps. */
  historySize?: number;
}

interface Item {
  seq: number;
  message: WebhookMessage;
  attempt: number;
  firstAt: number;
  nextAt: number;
  duplicate: boolean;
  inFlight: boolean;
}

export class WebhookQueue {
  readonly #items: Item[] = [];
  readonly #options: Required<Omit<WebhookQueueOptions, 'faults' | 'onDelivered' | 'logger'>> &
    Pick<WebhookQueueOptions, 'faults' | 'onDelivered' | 'logger'>;
  readonly #history: WebhookAttemptRecord[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #controllers = new Set<AbortController>();
  #stats = { delivered: 0, attempts: 0, failures: 0, gaveUp: 0 };
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #inFlight = 0;
  #closed = false;
  /** Flushes in progress that asked for short backoffs. */
  #expedited = 0;
  /** Bumped by clear(): attempts started before it must not touch the new state. */
  #generation = 0;

  constructor(options: WebhookQueueOptions = {}) {
    this.#options = {
      initialDelayMs: 250,
      maxDelayMs: 30_000,
      maxAgeMs: 3 * 24 * 3_600_000,
      maxAttempts: Number.POSITIVE_INFINITY,
      attemptTimeoutMs: 10_000,
      concurrency: 1,
      now: Date.now,
      historySize: 200,
      ...options,
    };
  }

  /** Nesting depth of `withoutDelivery`: while > 0, nothing is queued. */
  #lost = 0;

  /** Runs `fn` with its webhooks lost: the provider's objects move on, nothing is delivered (drift). */
  withoutDelivery<T>(fn: () => T): T {
    this.#lost += 1;
    try {
      return fn();
    } finally {
      this.#lost -= 1;
    }
  }

  /** Whether a `withoutDelivery` is running: what is enqueued now is lost. */
  get losing(): boolean {
    return this.#lost > 0;
  }

  enqueue(message: WebhookMessage, duplicate = false): void {
    if (this.#closed || this.#lost > 0) return;
    const now = this.#options.now();
    this.#items.push({ seq: this.#seq++, message, attempt: 0, firstAt: now, nextAt: now, duplicate, inFlight: false });
    this.#schedule(0);
  }

  stats(): WebhookQueueStats {
    return { ...this.#stats, pending: this.#items.length, inFlight: this.#inFlight };
  }

  recentAttempts(): WebhookAttemptRecord[] {
    return [...this.#history];
  }

  /**
   * Resolves true once nothing is pending, false when `timeoutMs` passes first. `expedite` makes
   * messages waiting on a backoff due at once, and shortens backoffs to 10 ms while this flush waits.
   */
  flush(options: { timeoutMs?: number; expedite?: boolean } = {}): Promise<boolean> {
    if (options.expedite) {
      const now = this.#options.now();
      for (const item of this.#items) item.nextAt = Math.min(item.nextAt, now);
      this.#schedule(0);
    }
    if (this.#idle()) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    if (options.expedite) this.#expedited += 1;
    return new Promise((resolve) => {
      const finish = (drained: boolean) => {
        clearTimeout(timer);
        if (this.#waiters.delete(onIdle) && options.expedite) this.#expedited -= 1;
        resolve(drained);
      };
      const onIdle = () => finish(this.#idle());
      const timer = setTimeout(() => finish(false), options.timeoutMs ?? 10_000);
      timer.unref();
      this.#waiters.add(onIdle);
    });
  }

  /** Drops every message and zeroes the counters (in-flight attempts are aborted). */
  clear(): void {
    this.#generation += 1;
    this.#items.length = 0;
    for (const controller of this.#controllers) controller.abort();
    this.#controllers.clear();
    this.#inFlight = 0;
    this.#stats = { delivered: 0, attempts: 0, failures: 0, gaveUp: 0 };
    this.#history.length = 0;
    this.#clearTimer();
    this.#notify();
  }

  /** Stops delivery: clears the timer, aborts attempts in flight, releases flush() waiters. */
  close(): void {
    this.#closed = true;
    this.#clearTimer();
    for (const controller of this.#controllers) controller.abort();
    this.#controllers.clear();
    this.#notify(true);
  }

  #idle(): boolean {
    return this.#items.length === 0 && this.#inFlight === 0;
  }

  #notify(force = false): void {
    if (!force && !this.#idle()) return;
    for (const waiter of [...this.#waiters]) waiter();
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /** Arranges for #pump to run in `delayMs` (keeps the earliest request). */
  #schedule(delayMs: number): void {
    if (this.#closed) return;
    const at = this.#options.now() + Math.max(0, delayMs);
    if (this.#timer && this.#timerAt <= at) return;
    this.#clearTimer();
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#pump();
    }, Math.max(0, delayMs));
    this.#timer.unref();
  }

  #pump(): void {
    if (this.#closed) return;
    const now = this.#options.now();
    while (this.#inFlight < this.#options.concurrency) {
      const due = this.#items.filter((item) => !item.inFlight && item.nextAt <= now);
      if (due.length === 0) break;
      due.sort((a, b) => a.seq - b.seq);
      let index = 0;
      if (this.#options.faults?.settings.reorderWebhooks && due.length > 1) {
        index = Math.floor(this.#options.faults.random() * due.length);
        if (index !== 0) this.#options.faults.count('webhookReorder');
      }
      void this.#attempt(due[index]!);
    }
    const waiting = this.#items.filter((item) => !item.inFlight);
    if (waiting.length > 0 && this.#inFlight < this.#options.concurrency) {
      const next = Math.min(...waiting.map((item) => item.nextAt));
      this.#schedule(next - now);
    }
  }

  async #attempt(item: Item): Promise<void> {
    const generation = this.#generation;
    const faults = this.#options.faults;
    item.inFlight = true;
    item.attempt += 1;
    this.#inFlight += 1;
    this.#stats.attempts += 1;

    let outcome: WebhookAttemptRecord['outcome'];
    let status: number | undefined;
    let error: string | undefined;
    if (faults?.chance(faults.settings.webhookFailureRate)) {
      faults.count('webhookFailure');
      outcome = 'simulated_failure';
    } else {
      const controller = new AbortController();
      this.#controllers.add(controller);
      const timeout = setTimeout(() => controller.abort(new Error('attempt timed out')), this.#options.attemptTimeoutMs);
      try {
        const headers = await item.message.headers(item.message.body);
        const response = await fetch(item.message.url, {
          method: 'POST',
          headers,
          body: item.message.body,
          signal: controller.signal,
        });
        status = response.status;
        // Read (and discard) the body so the connection can be reused.
        await response.arrayBuffer().catch(() => undefined);
        outcome = status >= 200 && status < 300 ? 'delivered' : 'failed';
      } catch (cause) {
        outcome = 'failed';
        error = cause instanceof Error ? (cause.cause instanceof Error ? `${cause.message}: ${cause.cause.message}` : cause.message) : String(cause);
      } finally {
        clearTimeout(timeout);
        this.#controllers.delete(controller);
      }
    }

    if (generation !== this.#generation || this.#closed) return;
    this.#inFlight -= 1;
    item.inFlight = false;
    const now = this.#options.now();
    const record: WebhookAttemptRecord = {
      messageId: item.message.id,
      attempt: item.attempt,
      at: new Date(now).toISOString(),
      duplicate: item.duplicate,
      outcome,
      status,
      error,
    };

    if (outcome === 'delivered') {
      this.#stats.delivered += 1;
      this.#remove(item);
      if (!item.duplicate) {
        this.#options.onDelivered?.(item.message);
        if (faults?.chance(faults.settings.duplicateWebhooks)) {
          faults.count('webhookDuplicate');
          this.enqueue(item.message, true);
        }
      }
      this.#options.logger?.debug({ messageId: item.message.id, attempt: item.attempt }, 'webhook delivered');
    } else {
      this.#stats.failures += 1;
      if (now - item.firstAt >= this.#options.maxAgeMs || item.attempt >= this.#options.maxAttempts) {
        this.#stats.gaveUp += 1;
        this.#remove(item);
        this.#options.logger?.warn({ messageId: item.message.id, attempts: item.attempt }, 'webhook abandoned after maximum age or attempts');
      } else {
        const base = Math.min(this.#options.initialDelayMs * 2 ** (item.attempt - 1), this.#options.maxDelayMs);
        const delay = this.#expedited > 0 ? Math.min(base, 10) : Math.round(base * (0.8 + 0.2 * Math.random()));
        item.nextAt = now + delay;
        record.nextAttemptInMs = delay;
        this.#options.logger?.debug({ messageId: item.message.id, attempt: item.attempt, status, error, retryInMs: delay }, 'webhook delivery failed');
      }
    }
    this.#history.push(record);
    if (this.#history.length > this.#options.historySize) this.#history.shift();
    this.#notify();
    this.#schedule(0);
  }

  #remove(item: Item): void {
    const index = this.#items.indexOf(item);
    if (index >= 0) this.#items.splice(index, 1);
  }
}

/** The delivery settings a provider sandbox exposes to its callers. */
export type WebhookDeliveryOptions = Pick<
  WebhookQueueOptions,
  'initialDelayMs' | 'maxDelayMs' | 'maxAgeMs' | 'attemptTimeoutMs' | 'concurrency' | 'maxAttempts' | 'historySize'
>;
