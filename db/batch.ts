// Group commit: calls that arrive while earlier ones are being written are combined into one
// statement. Under load that turns many round trips and WAL flushes into few; alone, a call is
// written at once.

/**
 * The batcher's queue is full: the database is not keeping up (or is down), and waiting callers
 * would only pile up memory and time out later. Callers answer 503 and let their client retry.
 */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  constructor(readonly queued: number) {
    super(`database write queue is full (${queued} waiting); retry later`);
  }
}

export function createBatcher<In, Out>(
  write: (items: In[]) => Promise<Out[]>,
  options: { maxBatch?: number; maxConcurrent?: number; maxQueued?: number } = {},
) {
  const maxBatch = options.maxBatch ?? 200;
  const maxConcurrent = options.maxConcurrent ?? 4;
  // Enough for every running batch to be followed by as many full ones; beyond that the database
  // is the bottleneck and a quick refusal serves callers better than a slow one.
  const maxQueued = options.maxQueued ?? maxBatch * maxConcurrent * 4;
  let waiting: Array<{ item: In; resolve: (out: Out) => void; reject: (err: unknown) => void }> = [];
  let running = 0;

  const pump = () => {
    while (running < maxConcurrent && waiting.length > 0) {
      const batch = waiting.slice(0, maxBatch);
      waiting = waiting.slice(batch.length);
      running += 1;
      write(batch.map((entry) => entry.item))
        .then(
          (outs) => batch.forEach((entry, index) => entry.resolve(outs[index]!)),
          (err) => batch.forEach((entry) => entry.reject(err)),
        )
        .finally(() => {
          running -= 1;
          pump();
        });
    }
  };

  return (item: In): Promise<Out> =>
    new Promise<Out>((resolve, reject) => {
      if (waiting.length >= maxQueued) {
        reject(new QueueFullError(waiting.length));
        return;
      }
      waiting.push({ item, resolve, reject });
      // Let the other requests of this event-loop turn join the batch.
      if (waiting.length === 1) setImmediate(pump);
      else if (waiting.length >= maxBatch) pump();
    });
}
