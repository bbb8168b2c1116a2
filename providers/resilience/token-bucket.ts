// A per-process token bucket in front of a provider client: a request that finds no token waits
// for one, in arrival order, instead of failing. The cross-process limit is the provider task
// queue's server-side rate (see worker/create-worker.ts); this one smooths each process's requests
// (several HTTP requests per activity, webhook verification calls from the API).

export interface TokenBucketOptions {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Tokens the bucket holds at most: the burst a quiet process may send at once (default 1). */
  burst?: number;
  now?: () => number;
}

export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;
  readonly #waiting: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;
  /** Milliseconds callers spent waiting for a token, in total. */
  waitedMs = 0;
  /** Requests that had to wait. */
  throttled = 0;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0)) throw new Error('TokenBucket: ratePerSecond must be positive');
    this.ratePerSecond = options.ratePerSecond;
    this.burst = Math.max(1, options.burst ?? 1);
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = this.burst;
    this.#updatedAt = this.#now();
  }

  /** Requests waiting for a token right now. */
  get queued(): number {
    return this.#waiting.length;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.ratePerSecond);
    this.#updatedAt = now;
  }

  /** Takes a token, waiting (FIFO) until one is available. */
  acquire(): Promise<void> {
    this.#refill();
    if (this.#waiting.length === 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      return Promise.resolve();
    }
    const since = this.#now();
    this.throttled += 1;
    return new Promise<void>((resolve) => {
      this.#waiting.push(() => {
        this.waitedMs += this.#now() - since;
        resolve();
      });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#timer || this.#waiting.length === 0) return;
    this.#refill();
    const missing = Math.max(0, 1 - this.#tokens);
    const delayMs = Math.ceil((missing / this.ratePerSecond) * 1000);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#refill();
      while (this.#waiting.length > 0 && this.#tokens >= 1) {
        this.#tokens -= 1;
        this.#waiting.shift()!();
      }
      this.#schedule();
    }, delayMs);
  }
}
