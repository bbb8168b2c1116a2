// How a listing sync batches its pushes: the quiet window, the longest delay and the channel's rate limit.

/** When a batch of changes is pushed: after a quiet period, but never later than a maximum delay. */
export interface CoalescePolicy {
  /** Push once no change has arrived for this long. */
  quietMs: number;
  /** Push at the latest this long after the first pending change, even while changes keep coming. */
  maxDelayMs: number;
}

/** A channel's rate limit for calendar pushes: at most `maxPushes` in any `perMs` window. */
export interface RateLimitPolicy {
  maxPushes: number;
  perMs: number;
}
